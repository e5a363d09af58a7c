variable "name" {
  type = string
}

variable "environment" {
  type = string
}

variable "region" {
  type = string
}

variable "vpc_id" {
  type = string
}

variable "public_subnet_ids" {
  type = list(string)
}

variable "app_subnet_ids" {
  type = list(string)
}

variable "endpoint_security_group_id" {
  type = string
}

variable "database_security_group_id" {
  type = string
}

variable "kms_key_arn" {
  type = string
}

variable "domain_name" {
  type = string
}

variable "route53_zone_id" {
  type = string
}

variable "image_tag" {
  type = string
}

variable "queue_name" {
  type = string
}

variable "queue_url" {
  type = string
}

variable "queue_arn" {
  type = string
}

variable "queue_visibility_timeout_seconds" {
  type = number
}

variable "staged_bucket_name" {
  type = string
}

variable "staged_bucket_arn" {
  type = string
}

variable "secret_arns" {
  description = "Environment variable name => Secrets Manager ARN."
  type        = map(string)
}

variable "alarm_topic_arn" {
  type = string
}

variable "web_cpu" {
  type = number
}

variable "web_memory" {
  type = number
}

variable "web_min_count" {
  type = number
}

variable "web_max_count" {
  type = number
}

variable "worker_cpu" {
  type = number
}

variable "worker_memory" {
  type = number
}

variable "worker_concurrency" {
  type = number
}

variable "worker_min_count" {
  type = number
}

variable "worker_max_count" {
  type = number
}

variable "worker_backlog_per_task" {
  type = number
}

variable "task_soft_time_limit_seconds" {
  type = number
}

variable "task_time_limit_seconds" {
  type = number
}

variable "log_retention_days" {
  type = number
}

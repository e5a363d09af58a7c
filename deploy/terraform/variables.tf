variable "environment" {
  description = "staging or production: names every resource and picks the safe defaults."
  type        = string

  validation {
    condition     = contains(["staging", "production"], var.environment)
    error_message = "environment must be staging or production."
  }
}

variable "region" {
  description = "AWS region for everything."
  type        = string
  default     = "eu-west-1"
}

variable "vpc_cidr" {
  description = "The VPC's address range; split into public, application and database subnets per zone."
  type        = string
  default     = "10.40.0.0/16"
}

variable "availability_zones" {
  description = "The zones to spread over, by name (2 or 3). Named, so that a zone AWS adds never moves anything."
  type        = list(string)

  validation {
    condition     = length(var.availability_zones) >= 2 && length(var.availability_zones) <= 3
    error_message = "availability_zones must name 2 or 3 zones (RDS and the load balancer need two)."
  }
}

variable "single_nat_gateway" {
  description = "One NAT gateway for all zones (cheaper) instead of one per zone (survives a zone outage)."
  type        = bool
  default     = false
}

variable "domain_name" {
  description = "Public host name of the web service, e.g. app.migrayt.com."
  type        = string
}

variable "route53_zone_id" {
  description = "Hosted zone that holds domain_name: the certificate is validated and the alias made there."
  type        = string
}

variable "image_tag" {
  description = "Tag of the image in ECR to run (the pipeline passes the commit id; tags are immutable)."
  type        = string
}

variable "db_instance_class" {
  type    = string
  default = "db.t4g.small"
}

variable "db_allocated_storage_gb" {
  type    = number
  default = 20
}

variable "db_max_allocated_storage_gb" {
  description = "Storage autoscaling ceiling."
  type        = number
  default     = 100
}

variable "db_multi_az" {
  description = "A standby in a second zone with automatic fail-over."
  type        = bool
  default     = true
}

variable "db_deletion_protection" {
  type    = bool
  default = true
}

variable "db_backup_retention_days" {
  description = "Automated backups and point-in-time recovery window."
  type        = number
  default     = 14

  validation {
    condition     = var.db_backup_retention_days >= 1 && var.db_backup_retention_days <= 35
    error_message = "db_backup_retention_days must be between 1 and 35."
  }
}

variable "web_cpu" {
  type    = number
  default = 512
}

variable "web_memory" {
  type    = number
  default = 1024
}

variable "web_min_count" {
  type    = number
  default = 2
}

variable "web_max_count" {
  type    = number
  default = 6
}

variable "worker_cpu" {
  type    = number
  default = 1024
}

variable "worker_memory" {
  type    = number
  default = 2048
}

variable "worker_concurrency" {
  description = "Celery processes per worker task."
  type        = number
  default     = 4
}

variable "worker_min_count" {
  type    = number
  default = 1
}

variable "worker_max_count" {
  type    = number
  default = 10
}

variable "worker_backlog_per_task" {
  description = "Target of visible messages per running worker task; more scales out, fewer scales in."
  type        = number
  default     = 20
}

variable "task_soft_time_limit_seconds" {
  description = "CELERY_TASK_SOFT_TIME_LIMIT: a task is asked to stop after this long."
  type        = number
  default     = 240
}

variable "task_time_limit_seconds" {
  description = "CELERY_TASK_TIME_LIMIT: a task is killed after this long. The queue's visibility timeout is longer."
  type        = number
  default     = 300
}

variable "staged_object_expiry_days" {
  description = "Staged attachments are deleted by S3 after this many days, whatever the application does."
  type        = number
  default     = 1

  validation {
    condition     = var.staged_object_expiry_days >= 1 && var.staged_object_expiry_days <= 7
    error_message = "staged_object_expiry_days must be between 1 and 7 (Zero Data Retention)."
  }
}

variable "log_retention_days" {
  description = "CloudWatch Logs retention. Logs carry identifiers and counts, never ticket content."
  type        = number
  default     = 365
}

variable "alarm_email" {
  description = "Who hears about dead-lettered messages and unhealthy services (empty: no subscription)."
  type        = string
  default     = ""
}

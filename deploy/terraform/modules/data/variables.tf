variable "name" {
  type = string
}

variable "vpc_id" {
  type = string
}

variable "database_subnet_ids" {
  type = list(string)
}

variable "db_instance_class" {
  type = string
}

variable "db_allocated_storage_gb" {
  type = number
}

variable "db_max_allocated_storage_gb" {
  type = number
}

variable "db_multi_az" {
  type = bool
}

variable "db_deletion_protection" {
  type = bool
}

variable "db_backup_retention_days" {
  type = number
}

variable "queue_visibility_timeout_seconds" {
  type = number
}

variable "staged_object_expiry_days" {
  type = number
}

variable "log_retention_days" {
  type = number
}

variable "alarm_email" {
  type = string
}

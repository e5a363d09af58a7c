# Migrayt on AWS: one VPC, ECS on Fargate (web behind an ALB, workers scaled on the queue), RDS
# PostgreSQL, SQS, a short-lived S3 bucket for staged attachments, secrets in Secrets Manager.
# Environments differ only through environments/<env>.tfvars.

locals {
  name = "migrayt-${var.environment}"
  # The queue hands a message to another worker after this long without an ack: it must outlast the
  # longest task, or a slow task would run twice at once (the settings refuse a shorter value too).
  queue_visibility_timeout_seconds = var.task_time_limit_seconds + 60
}

module "network" {
  source = "./modules/network"

  name                    = local.name
  region                  = var.region
  vpc_cidr                = var.vpc_cidr
  availability_zones      = var.availability_zones
  single_nat_gateway      = var.single_nat_gateway
  log_retention_days      = var.log_retention_days
}

module "data" {
  source = "./modules/data"

  name                             = local.name
  vpc_id                           = module.network.vpc_id
  database_subnet_ids              = module.network.database_subnet_ids
  db_instance_class                = var.db_instance_class
  db_allocated_storage_gb          = var.db_allocated_storage_gb
  db_max_allocated_storage_gb      = var.db_max_allocated_storage_gb
  db_multi_az                      = var.db_multi_az
  db_deletion_protection           = var.db_deletion_protection
  db_backup_retention_days         = var.db_backup_retention_days
  queue_visibility_timeout_seconds = local.queue_visibility_timeout_seconds
  staged_object_expiry_days        = var.staged_object_expiry_days
  log_retention_days               = var.log_retention_days
  alarm_email                      = var.alarm_email
}

module "service" {
  source = "./modules/service"

  name                             = local.name
  environment                      = var.environment
  region                           = var.region
  vpc_id                           = module.network.vpc_id
  public_subnet_ids                = module.network.public_subnet_ids
  app_subnet_ids                   = module.network.app_subnet_ids
  endpoint_security_group_id       = module.network.endpoint_security_group_id
  database_security_group_id       = module.data.database_security_group_id
  kms_key_arn                      = module.data.kms_key_arn
  domain_name                      = var.domain_name
  route53_zone_id                  = var.route53_zone_id
  image_tag                        = var.image_tag
  queue_name                       = module.data.queue_name
  queue_url                        = module.data.queue_url
  queue_arn                        = module.data.queue_arn
  queue_visibility_timeout_seconds = local.queue_visibility_timeout_seconds
  staged_bucket_name               = module.data.staged_bucket_name
  staged_bucket_arn                = module.data.staged_bucket_arn
  secret_arns                      = module.data.secret_arns
  alarm_topic_arn                  = module.data.alarm_topic_arn
  web_cpu                          = var.web_cpu
  web_memory                       = var.web_memory
  web_min_count                    = var.web_min_count
  web_max_count                    = var.web_max_count
  worker_cpu                       = var.worker_cpu
  worker_memory                    = var.worker_memory
  worker_concurrency               = var.worker_concurrency
  worker_min_count                 = var.worker_min_count
  worker_max_count                 = var.worker_max_count
  worker_backlog_per_task          = var.worker_backlog_per_task
  task_soft_time_limit_seconds     = var.task_soft_time_limit_seconds
  task_time_limit_seconds          = var.task_time_limit_seconds
  log_retention_days               = var.log_retention_days
}

environment             = "production"
region                  = "eu-west-1"
vpc_cidr                = "10.40.0.0/16"
availability_zones      = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
single_nat_gateway      = false
domain_name             = "app.migrayt.example.com"
route53_zone_id         = "Z0000000000000000000"

db_instance_class           = "db.m7g.large"
db_allocated_storage_gb     = 100
db_max_allocated_storage_gb = 1000
db_multi_az                 = true
db_deletion_protection      = true
db_backup_retention_days    = 35

web_cpu                 = 1024
web_memory              = 2048
web_min_count           = 2
web_max_count           = 8
worker_cpu              = 2048
worker_memory           = 4096
worker_concurrency      = 8
worker_min_count        = 2
worker_max_count        = 20
worker_backlog_per_task = 20

log_retention_days = 365
alarm_email        = "oncall@migrayt.example.com"
# image_tag comes from the pipeline: -var image_tag=$(Build.SourceVersion)

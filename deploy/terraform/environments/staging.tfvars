# Staging: the production layout at the smallest sensible size.
environment             = "staging"
region                  = "eu-west-1"
vpc_cidr                = "10.41.0.0/16"
availability_zones      = ["eu-west-1a", "eu-west-1b"]
single_nat_gateway      = true
domain_name             = "staging.migrayt.example.com"
route53_zone_id         = "Z0000000000000000000"

db_instance_class           = "db.t4g.micro"
db_allocated_storage_gb     = 20
db_max_allocated_storage_gb = 50
db_multi_az                 = false
db_deletion_protection      = false
db_backup_retention_days    = 7

web_cpu          = 256
web_memory       = 512
web_min_count    = 1
web_max_count    = 2
worker_cpu       = 512
worker_memory    = 1024
worker_min_count = 1
worker_max_count = 2

log_retention_days = 365
# image_tag comes from the pipeline: -var image_tag=$(Build.SourceVersion)

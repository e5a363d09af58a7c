# terraform init -backend-config=environments/production.backend.hcl
bucket       = "migrayt-terraform-state-ACCOUNT_ID"
key          = "production/terraform.tfstate"
region       = "eu-west-1"
encrypt      = true
use_lockfile = true

# terraform init -backend-config=environments/staging.backend.hcl
bucket       = "migrayt-terraform-state-ACCOUNT_ID"
key          = "staging/terraform.tfstate"
region       = "eu-west-1"
encrypt      = true
use_lockfile = true

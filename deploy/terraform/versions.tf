terraform {
  required_version = ">= 1.6.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.80"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.6"
    }
  }

  # State lives in an S3 bucket made once by hand (deploy/README.md, "From nothing"), one key per
  # environment: `terraform init -backend-config=environments/<env>.backend.hcl`.
  backend "s3" {}
}

provider "aws" {
  region = var.region

  default_tags {
    tags = {
      Project     = "migrayt"
      Environment = var.environment
      ManagedBy   = "terraform"
    }
  }
}

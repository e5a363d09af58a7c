# Made once per AWS account, before the first pipeline run: the image repository that staging and
# production share (an image is built once and promoted, never rebuilt). deploy/README.md, "From nothing".

terraform {
  required_version = ">= 1.6.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.80"
    }
  }

  # terraform init -backend-config=../environments/staging.backend.hcl -backend-config="key=bootstrap/terraform.tfstate"
  backend "s3" {}
}

variable "region" {
  type    = string
  default = "eu-west-1"
}

provider "aws" {
  region = var.region

  default_tags {
    tags = { Project = "migrayt", ManagedBy = "terraform" }
  }
}

data "aws_caller_identity" "current" {}

resource "aws_kms_key" "images" {
  description         = "migrayt container images"
  enable_key_rotation = true
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "AccountAdministersThroughIam"
      Effect    = "Allow"
      Principal = { AWS = "arn:aws:iam::${data.aws_caller_identity.current.account_id}:root" }
      Action    = "kms:*"
      Resource  = "*"
    }]
  })
}

resource "aws_ecr_repository" "app" {
  name                 = "migrayt"
  image_tag_mutability = "IMMUTABLE" # a tag is a commit id: what was tested is what runs

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "KMS"
    kms_key         = aws_kms_key.images.arn
  }
}

resource "aws_ecr_lifecycle_policy" "app" {
  repository = aws_ecr_repository.app.name
  policy = jsonencode({
    rules = [{
      rulePriority = 1
      description  = "Keep the last 100 images: enough to roll back months"
      selection    = { tagStatus = "any", countType = "imageCountMoreThan", countNumber = 100 }
      action       = { type = "expire" }
    }]
  })
}

output "ecr_repository_url" {
  value = aws_ecr_repository.app.repository_url
}

data "aws_caller_identity" "current" {}

data "aws_region" "current" {}

# One customer-managed key for the data at rest of this environment: database, backups, queue messages,
# staged files, secrets and logs. Rotated yearly by AWS.
resource "aws_kms_key" "data" {
  description             = "${var.name} data at rest"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  # In a key policy, Resource "*" means this key.
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "AccountAdministersThroughIam"
        Effect    = "Allow"
        Principal = { AWS = "arn:aws:iam::${data.aws_caller_identity.current.account_id}:root" }
        Action    = "kms:*"
        Resource  = "*"
      },
      {
        Sid    = "ServicesEncryptForThisAccount"
        Effect = "Allow"
        Principal = { Service = [
          "logs.${data.aws_region.current.name}.amazonaws.com", "sns.amazonaws.com", "cloudwatch.amazonaws.com",
        ] }
        Action    = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
        Resource  = "*"
        Condition = { StringEquals = { "aws:SourceAccount" = data.aws_caller_identity.current.account_id } }
      },
    ]
  })
}

resource "aws_kms_alias" "data" {
  name          = "alias/${var.name}-data"
  target_key_id = aws_kms_key.data.key_id
}

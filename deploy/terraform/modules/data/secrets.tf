# The application's secrets. ECS injects each one as an environment variable when a task starts; the
# task definitions hold only their ARNs. The ones Terraform can make (database URL, Django key,
# credential encryption key) are generated here and live in the encrypted state; Stripe's and OpenAI's are
# created empty and filled by an operator (deploy/README.md), so they never pass through Terraform.

resource "aws_secretsmanager_secret" "database_url" {
  #checkov:skip=CKV2_AWS_57:Rotated by the runbook in deploy/README.md (new password, apply, roll the services); automatic rotation would break the running tasks' connection string.
  name       = "${var.name}/database-url"
  kms_key_id = aws_kms_key.data.arn
}

resource "aws_secretsmanager_secret_version" "database_url" {
  secret_id     = aws_secretsmanager_secret.database_url.id
  secret_string = "postgres://${aws_db_instance.main.username}:${random_password.database.result}@${aws_db_instance.main.address}:${aws_db_instance.main.port}/${aws_db_instance.main.db_name}?sslmode=verify-full&sslrootcert=/app/deploy/docker/rds-ca.pem"
}

resource "random_password" "django_secret_key" {
  length  = 64
  special = false
}

resource "aws_secretsmanager_secret" "django_secret_key" {
  #checkov:skip=CKV2_AWS_57:Rotating Django's key logs every user out; done by the runbook in deploy/README.md, not on a timer.
  name       = "${var.name}/django-secret-key"
  kms_key_id = aws_kms_key.data.arn
}

resource "aws_secretsmanager_secret_version" "django_secret_key" {
  secret_id     = aws_secretsmanager_secret.django_secret_key.id
  secret_string = random_password.django_secret_key.result
}

# A Fernet key (32 random bytes, URL-safe base64) for the customers' connection credentials. Rotation adds
# a new key in front ("new,old"), rolls the services and re-encrypts (deploy/README.md).
resource "random_bytes" "encryption_key" {
  length = 32
}

resource "aws_secretsmanager_secret" "encryption_keys" {
  #checkov:skip=CKV2_AWS_57:Key rotation needs re-encryption by the application (manage.py rotate_encryption_keys); done by the runbook, not a Lambda.
  name       = "${var.name}/encryption-keys"
  kms_key_id = aws_kms_key.data.arn
}

resource "aws_secretsmanager_secret_version" "encryption_keys" {
  secret_id     = aws_secretsmanager_secret.encryption_keys.id
  secret_string = replace(replace(random_bytes.encryption_key.base64, "+", "-"), "/", "_")

  # Later keys are put by the rotation runbook; Terraform must not put the first one back.
  lifecycle {
    ignore_changes = [secret_string]
  }
}

resource "aws_secretsmanager_secret" "external" {
  #checkov:skip=CKV2_AWS_57:Issued by Stripe and OpenAI; rotated in their dashboards and put here by an operator.
  for_each   = toset(["stripe-secret-key", "stripe-webhook-secret", "openai-api-key"])
  name       = "${var.name}/${each.value}"
  kms_key_id = aws_kms_key.data.arn
}

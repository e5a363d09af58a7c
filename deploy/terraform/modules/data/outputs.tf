output "kms_key_arn" {
  value = aws_kms_key.data.arn
}

output "database_security_group_id" {
  value = aws_security_group.database.id
}

output "queue_name" {
  value = aws_sqs_queue.work.name
}

output "queue_url" {
  value = aws_sqs_queue.work.url
}

output "queue_arn" {
  value = aws_sqs_queue.work.arn
}

output "dead_letter_queue_arn" {
  value = aws_sqs_queue.dead_letter.arn
}

output "staged_bucket_name" {
  value = aws_s3_bucket.staged.bucket
}

output "staged_bucket_arn" {
  value = aws_s3_bucket.staged.arn
}

output "alarm_topic_arn" {
  value = aws_sns_topic.alarms.arn
}

# Environment variable name => secret ARN, injected into the containers by ECS (never into Terraform
# outputs' values, never into the task definition's plain environment).
output "secret_arns" {
  value = {
    DATABASE_URL            = aws_secretsmanager_secret.database_url.arn
    DJANGO_SECRET_KEY       = aws_secretsmanager_secret.django_secret_key.arn
    MIGRAYT_ENCRYPTION_KEYS = aws_secretsmanager_secret.encryption_keys.arn
    STRIPE_SECRET_KEY       = aws_secretsmanager_secret.external["stripe-secret-key"].arn
    STRIPE_WEBHOOK_SECRET   = aws_secretsmanager_secret.external["stripe-webhook-secret"].arn
    OPENAI_API_KEY          = aws_secretsmanager_secret.external["openai-api-key"].arn
  }
}

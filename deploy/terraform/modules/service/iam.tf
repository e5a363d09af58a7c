# Least privilege, one role per job:
# - execution role: what ECS itself needs to start a task (pull the image, write its logs, read the
#   secrets it injects). The application never holds it.
# - web role: enqueue work (SendMessage), read staged files for downloads; nothing else.
# - worker role: consume and re-enqueue work, write/read/delete staged files.
# Both application roles may use the data key only through SQS and S3 (kms:ViaService).

data "aws_iam_policy_document" "ecs_tasks_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_iam_role" "execution" {
  name               = "${var.name}-execution"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

data "aws_iam_policy_document" "execution" {
  statement {
    sid       = "PullTheImage"
    actions   = ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"]
    resources = [data.aws_ecr_repository.app.arn]
  }

  statement {
    sid       = "EcrLogin"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"] # this action has no resource-level permissions
  }

  statement {
    sid       = "WriteLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = [for group in aws_cloudwatch_log_group.app : "${group.arn}:*"]
  }

  statement {
    sid       = "InjectSecrets"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = values(var.secret_arns)
  }

  statement {
    sid       = "DecryptSecrets"
    actions   = ["kms:Decrypt"]
    resources = [var.kms_key_arn, data.aws_ecr_repository.app.encryption_configuration[0].kms_key]
  }
}

resource "aws_iam_role_policy" "execution" {
  name   = "start-tasks"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.execution.json
}

resource "aws_iam_role" "web" {
  name               = "${var.name}-web"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

# The data key, only through SQS and S3: both application roles include this.
data "aws_iam_policy_document" "data_key_through_services" {
  statement {
    sid       = "DataKeyThroughSqsAndS3"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [var.kms_key_arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["sqs.${var.region}.amazonaws.com", "s3.${var.region}.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "web" {
  source_policy_documents = [data.aws_iam_policy_document.data_key_through_services.json]
  statement {
    sid       = "Enqueue"
    actions   = ["sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"]
    resources = [var.queue_arn]
  }

  statement {
    sid       = "ReadStagedFiles"
    actions   = ["s3:GetObject"]
    resources = ["${var.staged_bucket_arn}/staged/*"]
  }
}

resource "aws_iam_role_policy" "web" {
  name   = "web"
  role   = aws_iam_role.web.id
  policy = data.aws_iam_policy_document.web.json
}

resource "aws_iam_role" "worker" {
  name               = "${var.name}-worker"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

data "aws_iam_policy_document" "worker" {
  source_policy_documents = [data.aws_iam_policy_document.data_key_through_services.json]
  statement {
    sid = "ConsumeAndEnqueue"
    actions = [
      "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:SendMessage",
      "sqs:GetQueueAttributes", "sqs:GetQueueUrl",
    ]
    resources = [var.queue_arn]
  }

  statement {
    sid       = "StagedFiles"
    actions   = ["s3:PutObject", "s3:GetObject", "s3:DeleteObject"]
    resources = ["${var.staged_bucket_arn}/staged/*"]
  }

  statement {
    sid       = "ListStagedFilesOfARun"
    actions   = ["s3:ListBucket"]
    resources = [var.staged_bucket_arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["staged/*"]
    }
  }
}

resource "aws_iam_role_policy" "worker" {
  name   = "worker"
  role   = aws_iam_role.worker.id
  policy = data.aws_iam_policy_document.worker.json
}

# One image, three commands: gunicorn behind the load balancer, Celery workers reading SQS, and the
# one-off migration task the pipeline runs before it rolls the services.

locals {
  web_port = 8000
  image    = "${data.aws_ecr_repository.app.repository_url}:${var.image_tag}"

  environment = [for key, value in {
    MIGRAYT_ENV                    = "production"
    MIGRAYT_LOG_FORMAT             = "json"
    MIGRAYT_VAR_DIR                = "/app/var"
    DJANGO_ALLOWED_HOSTS           = var.domain_name
    MIGRAYT_SITE_URL               = "https://${var.domain_name}"
    AWS_REGION                     = var.region
    CELERY_BROKER_URL              = "sqs://"
    MIGRAYT_SQS_QUEUE_URL          = var.queue_url
    MIGRAYT_SQS_REGION             = var.region
    MIGRAYT_SQS_VISIBILITY_TIMEOUT = tostring(var.queue_visibility_timeout_seconds)
    CELERY_TASK_SOFT_TIME_LIMIT    = tostring(var.task_soft_time_limit_seconds)
    CELERY_TASK_TIME_LIMIT         = tostring(var.task_time_limit_seconds)
    MIGRAYT_S3_BUCKET              = var.staged_bucket_name
    MIGRAYT_S3_REGION              = var.region
    MIGRAYT_S3_KMS_KEY_ID          = var.kms_key_arn
  } : { name = key, value = value }]

  secrets = [for key, arn in var.secret_arns : { name = key, valueFrom = arn }]

  # The root file system is read-only; Python and libraries get a writable /tmp.
  container_defaults = {
    image                  = local.image
    essential              = true
    readonlyRootFilesystem = true
    privileged             = false
    user                   = "10001:10001"
    environment            = local.environment
    secrets                = local.secrets
    mountPoints            = [{ sourceVolume = "tmp", containerPath = "/tmp", readOnly = false }]
    linuxParameters        = { initProcessEnabled = true }
  }
}

data "aws_ecr_repository" "app" {
  name = "migrayt" # made once by deploy/terraform/bootstrap, shared by staging and production
}

resource "aws_ecs_cluster" "main" {
  name = var.name

  setting {
    name  = "containerInsights"
    value = "enabled"
  }
}

resource "aws_cloudwatch_log_group" "app" {
  for_each          = toset(["web", "worker", "migrate"])
  name              = "/migrayt/${var.name}/${each.value}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
}

# One task definition per role; they differ only in size, IAM role and what the container runs.
locals {
  roles = {
    web = {
      cpu       = var.web_cpu
      memory    = var.web_memory
      task_role = aws_iam_role.web.arn
      container = {
        portMappings = [{ containerPort = local.web_port, protocol = "tcp" }]
        healthCheck = {
          command     = ["CMD", "python", "/app/deploy/docker/healthcheck.py"]
          interval    = 30
          timeout     = 5
          retries     = 3
          startPeriod = 30
        }
      }
    }
    worker = {
      cpu       = var.worker_cpu
      memory    = var.worker_memory
      task_role = aws_iam_role.worker.arn
      container = {
        command = [
          "celery", "-A", "migrayt", "worker", "--loglevel=INFO", "--concurrency=${var.worker_concurrency}",
          "--without-gossip", "--without-mingle",
        ]
        # A worker asked to stop (scale-in, release) finishes its current tasks within Fargate's maximum of
        # 120 s; a task cut short is not acknowledged, so SQS hands it to another worker after the
        # visibility timeout, and tasks are idempotent.
        stopTimeout = 120
      }
    }
    # Run by the pipeline (aws ecs run-task) with the new image before the services roll.
    migrate = {
      cpu       = 512
      memory    = 1024
      task_role = aws_iam_role.worker.arn
      container = { command = ["python", "manage.py", "migrate", "--noinput"] }
    }
  }
}

resource "aws_ecs_task_definition" "app" {
  for_each                 = local.roles
  family                   = "${var.name}-${each.key}"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = each.value.cpu
  memory                   = each.value.memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = each.value.task_role

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }

  volume {
    name = "tmp"
  }

  container_definitions = jsonencode([merge(local.container_defaults, each.value.container, {
    name = each.key
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.app[each.key].name
        awslogs-region        = var.region
        awslogs-stream-prefix = each.key
      }
    }
  })])
}

resource "aws_ecs_service" "web" {
  name                              = "web"
  cluster                           = aws_ecs_cluster.main.id
  task_definition                   = aws_ecs_task_definition.app["web"].arn
  desired_count                     = var.web_min_count
  launch_type                       = "FARGATE"
  platform_version                  = "LATEST"
  health_check_grace_period_seconds = 60
  enable_execute_command            = false
  propagate_tags                    = "SERVICE"

  network_configuration {
    subnets          = var.app_subnet_ids
    security_groups  = [aws_security_group.web.id]
    assign_public_ip = false
  }

  load_balancer {
    target_group_arn = aws_lb_target_group.web.arn
    container_name   = "web"
    container_port   = local.web_port
  }

  # A release whose tasks never turn healthy is rolled back to the previous task definition.
  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200

  # The pipeline rolls the service to a new task definition after the migrations; autoscaling owns
  # the count. Terraform must not undo either.
  lifecycle {
    ignore_changes = [task_definition, desired_count]
  }

  depends_on = [aws_lb_listener_rule.web_host]
}

resource "aws_ecs_service" "worker" {
  name                   = "worker"
  cluster                = aws_ecs_cluster.main.id
  task_definition        = aws_ecs_task_definition.app["worker"].arn
  desired_count          = var.worker_min_count
  launch_type            = "FARGATE"
  platform_version       = "LATEST"
  enable_execute_command = false
  propagate_tags         = "SERVICE"

  network_configuration {
    subnets          = var.app_subnet_ids
    security_groups  = [aws_security_group.worker.id]
    assign_public_ip = false
  }

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  lifecycle {
    ignore_changes = [task_definition, desired_count]
  }
}

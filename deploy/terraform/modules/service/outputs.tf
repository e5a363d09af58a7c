output "cluster_name" {
  value = aws_ecs_cluster.main.name
}

output "web_service_name" {
  value = aws_ecs_service.web.name
}

output "worker_service_name" {
  value = aws_ecs_service.worker.name
}

output "web_task_definition_arn" {
  value = aws_ecs_task_definition.app["web"].arn
}

output "worker_task_definition_arn" {
  value = aws_ecs_task_definition.app["worker"].arn
}

output "migrate_task_definition_arn" {
  value = aws_ecs_task_definition.app["migrate"].arn
}

output "worker_security_group_id" {
  value = aws_security_group.worker.id
}

output "ecr_repository_url" {
  value = data.aws_ecr_repository.app.repository_url
}

output "load_balancer_dns_name" {
  value = aws_lb.web.dns_name
}

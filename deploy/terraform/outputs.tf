# Read by azure-pipelines.yml (`terraform output -json`) to run migrations and roll the services.
output "cluster_name" {
  value = module.service.cluster_name
}

output "web_service_name" {
  value = module.service.web_service_name
}

output "worker_service_name" {
  value = module.service.worker_service_name
}

output "web_task_definition_arn" {
  value = module.service.web_task_definition_arn
}

output "worker_task_definition_arn" {
  value = module.service.worker_task_definition_arn
}

output "migrate_task_definition_arn" {
  value = module.service.migrate_task_definition_arn
}

output "app_subnet_ids" {
  value = module.network.app_subnet_ids
}

output "migrate_security_group_id" {
  value = module.service.worker_security_group_id
}

output "ecr_repository_url" {
  value = module.service.ecr_repository_url
}

output "url" {
  value = "https://${var.domain_name}/"
}

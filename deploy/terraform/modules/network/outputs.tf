output "vpc_id" {
  value = aws_vpc.main.id
}

output "public_subnet_ids" {
  value = aws_subnet.public[*].id
}

output "app_subnet_ids" {
  value = aws_subnet.app[*].id
}

output "database_subnet_ids" {
  value = aws_subnet.database[*].id
}

output "endpoint_security_group_id" {
  value = aws_security_group.endpoints.id
}

# Who may talk to whom: the internet reaches only the load balancer; the load balancer reaches only the
# web tasks; only the web and worker tasks reach the database; the worker accepts no connection at all.

resource "aws_security_group" "alb" {
  #checkov:skip=CKV_AWS_260:Port 80 is open to the world only to answer with a redirect to HTTPS (listener "http_redirect").
  name        = "${var.name}-alb"
  description = "Public HTTPS (and HTTP, redirected) to the load balancer"
  vpc_id      = var.vpc_id

  ingress {
    description = "HTTPS from anywhere"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }

  ingress {
    description = "HTTP from anywhere, only redirected to HTTPS"
    from_port   = 80
    to_port     = 80
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }

  tags = { Name = "${var.name}-alb" }
}

resource "aws_vpc_security_group_egress_rule" "alb_to_web" {
  security_group_id            = aws_security_group.alb.id
  description                  = "To the web tasks only"
  ip_protocol                  = "tcp"
  from_port                    = local.web_port
  to_port                      = local.web_port
  referenced_security_group_id = aws_security_group.web.id
}

resource "aws_security_group" "web" {
  name        = "${var.name}-web"
  description = "Web tasks: reachable only from the load balancer"
  vpc_id      = var.vpc_id
  tags        = { Name = "${var.name}-web" }
}

resource "aws_vpc_security_group_ingress_rule" "web_from_alb" {
  security_group_id            = aws_security_group.web.id
  description                  = "From the load balancer only"
  ip_protocol                  = "tcp"
  from_port                    = local.web_port
  to_port                      = local.web_port
  referenced_security_group_id = aws_security_group.alb.id
}

resource "aws_security_group" "worker" {
  name        = "${var.name}-worker"
  description = "Worker and one-off migration tasks: no ingress"
  vpc_id      = var.vpc_id
  tags        = { Name = "${var.name}-worker" }
}

locals {
  app_security_groups = { web = aws_security_group.web.id, worker = aws_security_group.worker.id }
}

# Out of the app tasks: HTTPS (the AWS endpoints, and customers' Jira and Azure DevOps through the NAT
# gateway) and PostgreSQL to the database's security group. Nothing else.
resource "aws_vpc_security_group_egress_rule" "app_https" {
  #checkov:skip=CKV_AWS_382:Egress is HTTPS only; its destination is every customer's own Jira or Azure DevOps, which can be any public address.
  for_each          = local.app_security_groups
  security_group_id = each.value
  description       = "HTTPS to AWS endpoints and to customers' Jira / Azure DevOps"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_egress_rule" "app_database" {
  for_each                     = local.app_security_groups
  security_group_id            = each.value
  description                  = "PostgreSQL"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = var.database_security_group_id
}

resource "aws_vpc_security_group_ingress_rule" "database_from_app" {
  for_each                     = local.app_security_groups
  security_group_id            = var.database_security_group_id
  description                  = "PostgreSQL from the ${each.key} tasks"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = each.value
}

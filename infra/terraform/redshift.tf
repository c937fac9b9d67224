# One warehouse, serverless or provisioned (var.warehouse_mode); both private, encrypted,
# and allowed to assume the COPY role.
locals {
  serverless = var.warehouse_mode == "serverless"
  warehouse_host = (
    local.serverless
    ? one(aws_redshiftserverless_workgroup.olist[*].endpoint[0].address)
    : one(aws_redshift_cluster.olist[*].dns_name)
  )
}

resource "aws_redshiftserverless_namespace" "olist" {
  count = local.serverless ? 1 : 0

  namespace_name       = var.name_prefix
  db_name              = var.database_name
  admin_username       = var.admin_username
  admin_user_password  = random_password.warehouse_admin.result
  iam_roles            = [aws_iam_role.redshift_copy.arn]
  default_iam_role_arn = aws_iam_role.redshift_copy.arn
  kms_key_id           = var.kms_key_arn
  log_exports          = ["userlog", "connectionlog", "useractivitylog"]
}

resource "aws_redshiftserverless_workgroup" "olist" {
  count = local.serverless ? 1 : 0

  namespace_name       = aws_redshiftserverless_namespace.olist[0].namespace_name
  workgroup_name       = var.name_prefix
  base_capacity        = var.serverless_base_capacity
  subnet_ids           = var.subnet_ids
  security_group_ids   = var.security_group_ids
  publicly_accessible  = false
  enhanced_vpc_routing = true
}

resource "aws_redshift_subnet_group" "olist" {
  count = local.serverless ? 0 : 1

  name       = var.name_prefix
  subnet_ids = var.subnet_ids
}

resource "aws_redshift_cluster" "olist" {
  count = local.serverless ? 0 : 1

  cluster_identifier        = var.name_prefix
  database_name             = var.database_name
  master_username           = var.admin_username
  master_password           = random_password.warehouse_admin.result
  node_type                 = var.node_type
  cluster_type              = var.number_of_nodes > 1 ? "multi-node" : "single-node"
  number_of_nodes           = var.number_of_nodes
  cluster_subnet_group_name = aws_redshift_subnet_group.olist[0].name
  vpc_security_group_ids    = var.security_group_ids
  iam_roles                 = [aws_iam_role.redshift_copy.arn]
  default_iam_role_arn      = aws_iam_role.redshift_copy.arn
  publicly_accessible       = false
  encrypted                 = true
  kms_key_id                = var.kms_key_arn
  enhanced_vpc_routing      = true
  skip_final_snapshot       = false
  final_snapshot_identifier = "${var.name_prefix}-final"
}

# The warehouse admin password: generated here, stored in Secrets Manager, never in the
# repository. It is in the Terraform state too: use an encrypted backend (versions.tf).
resource "random_password" "warehouse_admin" {
  length           = 32
  special          = true
  override_special = "!#%*()-_=+[]{}<>:?"
  min_upper        = 2
  min_lower        = 2
  min_numeric      = 2
}

resource "aws_secretsmanager_secret" "warehouse_admin" {
  name        = "${var.name_prefix}/warehouse-admin"
  description = "Admin user of the olist-elt warehouse (OLIST_REDSHIFT_USER / OLIST_REDSHIFT_PASSWORD)."
  kms_key_id  = var.kms_key_arn
}

resource "aws_secretsmanager_secret_version" "warehouse_admin" {
  secret_id = aws_secretsmanager_secret.warehouse_admin.id
  secret_string = jsonencode({
    username = var.admin_username
    password = random_password.warehouse_admin.result
    engine   = "redshift"
    host     = local.warehouse_host
    port     = 5439
    dbname   = var.database_name
  })
}

data "aws_iam_policy_document" "read_warehouse_secret" {
  statement {
    sid       = "ReadTheWarehouseSecret"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [aws_secretsmanager_secret.warehouse_admin.arn]
  }
}

resource "aws_iam_role_policy" "loader_secret" {
  name   = "read-warehouse-secret"
  role   = aws_iam_role.loader.id
  policy = data.aws_iam_policy_document.read_warehouse_secret.json
}

# The policies are the reviewed documents of infra/iam/, rendered with this bucket and
# prefix: one source of truth, tested by tests/python/test_iam_policies.py.
locals {
  iam_dir = "${path.module}/../iam"
  iam_placeholders = {
    OLIST_BUCKET = aws_s3_bucket.landing.id
    OLIST_PREFIX = var.drops_prefix
  }
}

# The loader (olist load, olist daily, the Airflow workers): read the drops, write COPY manifests.
data "aws_iam_policy_document" "loader_trust" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "AWS"
      identifiers = var.loader_trusted_principals
    }
  }
}

resource "aws_iam_role" "loader" {
  name               = "${var.name_prefix}-loader"
  assume_role_policy = data.aws_iam_policy_document.loader_trust.json
}

resource "aws_iam_role_policy" "loader_read" {
  name   = "read-olist-files"
  role   = aws_iam_role.loader.id
  policy = templatefile("${local.iam_dir}/loader-policy.json", local.iam_placeholders)
}

resource "aws_iam_role_policy" "loader_manifests" {
  name   = "write-copy-manifests"
  role   = aws_iam_role.loader.id
  policy = templatefile("${local.iam_dir}/loader-manifests-policy.json", local.iam_placeholders)
}

# Alerts from the loader role (olist daily --alert without Airflow publishes them itself).
resource "aws_iam_role_policy" "loader_alerts" {
  name = "publish-alerts"
  role = aws_iam_role.loader.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid      = "PublishFailureAlerts"
      Effect   = "Allow"
      Action   = "sns:Publish"
      Resource = aws_sns_topic.alerts.arn
    }]
  })
}

# The role Redshift assumes for COPY ... iam_role.
resource "aws_iam_role" "redshift_copy" {
  name               = "${var.name_prefix}-redshift-copy"
  assume_role_policy = file("${local.iam_dir}/redshift-copy-role-trust.json")
}

resource "aws_iam_role_policy" "redshift_copy" {
  name   = "read-olist-files"
  role   = aws_iam_role.redshift_copy.id
  policy = templatefile("${local.iam_dir}/redshift-copy-role-policy.json", local.iam_placeholders)
}

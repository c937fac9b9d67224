output "bucket" {
  description = "Landing bucket: OLIST_DROPS_URI is s3://<bucket>/<drops_prefix>/."
  value       = aws_s3_bucket.landing.id
}

output "drops_uri" {
  description = "OLIST_DROPS_URI of the DAG and olist daily."
  value       = "s3://${aws_s3_bucket.landing.id}/${var.drops_prefix}/"
}

output "loader_role_arn" {
  description = "Role the loader and the Airflow workers assume."
  value       = aws_iam_role.loader.arn
}

output "redshift_copy_role_arn" {
  description = "olist load --iam-role-arn (COPY ... iam_role)."
  value       = aws_iam_role.redshift_copy.arn
}

output "warehouse_host" {
  description = "OLIST_REDSHIFT_HOST."
  value       = local.warehouse_host
}

output "warehouse_secret_arn" {
  description = "Secrets Manager secret holding the admin user and password."
  value       = aws_secretsmanager_secret.warehouse_admin.arn
}

output "alerts_topic_arn" {
  description = "OLIST_ALERT_TOPIC_ARN."
  value       = aws_sns_topic.alerts.arn
}

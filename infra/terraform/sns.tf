# Failure alerts of the daily workflow (OLIST_ALERT_TOPIC_ARN): Airflow's callbacks and
# olist daily --alert publish here; subscribe e-mail, chat or an SQS queue.
resource "aws_sns_topic" "alerts" {
  name              = "${var.name_prefix}-alerts"
  kms_master_key_id = "alias/aws/sns"
}

resource "aws_sns_topic_subscription" "alerts_email" {
  count = var.alert_email == null ? 0 : 1

  topic_arn = aws_sns_topic.alerts.arn
  protocol  = "email"
  endpoint  = var.alert_email
}

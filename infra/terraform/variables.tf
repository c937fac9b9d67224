variable "region" {
  description = "AWS region of every resource."
  type        = string
  default     = "us-east-1"
}

variable "name_prefix" {
  description = "Prefix of resource names (IAM roles, Redshift, SNS, secret)."
  type        = string
  default     = "olist-elt"
}

variable "bucket_name" {
  description = "Name of the landing bucket (globally unique)."
  type        = string
}

variable "drops_prefix" {
  description = "Key prefix of the data inside the bucket, no leading or trailing slash (OLIST_PREFIX of infra/iam)."
  type        = string
  default     = "olist"
}

variable "kms_key_arn" {
  description = "Customer managed KMS key for the bucket (SSE-KMS); null for SSE-S3."
  type        = string
  default     = null
}

variable "drops_infrequent_access_days" {
  description = "Days after which drop files move to STANDARD_IA (loaded once, kept for reloads)."
  type        = number
  default     = 30
}

variable "drops_glacier_days" {
  description = "Days after which drop files move to GLACIER_IR."
  type        = number
  default     = 180
}

variable "noncurrent_version_days" {
  description = "Days a replaced or deleted object version is kept (versioning)."
  type        = number
  default     = 90
}

variable "manifest_expiration_days" {
  description = "Days the Redshift COPY manifests under <prefix>/_manifests/ are kept."
  type        = number
  default     = 7
}

variable "warehouse_mode" {
  description = "\"serverless\" (Redshift Serverless namespace + workgroup) or \"provisioned\" (a cluster)."
  type        = string
  default     = "serverless"

  validation {
    condition     = contains(["serverless", "provisioned"], var.warehouse_mode)
    error_message = "warehouse_mode must be \"serverless\" or \"provisioned\"."
  }
}

variable "database_name" {
  description = "Database the olist_elt profile connects to."
  type        = string
  default     = "olist"
}

variable "admin_username" {
  description = "Warehouse admin user; its password is generated into Secrets Manager."
  type        = string
  default     = "olist_admin"
}

variable "serverless_base_capacity" {
  description = "Redshift Serverless base capacity in RPUs."
  type        = number
  default     = 8
}

variable "node_type" {
  description = "Provisioned cluster node type."
  type        = string
  default     = "ra3.large"
}

variable "number_of_nodes" {
  description = "Provisioned cluster node count."
  type        = number
  default     = 2
}

variable "subnet_ids" {
  description = "Private subnets of the workgroup or the cluster's subnet group."
  type        = list(string)
}

variable "security_group_ids" {
  description = "Security groups of the warehouse (allow 5439 from the loader and Airflow workers only)."
  type        = list(string)
}

variable "loader_trusted_principals" {
  description = "ARNs allowed to assume the loader role (the Airflow workers' role, a CI role)."
  type        = list(string)
}

variable "alert_email" {
  description = "Address subscribed to the alerts topic; null for none."
  type        = string
  default     = null
}

variable "tags" {
  description = "Extra tags of every resource."
  type        = map(string)
  default     = {}
}

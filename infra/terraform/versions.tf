terraform {
  required_version = ">= 1.6"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.80"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.6"
    }
  }

  # State holds the generated warehouse password (random_password): keep it in an
  # encrypted, access-controlled backend, e.g.
  # backend "s3" { bucket = "acme-terraform-state" key = "olist-elt.tfstate" encrypt = true }
}

provider "aws" {
  region = var.region

  default_tags {
    tags = merge({ project = "olist-elt", managed_by = "terraform" }, var.tags)
  }
}

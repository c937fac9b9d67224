"""infra/terraform: formatted (terraform fmt -check), parses, and declares what production needs.

`terraform validate` and `plan` need the AWS provider from the Terraform registry, which
this environment cannot reach: the checks here read the configuration itself (python-hcl2).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import hcl2
import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
TERRAFORM_DIR = PROJECT_ROOT / "infra" / "terraform"
IAM_DIR = PROJECT_ROOT / "infra" / "iam"
CHECKER = PROJECT_ROOT / "tools" / "tf_fmt_check.py"


def plain(value: Any) -> Any:
    """python-hcl2 keeps the quotes of labels and strings and adds markers: drop them."""
    if isinstance(value, dict):
        return {plain(key): plain(item) for key, item in value.items() if not key.startswith("__")}
    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def load_config() -> dict[str, Any]:
    """Every block of every .tf file, merged: {"resource": {type: {name: body}}, ...}."""
    merged: dict[str, Any] = {}
    for path in sorted(TERRAFORM_DIR.glob("*.tf")):
        with path.open() as handle:
            document = plain(hcl2.load(handle))
        for kind, blocks in document.items():
            for block in blocks:
                if kind in {"resource", "data"}:
                    for rtype, named in block.items():
                        merged.setdefault(kind, {}).setdefault(rtype, {}).update(named)
                elif isinstance(block, dict):
                    merged.setdefault(kind, {}).update(block)
    return merged


def resource(config: dict[str, Any], rtype: str, name: str) -> dict[str, Any]:
    return config["resource"][rtype][name]


def first(block: Any) -> Any:
    return block[0] if isinstance(block, list) else block


def text(value: Any) -> str:
    return json.dumps(value)


def test_fmt_check_passes() -> None:
    checked = subprocess.run(
        [sys.executable, str(CHECKER), str(TERRAFORM_DIR)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "8 .tf files parsed" in checked.stdout


def test_fmt_check_catches_a_misformatted_file(tmp_path: Path) -> None:
    copy = tmp_path / "terraform"
    shutil.copytree(TERRAFORM_DIR, copy)
    sns = copy / "sns.tf"
    # Unaligned `=` (terraform fmt) and an odd indent (the fallback's rule) both fail.
    sns.write_text(sns.read_text().replace("  name              =", "   name =", 1))
    checked = subprocess.run(
        [sys.executable, str(CHECKER), str(copy)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 1, checked.stdout
    assert "sns.tf" in checked.stderr


def test_fmt_check_reports_a_syntax_error(tmp_path: Path) -> None:
    (tmp_path / "broken.tf").write_text('resource "aws_sns_topic" "x" {\n  name = \n')
    checked = subprocess.run(
        [sys.executable, str(CHECKER), str(tmp_path)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 1
    assert "broken.tf: does not parse as HCL2" in checked.stderr


def test_bucket_is_encrypted_versioned_private_with_lifecycle_rules() -> None:
    config = load_config()
    sse = resource(config, "aws_s3_bucket_server_side_encryption_configuration", "landing")
    default = first(first(sse["rule"])["apply_server_side_encryption_by_default"])
    assert "AES256" in text(default["sse_algorithm"]) and "aws:kms" in text(
        default["sse_algorithm"]
    )
    versioning = resource(config, "aws_s3_bucket_versioning", "landing")
    assert first(versioning["versioning_configuration"])["status"] == "Enabled"
    block = resource(config, "aws_s3_bucket_public_access_block", "landing")
    for flag in (
        "block_public_acls",
        "block_public_policy",
        "ignore_public_acls",
        "restrict_public_buckets",
    ):
        assert block[flag] is True, flag
    lifecycle = resource(config, "aws_s3_bucket_lifecycle_configuration", "landing")
    rules = {rule["id"]: rule for rule in lifecycle["rule"]}
    assert {"age-drops", "expire-copy-manifests", "abort-incomplete-uploads"} <= set(rules)
    assert all(rule["status"] == "Enabled" for rule in rules.values())
    classes = {first(t)["storage_class"] for t in rules["age-drops"]["transition"]}
    assert classes == {"STANDARD_IA", "GLACIER_IR"}
    assert "noncurrent_version_expiration" in rules["age-drops"]


def test_warehouse_is_serverless_or_provisioned_by_variable() -> None:
    config = load_config()
    mode = config["variable"]["warehouse_mode"]
    assert mode["default"] == "serverless"
    assert "provisioned" in text(mode["validation"])
    for rtype, name in (
        ("aws_redshiftserverless_namespace", "olist"),
        ("aws_redshiftserverless_workgroup", "olist"),
        ("aws_redshift_cluster", "olist"),
    ):
        body = resource(config, rtype, name)
        assert "local.serverless" in text(body["count"]), rtype
    cluster = resource(config, "aws_redshift_cluster", "olist")
    assert cluster["encrypted"] is True and cluster["publicly_accessible"] is False
    workgroup = resource(config, "aws_redshiftserverless_workgroup", "olist")
    assert workgroup["publicly_accessible"] is False
    # Both attach the COPY role.
    for body in (cluster, resource(config, "aws_redshiftserverless_namespace", "olist")):
        assert "aws_iam_role.redshift_copy.arn" in text(body["iam_roles"])


def test_iam_policies_are_the_infra_iam_documents() -> None:
    """Policies come from infra/iam/*.json through file()/templatefile(), never copied."""
    config = load_config()
    sources = " ".join(
        text(body.get("policy", "")) + text(body.get("assume_role_policy", ""))
        for rtype in ("aws_iam_role_policy", "aws_iam_role")
        for body in config["resource"][rtype].values()
    )
    used = set(re.findall(r"iam_dir\}/([\w-]+\.json)", sources))
    assert used == {path.name for path in IAM_DIR.glob("*.json")}, used
    # The placeholders of infra/iam are the template's variables.
    placeholders = set()
    for path in IAM_DIR.glob("*.json"):
        placeholders |= set(re.findall(r"\$\{(OLIST_\w+)\}", path.read_text()))
    assert placeholders <= set(config["locals"]["iam_placeholders"])
    # No policy document is written inline in the .tf files (except the small SNS publish).
    for path in TERRAFORM_DIR.glob("*.tf"):
        assert '"s3:GetObject"' not in path.read_text(), path.name


def test_secret_is_generated_and_no_password_is_in_the_repository() -> None:
    config = load_config()
    password = resource(config, "random_password", "warehouse_admin")
    assert password["length"] >= 32
    version = resource(config, "aws_secretsmanager_secret_version", "warehouse_admin")
    assert "random_password.warehouse_admin.result" in text(version["secret_string"])
    for rtype in ("aws_redshiftserverless_namespace", "aws_redshift_cluster"):
        body = resource(config, rtype, "olist")
        key = "admin_user_password" if "serverless" in rtype else "master_password"
        assert body[key] == "${random_password.warehouse_admin.result}"
    assert not list(TERRAFORM_DIR.glob("*.tfvars")), "no tfvars (secrets) in the repository"
    topic = resource(config, "aws_sns_topic", "alerts")
    assert topic["kms_master_key_id"] == "alias/aws/sns"


@pytest.mark.skipif(shutil.which("terraform") is None, reason="no terraform binary on PATH")
def test_terraform_binary_formats_the_same() -> None:
    """With a terraform binary, fmt rewrites nothing (the checker's first branch)."""
    completed = subprocess.run(
        ["terraform", "fmt", "-check", "-recursive", str(TERRAFORM_DIR)],
        capture_output=True,
        text=True,
        check=False,
        env={"TF_CLI_CONFIG_FILE": "/dev/null", "PATH": "/usr/local/bin:/usr/bin:/bin"},
    )
    assert completed.returncode == 0, completed.stdout

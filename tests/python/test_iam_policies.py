"""infra/iam: the policy templates grant exactly what loading needs, and nothing else.

Each document is rendered the way infra/iam/README.md says (envsubst of the two
placeholders), then checked statement by statement against the exact expected grants,
and by asking a small evaluator what a request inside and outside the prefix gets.
"""

from __future__ import annotations

import fnmatch
import json
import re
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Any

import pytest

IAM_DIR = Path(__file__).resolve().parents[2] / "infra" / "iam"
PLACEHOLDERS = {"OLIST_BUCKET": "example-landing", "OLIST_PREFIX": "olist"}
BUCKET_ARN = "arn:aws:s3:::example-landing"
OBJECTS_ARN = "arn:aws:s3:::example-landing/olist/*"
LIST_CONDITION = {"StringLike": {"s3:prefix": ["olist/*"]}}
REDSHIFT_SERVICES = {"redshift.amazonaws.com", "redshift-serverless.amazonaws.com"}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def render(name: str) -> dict[str, Any]:
    text = (IAM_DIR / name).read_text(encoding="utf-8")
    used = set(re.findall(r"\$\{([^}]+)\}", text))
    assert used <= set(PLACEHOLDERS), (
        f"{name}: undocumented placeholders {used - set(PLACEHOLDERS)}"
    )
    rendered = Template(text).substitute(PLACEHOLDERS)
    assert "${" not in rendered, f"{name}: placeholder left after rendering"
    document = json.loads(rendered)
    assert document["Version"] == "2012-10-17", f"{name}: policy language version"
    return document


@dataclass(frozen=True)
class Grant:
    """One statement, normalised: what the exact-match assertions compare."""

    actions: tuple[str, ...]
    resources: tuple[str, ...]
    condition: str  # canonical JSON, "" when none


def grants(document: dict[str, Any]) -> set[Grant]:
    result = set()
    for statement in document["Statement"]:
        assert statement["Effect"] == "Allow", statement
        forbidden = {"NotAction", "NotResource", "NotPrincipal"} & set(statement)
        assert not forbidden, f"{statement.get('Sid')}: uses {forbidden}"
        condition = statement.get("Condition")
        result.add(
            Grant(
                actions=tuple(sorted(_as_list(statement["Action"]))),
                resources=tuple(sorted(_as_list(statement["Resource"]))),
                condition=json.dumps(condition, sort_keys=True) if condition else "",
            )
        )
    return result


def allowed(
    document: dict[str, Any], action: str, resource: str, prefix: str | None = None
) -> bool:
    """A minimal evaluator for these documents (Allow only, StringLike on s3:prefix)."""
    for statement in document["Statement"]:
        if action not in _as_list(statement["Action"]):
            continue
        if not any(fnmatch.fnmatchcase(resource, r) for r in _as_list(statement["Resource"])):
            continue
        condition = statement.get("Condition")
        if condition:
            patterns = condition["StringLike"]["s3:prefix"]
            if prefix is None or not any(fnmatch.fnmatchcase(prefix, p) for p in patterns):
                continue
        return True
    return False


READ_GRANTS = {
    Grant(("s3:ListBucket",), (BUCKET_ARN,), json.dumps(LIST_CONDITION, sort_keys=True)),
    Grant(("s3:GetObject",), (OBJECTS_ARN,), ""),
}


@pytest.mark.parametrize("name", ["loader-policy.json", "redshift-copy-role-policy.json"])
def test_read_policies_grant_list_and_read_of_the_prefix_only(name: str) -> None:
    document = render(name)
    assert grants(document) == READ_GRANTS

    # What the loader and COPY actually do: list with prefix "olist/", read data files
    # and the manifests the loader writes under olist/_manifests/.
    assert allowed(document, "s3:ListBucket", BUCKET_ARN, prefix="olist/")
    assert allowed(document, "s3:GetObject", f"{BUCKET_ARN}/olist/olist_orders_dataset.csv")
    assert allowed(document, "s3:GetObject", f"{BUCKET_ARN}/olist/_manifests/l1/orders.manifest")
    # ... and nothing around it.
    assert not allowed(document, "s3:ListBucket", BUCKET_ARN, prefix="")
    assert not allowed(document, "s3:ListBucket", BUCKET_ARN, prefix="finance/")
    assert not allowed(document, "s3:GetObject", f"{BUCKET_ARN}/finance/salaries.csv")
    assert not allowed(document, "s3:GetObject", f"{BUCKET_ARN}/olistic/other.csv")
    assert not allowed(document, "s3:GetObject", "arn:aws:s3:::other-bucket/olist/x.csv")
    assert not allowed(document, "s3:PutObject", f"{BUCKET_ARN}/olist/olist_orders_dataset.csv")
    assert not allowed(document, "s3:DeleteObject", f"{BUCKET_ARN}/olist/olist_orders_dataset.csv")


def test_manifest_policy_writes_under_the_manifest_folder_only() -> None:
    document = render("loader-manifests-policy.json")
    manifests = f"{BUCKET_ARN}/olist/_manifests/*"
    assert grants(document) == {Grant(("s3:PutObject",), (manifests,), "")}
    assert allowed(document, "s3:PutObject", f"{BUCKET_ARN}/olist/_manifests/l1/orders.manifest")
    assert not allowed(document, "s3:PutObject", f"{BUCKET_ARN}/olist/olist_orders_dataset.csv")
    assert not allowed(document, "s3:GetObject", f"{BUCKET_ARN}/olist/_manifests/l1/x.manifest")


def test_copy_role_trusts_only_redshift_to_assume_it() -> None:
    document = render("redshift-copy-role-trust.json")
    (statement,) = document["Statement"]
    assert statement["Effect"] == "Allow"
    assert _as_list(statement["Action"]) == ["sts:AssumeRole"]
    assert set(statement["Principal"]) == {"Service"}, "only service principals"
    assert set(_as_list(statement["Principal"]["Service"])) == REDSHIFT_SERVICES


@pytest.mark.parametrize("path", sorted(IAM_DIR.glob("*.json")), ids=lambda p: p.name)
def test_no_wildcard_actions_or_resources(path: Path) -> None:
    document = render(path.name)
    for statement in document["Statement"]:
        for action in _as_list(statement["Action"]):
            assert "*" not in action, f"{path.name}: wildcard action {action}"
        for resource in _as_list(statement.get("Resource", [])):
            assert resource != "*" and not resource.startswith("arn:aws:s3:::*"), (
                f"{path.name}: resource {resource} is not scoped to the bucket"
            )
            if resource.endswith("*"):
                assert resource.startswith(f"{BUCKET_ARN}/olist/"), (
                    f"{path.name}: wildcard resource {resource} outside the prefix"
                )


def test_every_document_and_placeholder_is_documented() -> None:
    readme = (IAM_DIR / "README.md").read_text(encoding="utf-8")
    for path in IAM_DIR.glob("*.json"):
        assert f"`{path.name}`" in readme, f"{path.name} is not described in infra/iam/README.md"
    for placeholder in PLACEHOLDERS:
        assert f"${{{placeholder}}}" in readme, f"{placeholder} is not documented"

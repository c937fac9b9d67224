"""profiles.yml.example: every output is one dbt 1.11 and its adapter accept, checked offline.

Each output is rendered and validated by dbt's own profile code (the adapter's credentials
class). For the Redshift outputs, dbt-redshift then builds the redshift_connector call it
would make; the driver's `connect` is replaced by a recorder, so nothing is contacted, and
the recorded arguments must be ones the real `connect` takes, with the expected values for
a password login, an IAM login to a provisioned cluster and one to a Serverless workgroup.
"""

from __future__ import annotations

import inspect
import os
import re
from argparse import Namespace
from pathlib import Path
from typing import Any

import pytest
import redshift_connector
import yaml
from dbt.adapters.redshift.connections import get_connection_method
from dbt.config.profile import Profile
from dbt.config.renderer import ProfileRenderer
from dbt.flags import set_from_args
from dbt_common.context import set_invocation_context
from redshift_connector.redshift_property import RedshiftProperty

PROFILES_EXAMPLE = Path(__file__).resolve().parents[2] / "profiles.yml.example"
PROFILE = "olist_elt"
PROVISIONED_HOST = "olist.abc123xyz789.eu-west-1.redshift.amazonaws.com"
SERVERLESS_HOST = "olist-wg.123456789012.eu-west-1.redshift-serverless.amazonaws.com"
ALL_VARIABLES = re.compile(r"env_var\('([A-Z_]+)'")
# Keys dbt itself reads from an output, not the adapter's credentials class.
DBT_KEYS = {"type", "threads"}
SECRET_KEYS = {"password", "pass", "secret_access_key", "access_key_id", "token"}


def raw_profiles() -> dict[str, Any]:
    return yaml.safe_load(PROFILES_EXAMPLE.read_text(encoding="utf-8"))


def outputs() -> dict[str, dict[str, Any]]:
    return raw_profiles()[PROFILE]["outputs"]


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No variable the example reads is inherited from the environment running the tests."""
    for name in set(ALL_VARIABLES.findall(PROFILES_EXAMPLE.read_text())) | {"AWS_PROFILE"}:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def credentials_for(target: str) -> Any:
    """Render and validate one output exactly as dbt does when it loads the profile."""
    set_from_args(Namespace(), None)
    set_invocation_context(os.environ)  # env_var() reads this snapshot
    profile = Profile.from_raw_profiles(
        raw_profiles(), PROFILE, ProfileRenderer({}), target_override=target
    )
    return profile.credentials


def driver_call(credentials: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The keyword arguments dbt-redshift would pass to redshift_connector.connect."""
    calls: list[dict[str, Any]] = []

    def record(**kwargs: Any) -> Any:
        calls.append(kwargs)
        return _FakeConnection()

    real_parameters = set(inspect.signature(redshift_connector.connect).parameters)
    monkeypatch.setattr(redshift_connector, "connect", record)
    get_connection_method(credentials)()
    (kwargs,) = calls
    unknown = set(kwargs) - real_parameters
    assert not unknown, f"arguments redshift_connector.connect does not take: {unknown}"
    return kwargs


class _FakeConnection:
    autocommit = False

    def cursor(self) -> Any:  # pragma: no cover - only reached with role/query_group set
        raise AssertionError("the profile should not run statements at connect time")


@pytest.mark.parametrize("target", sorted(outputs()))
def test_every_key_is_one_the_adapter_knows(target: str, clean_env: pytest.MonkeyPatch) -> None:
    for name, value in {
        "OLIST_REDSHIFT_HOST": PROVISIONED_HOST,
        "OLIST_REDSHIFT_USER": "loader",
        "OLIST_REDSHIFT_PASSWORD": "from-the-environment",
    }.items():
        clean_env.setenv(name, value)
    credentials = credentials_for(target)
    known = {f.name for f in credentials.__dataclass_fields__.values()}
    known |= set(getattr(type(credentials), "_ALIASES", {}))
    unknown = set(outputs()[target]) - known - DBT_KEYS
    assert not unknown, f"{target}: keys {type(credentials).__name__} ignores: {unknown}"


def test_no_secret_is_written_in_the_file() -> None:
    for target, settings in outputs().items():
        for key, value in settings.items():
            if key in SECRET_KEYS:
                # From the environment; the only default allowed is empty (no password).
                assert re.fullmatch(r"\{\{\s*env_var\('[A-Z_]+'(, '')?\)\s*\}\}", str(value)), (
                    f"{target}.{key} must come from an environment variable, {value!r} found"
                )


def test_redshift_password_login(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("OLIST_REDSHIFT_HOST", PROVISIONED_HOST)
    clean_env.setenv("OLIST_REDSHIFT_USER", "loader")
    clean_env.setenv("OLIST_REDSHIFT_PASSWORD", "from-the-environment")
    kwargs = driver_call(credentials_for("redshift"), clean_env)
    assert kwargs["host"] == PROVISIONED_HOST and kwargs["port"] == 5439
    assert kwargs["database"] == "dev"
    assert (kwargs["user"], kwargs["password"]) == ("loader", "from-the-environment")
    assert kwargs["ssl"] is True and kwargs["sslmode"] == "verify-ca"
    assert "iam" not in kwargs and kwargs["is_serverless"] is False


def test_redshift_iam_login_to_a_provisioned_cluster(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("OLIST_REDSHIFT_HOST", PROVISIONED_HOST)
    clean_env.setenv("OLIST_REDSHIFT_CLUSTER_ID", "olist")
    clean_env.setenv("OLIST_REDSHIFT_USER", "loader")
    clean_env.setenv("AWS_PROFILE", "analytics")
    kwargs = driver_call(credentials_for("redshift_iam"), clean_env)
    assert kwargs["iam"] is True
    assert kwargs["cluster_identifier"] == "olist"
    assert kwargs["db_user"] == "loader"
    assert kwargs["profile"] == "analytics"
    assert kwargs["password"] == ""  # no password: GetClusterCredentials supplies one
    assert kwargs["is_serverless"] is False and kwargs["ssl"] is True


def test_redshift_iam_login_to_a_serverless_workgroup(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("OLIST_REDSHIFT_HOST", SERVERLESS_HOST)
    kwargs = driver_call(credentials_for("redshift_iam"), clean_env)
    assert kwargs["iam"] is True and kwargs["is_serverless"] is True
    assert kwargs["cluster_identifier"] is None
    # Unset variables are nulls, so the driver falls back to the AWS defaults and the host.
    assert kwargs["profile"] is None and kwargs["region"] is None
    assert kwargs["serverless_work_group"] is None

    # ... from which redshift_connector reads the workgroup, account and region.
    info = RedshiftProperty()
    info.put("host", SERVERLESS_HOST)
    info.set_serverless_acct_id()
    info.set_serverless_work_group_from_host()
    info.set_region_from_host()
    assert (info.serverless_work_group, info.serverless_acct_id, info.region) == (
        "olist-wg",
        "123456789012",
        "eu-west-1",
    )


def test_redshift_iam_without_cluster_or_serverless_host_is_refused(
    clean_env: pytest.MonkeyPatch,
) -> None:
    clean_env.setenv("OLIST_REDSHIFT_HOST", PROVISIONED_HOST)
    with pytest.raises(Exception, match="cluster_id"):
        get_connection_method(credentials_for("redshift_iam"))

"""pytest plugin: an S3 (moto) server on loopback, shared by the whole session.

Registered from conftest.py (``pytest_plugins``). Fixtures:

- ``s3_server`` (session): an :class:`S3Server` running moto's threaded server on
  127.0.0.1 (the OS picks a free port: it binds port 0, so there is no race), stopped
  at teardown. Its helpers: ``client()``, ``new_bucket()``, ``upload_folder()``,
  ``iam_user_credentials()`` and ``enforce_iam()`` (to test access denied).
- ``s3_env`` (function): sets the standard AWS variables (dummy credentials, region,
  ``AWS_ENDPOINT_URL``) with ``monkeypatch`` so that code using boto3's default
  credential chain talks to the server, and hides any ~/.aws files. Returns the server.

Tests share one server: use ``new_bucket()`` for a uniquely named bucket rather than
fixed names, so tests do not see each other's objects.
"""

from __future__ import annotations

import contextlib
import json
import logging
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REGION = "us-east-1"
# moto accepts any key pair while IAM is not enforced.
ACCESS_KEY = "testing"
SECRET_KEY = "testing"

# AWS authorises ListObjects and ListObjectsV2 by the IAM action s3:ListBucket (the API names
# are not IAM actions). moto 5.2.6 checks the API name instead; a policy is written as AWS
# reads it, and each statement that names s3:ListBucket also names moto's aliases, so the
# same policy means the same thing on every moto release.
MOTO_LIST_ALIASES = ("s3:ListObjects", "s3:ListObjectsV2")


def as_moto_reads_it(policy: dict[str, Any]) -> dict[str, Any]:
    """The policy with moto's aliases of s3:ListBucket added where a statement names it."""
    statements = policy["Statement"]
    if isinstance(statements, dict):
        statements = [statements]
    translated = []
    for statement in statements:
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else list(actions)
        if "s3:ListBucket" in actions:
            actions += [alias for alias in MOTO_LIST_ALIASES if alias not in actions]
            statement = {**statement, "Action": actions}
        translated.append(statement)
    return {**policy, "Statement": translated}


@dataclass(frozen=True)
class S3Server:
    endpoint_url: str
    region: str = REGION

    def client(self, service: str = "s3", **credentials: str) -> Any:
        """A boto3 client for this server; pass aws_access_key_id/... to act as a user."""
        import boto3

        credentials = credentials or {
            "aws_access_key_id": ACCESS_KEY,
            "aws_secret_access_key": SECRET_KEY,
        }
        return boto3.client(
            service, endpoint_url=self.endpoint_url, region_name=self.region, **credentials
        )

    def new_bucket(self, prefix: str = "olist") -> str:
        """Create a bucket with a unique name and return the name."""
        name = f"{prefix}-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name

    def upload_folder(self, folder: Path, bucket: str, prefix: str = "") -> list[str]:
        """Upload every file directly in folder to s3://bucket/prefix; return the keys."""
        client = self.client()
        keys = []
        for path in sorted(folder.iterdir()):
            if path.is_file():
                key = f"{prefix}{path.name}"
                client.upload_file(str(path), bucket, key)
                keys.append(key)
        return keys

    def iam_user_credentials(self, policy: dict[str, Any]) -> dict[str, str]:
        """Create an IAM user with this inline policy; return boto3-style credentials.

        Only meaningful inside ``enforce_iam()``: without it moto allows everything. The
        policy is written as AWS reads it (see ``as_moto_reads_it``).
        """
        iam = self.client("iam")
        user = f"user-{uuid.uuid4().hex[:8]}"
        iam.create_user(UserName=user)
        iam.put_user_policy(
            UserName=user,
            PolicyName="test-policy",
            PolicyDocument=json.dumps(as_moto_reads_it(policy)),
        )
        key = iam.create_access_key(UserName=user)["AccessKey"]
        return {
            "aws_access_key_id": key["AccessKeyId"],
            "aws_secret_access_key": key["SecretAccessKey"],
        }

    def _set_auth_threshold(self, value: float) -> float:
        # moto checks signatures and IAM policies once it has served this many requests.
        request = urllib.request.Request(
            f"{self.endpoint_url}/moto-api/reset-auth",
            data=str(value).encode(),
            # Not form-encoded: moto reads the raw body.
            headers={"Content-Type": "text/plain"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return float(json.load(response)["PREVIOUS_INITIAL_NO_AUTH_ACTION_COUNT"])

    @contextlib.contextmanager
    def enforce_iam(self) -> Iterator[None]:
        """Within the block, requests need credentials of an IAM user allowed to act."""
        previous = self._set_auth_threshold(0)
        try:
            yield
        finally:
            self._set_auth_threshold(previous)


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """moto's S3 server on 127.0.0.1 for the session (see the module docstring)."""
    from moto.server import ThreadedMotoServer

    # One access-log line per request would drown test output.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield S3Server(endpoint_url=f"http://{host}:{port}")
    finally:
        server.stop()


@pytest.fixture
def s3_env(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> S3Server:
    """Standard AWS variables pointing boto3's default chain at ``s3_server``."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_DEFAULT_REGION", s3_server.region)
    monkeypatch.setenv("AWS_REGION", s3_server.region)
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server.endpoint_url)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return s3_server

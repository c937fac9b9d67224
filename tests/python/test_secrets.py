"""No credential leaves the environment: not in output, logs, errors, files or tables.

The loader runs (as ``olist load -v``, which logs every statement) with recognisable fake
secrets in the variables that carry credentials: AWS_SECRET_ACCESS_KEY and
AWS_SESSION_TOKEN (S3 through moto, which accepts any), OLIST_PG_PASSWORD (a PostgreSQL
role created with that password), OLIST_REDSHIFT_PASSWORD. Runs: loads that work, dry
runs (DuckDB, PostgreSQL, Redshift), and loads that fail (a bad file, a wrong password).
Then everything is searched for the secrets: stdout, stderr, every file under the
test's folders (warehouse, profiles, the child's TMPDIR), the audit table and the
lineage columns, and every object in the bucket.

A last test scans the repository's tracked files for credentials.
"""

from __future__ import annotations

import re
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest

from fault_harness import SCHEMA, Warehouse, duckdb_warehouse, postgres_warehouse
from loader_files import write_set
from olist_elt.dev import postgres as devserver
from s3_server import S3Server

pytestmark = pytest.mark.faults

ROOT = Path(__file__).resolve().parents[2]


def fake(name: str) -> str:
    return f"FAKE{name}SECRET{uuid.uuid4().hex}"


@pytest.fixture
def secrets_env(
    s3_env: S3Server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> dict[str, str]:
    secrets = {
        "AWS_SECRET_ACCESS_KEY": fake("AWS"),
        "AWS_SESSION_TOKEN": fake("TOKEN"),
        "OLIST_REDSHIFT_PASSWORD": fake("REDSHIFT"),
    }
    for key, value in secrets.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("OLIST_REDSHIFT_HOST", "cluster.invalid")
    monkeypatch.setenv("OLIST_REDSHIFT_USER", "loader")
    scratch = tmp_path / "child-tmp"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    return secrets


@pytest.fixture
def bucket(s3_env: S3Server, tmp_path: Path) -> str:
    name = s3_env.new_bucket("secrets")
    write_set(tmp_path / "files", count=3)
    s3_env.upload_folder(tmp_path / "files", name, "olist/")
    return name


@pytest.fixture
def pg_role(
    pg_server: devserver.PgServer, pg_database: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """A login role whose password is a fake secret; OLIST_PG_* point at it."""
    role, password = f"loader_{uuid.uuid4().hex[:8]}", fake("PG")
    admin = psycopg2.connect(pg_server.dsn(pg_database))
    admin.autocommit = True
    cursor = admin.cursor()
    cursor.execute(f"create role {role} login password %s", (password,))
    cursor.execute(f'grant all on database "{pg_database}" to {role}')
    for key, value in pg_server.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("OLIST_PG_DATABASE", pg_database)
    monkeypatch.setenv("OLIST_PG_USER", role)
    monkeypatch.setenv("OLIST_PG_PASSWORD", password)
    try:
        yield password
    finally:
        cursor.execute(f"drop owned by {role} cascade")
        cursor.execute(f"drop role {role}")
        admin.close()


def scan(secrets: list[str], texts: dict[str, str], folders: list[Path]) -> list[str]:
    """Where any secret shows up (also without its FAKE prefix, and in a file's bytes)."""
    needles = [s.encode() for s in secrets] + [s[-32:].encode() for s in secrets]
    leaks = []
    for where, text in texts.items():
        for needle in needles:
            if (at := text.find(needle.decode())) >= 0:
                context = text[max(at - 80, 0) : at + 20].replace("\n", " ")
                leaks.append(f"{where} contains a secret: ...{context}")
                break
    for folder in folders:
        for path in folder.rglob("*"):
            if path.is_file() and any(n in path.read_bytes() for n in needles):
                leaks.append(f"file {path} contains a secret")
    return leaks


def _run(wh: Warehouse, args: list[str]) -> subprocess.CompletedProcess[str]:
    return wh.cli([*args, "-v"])


def _table_text(wh: Warehouse) -> str:
    with wh.reading():
        audit = wh.query(f"select * from {SCHEMA}._load_runs")
        lineage = wh.query(f"select distinct _source_file, _load_id from {SCHEMA}.orders")
    return repr(audit) + repr(lineage)


def _bucket_text(s3: S3Server, bucket: str) -> str:
    client = s3.client()
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=bucket).get("Contents", [])]
    bodies = [client.get_object(Bucket=bucket, Key=k)["Body"].read() for k in keys]
    return repr(keys) + repr(bodies)


def test_duckdb_runs_leak_nothing(
    secrets_env: dict[str, str], bucket: str, s3_env: S3Server, tmp_path: Path
) -> None:
    wh = duckdb_warehouse(tmp_path / "duckdb")
    uri = f"s3://{bucket}/olist/"
    runs = {"load": _run(wh, [uri]), "dry run": _run(wh, [uri, "--dry-run", "--force"])}
    s3_env.client().put_object(Bucket=bucket, Key="olist/olist_orders_dataset.csv", Body=b"a;b\n")
    runs["failing load"] = _run(wh, [uri])
    assert runs["load"].returncode == 0, runs["load"].stdout + runs["load"].stderr
    assert runs["dry run"].returncode == 0
    assert runs["failing load"].returncode == 1
    assert "DEBUG" in runs["load"].stderr  # -v logged every statement
    texts = {f"{name} {stream}": getattr(run, stream) for name, run in runs.items()
             for stream in ("stdout", "stderr")}  # fmt: skip
    texts["audit and lineage"] = _table_text(wh)
    texts["bucket"] = _bucket_text(s3_env, bucket)
    leaks = scan(list(secrets_env.values()), texts, [tmp_path])
    assert leaks == []


def test_redshift_dry_run_leaks_nothing(
    secrets_env: dict[str, str], bucket: str, tmp_path: Path
) -> None:
    wh = Warehouse("redshift", duckdb_warehouse(tmp_path / "rs").profiles)
    done = wh.cli(
        [
            f"s3://{bucket}/olist/",
            *("--dry-run", "-v", "--iam-role-arn", "arn:aws:iam::123456789012:role/olist-copy"),
            *("--region", "eu-west-1"),
        ]
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "copy raw_olist.orders__loading" in done.stdout
    texts = {"stdout": done.stdout, "stderr": done.stderr}
    assert scan(list(secrets_env.values()), texts, [tmp_path]) == []


def test_postgres_runs_leak_nothing(
    secrets_env: dict[str, str],
    pg_role: str,
    pg_server: devserver.PgServer,
    pg_database: str,
    bucket: str,
    s3_env: S3Server,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    wh = postgres_warehouse(tmp_path / "pg", pg_server.dsn(pg_database))
    uri = f"s3://{bucket}/olist/"
    runs = {"load": _run(wh, [uri]), "dry run": _run(wh, [uri, "--dry-run", "--force"])}
    s3_env.client().put_object(Bucket=bucket, Key="olist/olist_orders_dataset.csv", Body=b"a;b\n")
    runs["failing load"] = _run(wh, [uri])
    wrong = fake("WRONGPG")
    runs["wrong password"] = wh.cli([uri, "-v"], env={"OLIST_PG_PASSWORD": wrong})
    assert runs["load"].returncode == 0, runs["load"].stdout + runs["load"].stderr
    assert runs["dry run"].returncode == 0
    assert runs["failing load"].returncode == 1
    assert runs["wrong password"].returncode == 1
    assert "password authentication failed" in runs["wrong password"].stdout
    texts = {f"{name} {stream}": getattr(run, stream) for name, run in runs.items()
             for stream in ("stdout", "stderr")}  # fmt: skip
    texts["audit and lineage"] = _table_text(wh)
    texts["bucket"] = _bucket_text(s3_env, bucket)
    leaks = scan([*secrets_env.values(), pg_role, wrong], texts, [tmp_path])
    assert leaks == []


# What a committed credential looks like; the example profile reads all from env_var().
CREDENTIAL_PATTERNS = {
    "AWS access key id": re.compile(rb"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),
    "AWS secret key": re.compile(rb"(?i)aws_secret_access_key\s*[=:]\s*['\"]?[A-Za-z0-9/+]{40}\b"),
    "private key": re.compile(rb"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "literal password in YAML": re.compile(
        rb"(?im)^\s*(password|pass)\s*:\s*(?!['\"]?\{\{)['\"]?[^\s'\"{#][^\n]*$"
    ),
}


def test_no_credentials_in_the_repository() -> None:
    files = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.split(b"\0")
    hits = []
    for name in filter(None, files):
        path = ROOT / name.decode()
        if not path.is_file() or path.stat().st_size > 5_000_000:
            continue
        data = path.read_bytes()
        for what, pattern in CREDENTIAL_PATTERNS.items():
            if what.endswith("YAML") and not name.endswith((b".yml", b".yaml", b".example")):
                continue
            if pattern.search(data):
                hits.append(f"{name.decode()}: {what}")
    assert len(files) > 50
    assert hits == []

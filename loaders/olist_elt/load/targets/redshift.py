"""Redshift target: the cluster COPYs straight from S3; rows never pass through the loader.

Before the COPY each object is streamed once through the checker (header, UTF-8,
CSV-aware row count) so a bad file fails with a clear message before the cluster
is asked, and after it ``pg_last_copy_count()`` must equal that count. A table
made of several parts is loaded by one COPY through a manifest, written next to
the data under ``_manifests/<load id>/``; its ``_source_file`` is the manifest's URI.

Atomicity: load into ``<table>__loading``, then drop the old table and rename the
new one, all in one transaction with the audit row. The new table is a new object: the
privileges granted on the old one (``svv_relation_privileges``: to roles, groups, users
or public) are granted on it before the swap, so readers keep their access whoever
granted it (the bootstrap's default privileges cover only the roles of docs/roles.md).
No dbt view reads a raw table (staging models are tables), so nothing pins it; a view
of one's own on a raw table must be late-binding (``with no schema binding``).

A daily drop (``job.ingest_date``) is COPYed into ``<table>__loading`` the same way, then
``delete from <table> where _ingest_date = <day>`` and ``insert into <table> select ... from
<table>__loading`` in the same transaction (not ALTER TABLE APPEND: it cannot run inside a
transaction block, and the audit row must commit with the rows).

COPY uses no ACCEPTINVCHARS or MAXERROR: any bad row fails the table, and the
rows of STL_LOAD_ERRORS for that COPY (``pg_last_copy_id()``) are reported.
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any, ClassVar

from olist_elt.errors import ConfigError, LoadError, TargetError
from olist_elt.load import audit
from olist_elt.load.sources import S3Source
from olist_elt.load.sql import ident
from olist_elt.load.targets.base import (
    AuditRowFor,
    CheckedStream,
    Loaded,
    TableJob,
    Target,
    short_engine_message,
)
from olist_elt.profiles import TargetProfile

log = logging.getLogger(__name__)

ROLE_ENV = "OLIST_REDSHIFT_COPY_ROLE_ARN"
STAGING_SUFFIX = "__loading"
# Redshift's widest varchar; raw columns are text whatever their content.
TEXT = "varchar(65535)"
MAX_REPORTED_ERRORS = 5
# Table privileges svv_relation_privileges reports, all of which GRANT ... ON TABLE takes.
GRANTABLE = frozenset(
    {"select", "insert", "update", "delete", "drop", "references", "alter", "truncate", "rule",
     "trigger"}
)  # fmt: skip


class RedshiftTarget(Target):
    kind = "redshift"
    backslash_escapes = True
    text_type = TEXT
    lineage_types: ClassVar[dict[str, str]] = {
        "_source_file": "varchar(2048)",
        "_loaded_at": "timestamp",
        "_load_id": "varchar(64)",
        "_ingest_date": "date",
    }

    def __init__(
        self,
        profile: TargetProfile,
        schema: str,
        *,
        dry_run: bool = False,
        iam_role_arn: str | None = None,
        region: str | None = None,
    ) -> None:
        super().__init__(profile, schema, dry_run=dry_run)
        self.iam_role_arn = iam_role_arn or os.environ.get(ROLE_ENV, "")
        self.region = (
            region
            or os.environ.get("AWS_REGION")
            or os.environ.get("AWS_DEFAULT_REGION")
            or str(profile.settings.get("region") or "")
        )
        if not self.iam_role_arn:
            raise ConfigError(
                f"Redshift COPY needs an IAM role the cluster can assume to read S3: "
                f"set {ROLE_ENV} or pass --iam-role-arn"
            )
        if not self.region:
            raise ConfigError(
                "Redshift COPY needs the S3 bucket's region: set AWS_REGION or pass --region"
            )

    def _connect(self) -> Any:
        import redshift_connector

        s = self.profile.settings
        params: dict[str, Any] = {
            "host": s.get("host"),
            "port": int(s.get("port") or 5439),
            "database": s.get("dbname") or s.get("database"),
        }
        if s.get("method") == "iam":
            params.update(
                iam=True,
                db_user=s.get("user") or None,
                cluster_identifier=s.get("cluster_id") or None,
                profile=s.get("iam_profile") or None,
                region=s.get("region") or self.region,
            )
        else:
            params.update(user=s.get("user"), password=s.get("password"))
        if s.get("sslmode") in ("require", "verify-ca", "verify-full"):
            params["ssl"] = True
        try:
            connection = redshift_connector.connect(
                **{k: v for k, v in params.items() if v is not None}
            )
        except Exception as exc:
            raise TargetError(f"cannot connect to Redshift {params.get('host')}: {exc}") from exc
        # Explicit begin/commit statements, so the printed plan is what runs.
        connection.autocommit = True
        return connection

    def _run(self, sql: str) -> list[tuple[Any, ...]] | None:
        cursor = self._connection.cursor()
        try:
            cursor.execute(sql)
            return [tuple(r) for r in cursor.fetchall()] if cursor.description else None
        finally:
            cursor.close()

    # --- statements ------------------------------------------------------------------------------

    def upgrade_audit_table(self) -> None:
        """Redshift has no ``add column if not exists``: look in the catalog first."""
        rows = self.execute(
            "select count(*) from information_schema.columns\n"
            f"where table_schema = {self.lit(self.schema)} "
            f"and table_name = {self.lit(audit.AUDIT_TABLE)} and column_name = 'ingest_date'"
        )
        if rows and not rows[0][0]:
            self.execute(
                f"alter table {self.relation(audit.AUDIT_TABLE)} add column ingest_date date"
            )

    def create_staging_sql(self, job: TableJob, source_file: str) -> str:
        defaults = self.lineage_values(job, source_file)
        items = [f"    {ident(c)} {TEXT}" for c in job.files.spec.column_names]
        items += [
            f"    {ident(n)} {t} default {defaults[n]}" for n, t in self.lineage_types.items()
        ]
        staging = self.relation(job.table + STAGING_SUFFIX)
        return f"create table {staging} (\n" + ",\n".join(items) + "\n)"

    def copy_sql(self, job: TableJob, from_uri: str, *, manifest: bool) -> str:
        columns = ", ".join(ident(c) for c in job.files.spec.column_names)
        lines = [
            f"copy {self.relation(job.table + STAGING_SUFFIX)} ({columns})",
            f"from {self.lit(from_uri)}",
            f"iam_role {self.lit(self.iam_role_arn)}",
            f"region {self.lit(self.region)}",
        ]
        if manifest:
            lines.append("manifest")
        lines += ["format csv", "ignoreheader 1"]
        if job.files.gzip:
            lines.append("gzip")
        lines += ["timeformat 'auto'", "emptyasnull"]
        return "\n".join(lines)

    def manifest_for(self, job: TableJob) -> tuple[str, str]:
        """(key, JSON) of the manifest listing the table's parts."""
        entries = [
            {"url": f.uri, "mandatory": True, "meta": {"content_length": f.size}}
            for f in job.files.files
        ]
        source = job.source
        assert isinstance(source, S3Source)
        key = f"{source.prefix}_manifests/{job.load_id}/{job.table}.manifest"
        return key, json.dumps({"entries": entries}, indent=2)

    # --- load ---------------------------------------------------------------------------------

    def load_table(self, job: TableJob, audit_row_for: AuditRowFor) -> Loaded:
        source = job.source
        if not isinstance(source, S3Source):
            raise ConfigError(
                f"Redshift loads with COPY from S3: {job.files.uri} is not in S3; "
                "pass an s3://bucket/prefix/ source"
            )
        rows_read, checksums = 0, []
        if not self.dry_run:
            for source_file in job.files.files:
                stream = CheckedStream(source, source_file, job.files.spec.column_names)
                rows_read += stream.drain().data_rows
                checksums.append(stream.checksum)
        if len(job.files.files) > 1:
            key, manifest = self.manifest_for(job)
            from_uri = source.key_uri(key)
            if self.dry_run:
                log.info("would write manifest %s:\n%s", from_uri, manifest)
            else:
                source.put_text(key, manifest)
            lineage_file, use_manifest = from_uri, True
        else:
            from_uri = lineage_file = job.files.files[0].uri
            use_manifest = False

        relation = self.relation(job.table)
        staging = self.relation(job.table + STAGING_SUFFIX)
        if job.ingest_date is not None:
            self.ensure_drop_table(job)
        self.execute("begin")
        try:
            self.execute(f"drop table if exists {staging}")
            self.execute(self.create_staging_sql(job, lineage_file))
            try:
                self.execute(self.copy_sql(job, from_uri, manifest=use_manifest))
            except LoadError:
                raise
            except Exception as exc:
                self.rollback()
                raise TargetError(
                    f"Redshift COPY into {job.table} from {from_uri} failed: "
                    f"{short_engine_message(exc)}{self.load_errors()}"
                ) from exc
            counted = self.execute("select pg_last_copy_count()")
            if job.ingest_date is None:
                for grant in self.carried_grants(job.table):
                    self.execute(grant)
                self.execute(f"drop table if exists {relation}")
                self.execute(f"alter table {staging} rename to {ident(job.table)}")
            else:
                columns = ", ".join(ident(n) for n, _ in self.raw_columns(job))
                self.execute(self.delete_drop_sql(job))
                self.execute(
                    f"insert into {relation} ({columns})\nselect {columns}\nfrom {staging}"
                )
                self.execute(f"drop table {staging}")
            rows_loaded = int(counted[0][0]) if counted else 0
            loaded = self.verify_and_commit(job, rows_read, rows_loaded, checksums, audit_row_for)
        except BaseException:
            self.rollback()
            raise
        return loaded

    def grants_sql(self, table: str) -> str:
        # The loader's own privileges are the owner's, which the new table has anyway.
        return (
            "select privilege_type, identity_type, identity_name\n"
            "from svv_relation_privileges\n"
            f"where namespace_name = {self.lit(self.schema)} "
            f"and relation_name = {self.lit(table)}\n"
            "    and not (identity_type = 'user' and identity_name = current_user)\n"
            "order by identity_type, identity_name, privilege_type"
        )

    def carried_grants(self, table: str) -> list[str]:
        """GRANT statements giving ``<table>__loading`` the privileges ``<table>`` has."""
        rows = self.execute(self.grants_sql(table)) or []
        staging = self.relation(table + STAGING_SUFFIX)
        grants = []
        for privilege, identity_type, name in rows:
            if str(privilege).lower() not in GRANTABLE:
                raise TargetError(
                    f"{self.relation(table)}: svv_relation_privileges lists privilege "
                    f"{privilege!r}, expected one of {', '.join(sorted(GRANTABLE))}; "
                    "nothing was replaced"
                )
            kind = str(identity_type).lower()
            if kind == "public":
                grantee = "public"
            elif kind in ("role", "group"):
                grantee = f"{kind} {ident(str(name))}"
            else:
                grantee = ident(str(name))
            grants.append(f"grant {str(privilege).lower()} on {staging} to {grantee}")
        return grants

    def load_errors(self) -> str:
        """The rows STL_LOAD_ERRORS holds for the last COPY of this session, as text."""
        try:
            rows = self._run(
                "select trim(filename), line_number, trim(colname), trim(err_reason), "
                "trim(raw_field_value)\n"
                "from stl_load_errors\n"
                "where query = pg_last_copy_id()\n"
                f"order by line_number\nlimit {MAX_REPORTED_ERRORS}"
            )
        except Exception as exc:
            log.warning("could not read stl_load_errors: %s", exc)
            return ""
        if not rows:
            return ""
        details = [
            f"{filename} line {line}, column {column or '?'}: {reason} (value {value!r})"
            for filename, line, column, reason, value in rows
        ]
        return "; load errors: " + "; ".join(details)

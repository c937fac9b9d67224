"""One module per warehouse; ``make_target`` picks it from the profile output's type."""

from __future__ import annotations

from olist_elt.load.targets.base import Target
from olist_elt.profiles import TargetProfile


def make_target(
    profile: TargetProfile,
    schema: str,
    *,
    dry_run: bool = False,
    iam_role_arn: str | None = None,
    region: str | None = None,
) -> Target:
    if profile.type == "duckdb":
        from olist_elt.load.targets.duckdb import DuckDBTarget

        return DuckDBTarget(profile, schema, dry_run=dry_run)
    if profile.type == "postgres":
        from olist_elt.load.targets.postgres import PostgresTarget

        return PostgresTarget(profile, schema, dry_run=dry_run)
    from olist_elt.load.targets.redshift import RedshiftTarget

    return RedshiftTarget(
        profile, schema, dry_run=dry_run, iam_role_arn=iam_role_arn, region=region
    )

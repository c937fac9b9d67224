"""Tiny, hand-made Olist-shaped CSV files for the loader tests (no generator needed).

Every file has the spec's header and a few rows; the reviews file carries a quoted
line break, a doubled quote and a comma inside quotes, so CSV-aware counting and
the engines' parsers are exercised even on small inputs.
"""

from __future__ import annotations

import gzip as gzip_module
from pathlib import Path

from olist_elt.spec import OLIST_FILES, OlistFile, by_table

# Data rows of the consistent real set (../shared/olist/README.md).
REAL_ROWS = {
    "customers": 99_441,
    "order_payments": 8_924,
    "products": 32_951,
    "sellers": 3_095,
    "product_category_name_translation": 71,
    "orders": 8_135,
    "order_items": 8_365,
    "order_reviews": 8_225,
    "geolocation": 45_928,
}


def rows_for(spec: OlistFile, count: int, tag: str = "a") -> list[list[str]]:
    rows = []
    for index in range(count):
        row = [f"{tag}{index}_{column}" for column in spec.column_names]
        if spec.table == "order_reviews" and index == 0:
            row[4] = 'line one\nline "two", with comma'
        if spec.table == "orders" and index == 1:
            row[4] = ""  # an empty field must load as NULL
        rows.append(row)
    return rows


def to_csv(
    header: tuple[str, ...] | list[str], rows: list[list[str]], newline: str = "\n"
) -> bytes:
    def field(value: str) -> str:
        if any(ch in value for ch in ',"\n\r'):
            return '"' + value.replace('"', '""') + '"'
        return value

    lines = [",".join(header)] + [",".join(field(v) for v in row) for row in rows]
    return (newline.join(lines) + newline).encode("utf-8")


def write_table(
    folder: Path, table: str, count: int = 3, *, tag: str = "a", gzip: bool = False
) -> Path:
    spec = by_table(table)
    data = to_csv(spec.column_names, rows_for(spec, count, tag))
    path = folder / (spec.file_name + (".gz" if gzip else ""))
    path.write_bytes(gzip_module.compress(data) if gzip else data)
    return path


def write_set(
    folder: Path, count: int = 3, *, tag: str = "a", gzip: bool = False
) -> dict[str, int]:
    """Write all nine files; return the data rows per table."""
    folder.mkdir(parents=True, exist_ok=True)
    for spec in OLIST_FILES:
        write_table(folder, spec.table, count, tag=tag, gzip=gzip)
    return {spec.table: count for spec in OLIST_FILES}


def write_profiles(folder: Path, *, duckdb_path: Path | None = None) -> Path:
    """A profiles.yml like profiles.yml.example (duckdb, postgres via OLIST_PG_*, redshift)."""
    folder.mkdir(parents=True, exist_ok=True)
    duckdb_path = duckdb_path or folder / "warehouse.duckdb"
    (folder / "profiles.yml").write_text(
        f"""
olist_elt:
  target: "{{{{ env_var('OLIST_TARGET', 'duckdb') }}}}"
  outputs:
    duckdb:
      type: duckdb
      path: "{duckdb_path}"
      schema: analytics
    postgres:
      type: postgres
      host: "{{{{ env_var('OLIST_PG_HOST', '127.0.0.1') }}}}"
      port: "{{{{ env_var('OLIST_PG_PORT', '5432') | as_number }}}}"
      user: "{{{{ env_var('OLIST_PG_USER', 'olist') }}}}"
      password: "{{{{ env_var('OLIST_PG_PASSWORD', '') }}}}"
      dbname: "{{{{ env_var('OLIST_PG_DATABASE', 'olist') }}}}"
      schema: analytics
    redshift:
      type: redshift
      method: database
      host: "{{{{ env_var('OLIST_REDSHIFT_HOST') }}}}"
      port: 5439
      user: "{{{{ env_var('OLIST_REDSHIFT_USER') }}}}"
      password: "{{{{ env_var('OLIST_REDSHIFT_PASSWORD') }}}}"
      dbname: dev
      schema: analytics
"""
    )
    return folder

"""Quoting for the SQL text the targets run (and print in --dry-run).

The loader renders values as literals instead of driver parameters so that the
statements it runs are exactly the statements --dry-run prints, on every engine.
"""

from __future__ import annotations

import re
from datetime import date, datetime

_BARE = re.compile(r"^[a-z_][a-z0-9_]*$")
# Words that cannot be bare identifiers in at least one of DuckDB, PostgreSQL, Redshift.
# fmt: off
_RESERVED = frozenset((
    "all", "analyse", "analyze", "and", "any", "array", "as", "asc", "asymmetric", "both",
    "case", "cast", "check", "collate", "column", "constraint", "create", "current_date",
    "current_time", "current_timestamp", "current_user", "default", "deferrable", "desc",
    "distinct", "do", "else", "end", "except", "false", "fetch", "for", "foreign", "from",
    "grant", "group", "having", "in", "initially", "intersect", "into", "lateral", "leading",
    "limit", "localtime", "localtimestamp", "not", "null", "offset", "on", "only", "or",
    "order", "placing", "primary", "references", "returning", "select", "session_user", "some",
    "symmetric", "table", "then", "to", "trailing", "true", "union", "unique", "user", "using",
    "variadic", "when", "where", "window", "with",
))
# fmt: on


def ident(name: str) -> str:
    """An identifier, double-quoted only when it has to be."""
    if _BARE.match(name) and name not in _RESERVED:
        return name
    return '"' + name.replace('"', '""') + '"'


def qualified(schema: str, table: str) -> str:
    return f"{ident(schema)}.{ident(table)}"


def literal(value: object, *, backslash_escapes: bool = False) -> str:
    """A SQL literal. Redshift treats backslash as an escape in strings: pass True there."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, datetime):
        # cast(), not a typed literal: the one spelling all three engines accept in DEFAULT.
        return f"cast('{value.isoformat(sep=' ')}' as timestamp)"
    if isinstance(value, date):  # after datetime, which is a date too
        return f"cast('{value.isoformat()}' as date)"
    text = str(value).replace("\x00", "")
    if backslash_escapes:
        text = text.replace("\\", "\\\\")
    return "'" + text.replace("'", "''") + "'"

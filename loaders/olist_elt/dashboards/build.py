"""Build the static dashboard site from the marts, over the dbt profile's connection.

The pages read the marts, not the saved queries through MetricFlow: the exposures depend
on the marts, one connection serves every page (a MetricFlow query costs about 3 s of
start-up each), and Redshift needs nothing more than the loader's own connection code.
tests/python/test_metrics.py holds the saved queries equal to the marts, so both agree.

Plotly draws the charts in the browser from plotly.min.js, written once next to the pages:
nothing is fetched from the network and the pages open from the file system.
"""

from __future__ import annotations

import html
import logging
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import plotly.io as pio
import plotly.offline

from olist_elt.dashboards.pages import PAGES, Content, Page, Row, Tile, money, number
from olist_elt.load.targets import make_target
from olist_elt.load.targets.base import Target
from olist_elt.profiles import read_target

log = logging.getLogger(__name__)

DEFAULT_OUTPUT = Path("target/dashboards")
PLOTLY_JS = "plotly.min.js"
# dbt's default schema naming: marts land in <profile schema>_marts (dbt_project.yml).
MARTS_SUFFIX = "_marts"


class DashboardError(RuntimeError):
    """One or more pages could not be built: their query failed or returned no rows."""


@dataclass(frozen=True)
class BuiltPage:
    page: Page
    path: Path
    error: str | None


def build(
    output_dir: str | os.PathLike[str] = DEFAULT_OUTPUT,
    *,
    target: str | None = None,
    profiles_dir: str | os.PathLike[str] | None = None,
    schema: str | None = None,
) -> list[BuiltPage]:
    """Write every page into output_dir; raise DashboardError if any page failed.

    Failed pages are written too, with the reason in place of the charts, so a person
    opening the site sees what is wrong rather than a stale or empty page.
    """
    profile = read_target(profiles_dir, target)
    marts_schema = schema or f"{profile.settings.get('schema', 'analytics')}{MARTS_SUFFIX}"
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / PLOTLY_JS).write_text(plotly.offline.get_plotlyjs(), encoding="utf-8")

    warehouse = make_target(profile, marts_schema)
    built: list[BuiltPage] = []
    try:
        warehouse.connect()
        loaded_at = _loaded_at(warehouse)
        for page in PAGES:
            clock = time.perf_counter()
            error = None
            try:
                rows = _query(warehouse, page.query(warehouse.relation))
                if not rows:
                    raise DashboardError(f"the query of {page.slug} returned no rows")
                content = page.render(rows)
            except Exception as exc:
                warehouse.rollback()
                error = f"{type(exc).__name__}: {exc}".strip()
                content = Content()
            path = out / f"{page.slug}.html"
            path.write_text(
                render_page(page, content, loaded_at, profile.name, error), encoding="utf-8"
            )
            built.append(BuiltPage(page, path, error))
            log.info("%s: %s in %.2f s", page.slug, error or "ok", time.perf_counter() - clock)
    finally:
        warehouse.close()
    failed = [f"{b.path.name}: {b.error}" for b in built if b.error]
    if failed:
        raise DashboardError(f"{len(failed)} of {len(built)} pages failed: " + "; ".join(failed))
    return built


def _query(warehouse: Target, sql: str) -> list[Row]:
    # The loader's Target returns bare tuples; the pages need column names, so ask the
    # driver's cursor (DuckDB, psycopg2 and redshift_connector all speak DB-API here).
    cursor = warehouse._connection.cursor()
    try:
        cursor.execute(sql)
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        cursor.close()


def _loaded_at(warehouse: Target) -> str:
    """When the newest source row behind the facts was loaded (fct_orders' lineage)."""
    try:
        rows = _query(
            warehouse,
            f"select max(_source_loaded_at) as loaded_at from {warehouse.relation('fct_orders')}",
        )
    except Exception as exc:
        warehouse.rollback()
        return f"unknown ({type(exc).__name__}: {exc})"
    value = rows[0]["loaded_at"] if rows else None
    return "unknown (no orders)" if value is None else str(value)[:19]


# --- HTML ---------------------------------------------------------------------------------

STYLE = """
body { font-family: system-ui, sans-serif; margin: 0; color: #1f2933; background: #f5f7fa; }
header { background: #243b53; color: #fff; padding: 12px 24px; }
header h1 { margin: 0 0 6px 0; font-size: 22px; }
nav a { color: #d9e2ec; margin-right: 14px; font-size: 14px; }
nav a.current { color: #fff; font-weight: bold; }
main { padding: 16px 24px; }
.meta { color: #52606d; font-size: 13px; }
.tiles { display: flex; flex-wrap: wrap; gap: 12px; margin: 12px 0; }
.tile { background: #fff; border-radius: 6px; padding: 12px 16px; min-width: 180px;
        box-shadow: 0 1px 2px rgba(0,0,0,.1); }
.tile .label { font-size: 13px; color: #52606d; }
.tile .value { font-size: 24px; font-weight: bold; }
.tile .change { font-size: 13px; }
.chart { background: #fff; margin: 12px 0; border-radius: 6px; }
table { border-collapse: collapse; background: #fff; font-size: 13px; margin: 12px 0; }
th, td { padding: 4px 10px; border-bottom: 1px solid #e4e7eb; text-align: left; }
.error { background: #ffe3e3; border: 1px solid #e12d39; padding: 12px 16px; border-radius: 6px; }
"""


def _format(kind: str, value: float | None) -> str:
    if value is None:
        return "n/a"
    if kind == "money":
        return money(value)
    if kind == "count":
        return f"{value:,.0f}"
    if kind == "share":
        return f"{value:.1%}"
    return f"{value:.2f}"


def _change(tile: Tile) -> str:
    if tile.value is None or tile.previous is None:
        return "no comparison"
    if tile.kind in ("share", "score"):
        delta = tile.value - tile.previous
        unit = " pp" if tile.kind == "share" else ""
        shown = delta * 100 if tile.kind == "share" else delta
        return (
            f"{shown:+.1f}{unit} on the month before"
            if unit
            else (f"{shown:+.2f} on the month before")
        )
    if not tile.previous:
        return "no comparison"
    return f"{tile.value / tile.previous - 1:+.1%} on the month before"


def _tile_html(tile: Tile) -> str:
    raw = "" if tile.value is None else repr(number(tile.value))
    return (
        f'<div class="tile" data-metric="{tile.key}">'
        f'<div class="label">{html.escape(tile.label)}</div>'
        f'<div class="value" data-value="{raw}">{_format(tile.kind, tile.value)}</div>'
        f'<div class="change">{html.escape(_change(tile))}</div></div>'
    )


def _table_html(caption: str, headers: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(cell))}</td>" for cell in row) + "</tr>"
        for row in rows
    )
    return (
        f"<table><caption>{html.escape(caption)}</caption>"
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    )


def render_page(
    page: Page, content: Content, loaded_at: str, target_name: str, error: str | None
) -> str:
    nav = " ".join(
        f'<a href="{p.slug}.html"{" class=current" if p is page else ""}>{html.escape(p.title)}</a>'
        for p in PAGES
    )
    built_at = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    parts = [
        f'<p class="meta">{html.escape(page.description)} '
        f'Data loaded at <span id="loaded-at">{html.escape(loaded_at)}</span>; '
        f"page built {built_at} from target {html.escape(target_name)}.</p>"
    ]
    if error:
        parts.append(
            '<div class="error" role="alert" id="page-error"><strong>This page has no data.'
            f"</strong> {html.escape(error)}</div>"
        )
    if content.note:
        parts.append(f'<p class="meta">{html.escape(content.note)}</p>')
    if content.tiles:
        parts.append('<div class="tiles">' + "".join(map(_tile_html, content.tiles)) + "</div>")
    for div_id, figure in content.charts:
        chart = pio.to_html(
            figure,
            full_html=False,
            include_plotlyjs=False,
            div_id=div_id,
            config={"displayModeBar": False, "responsive": True},
        )
        parts.append(f'<div class="chart">{chart}</div>')
    parts.extend(_table_html(*table) for table in content.tables)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{html.escape(page.title)} - Olist dashboards</title>
<style>{STYLE}</style>
<script src="{PLOTLY_JS}"></script>
</head>
<body>
<header><h1>{html.escape(page.title)}</h1><nav>{nav}</nav></header>
<main>
{"".join(parts)}
</main>
</body>
</html>
"""

"""Dashboards as code: one static HTML page per exposure plus an overview, built from the marts.

`build()` reads the marts over the dbt profile's connection and writes the site;
`olist dashboards` (`make dashboards`) is its command line.
"""

from olist_elt.dashboards.build import DashboardError, build

__all__ = ["DashboardError", "build"]

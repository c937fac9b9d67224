"""Lint-time stand-in for dbt's `api` namespace (see dbt.py for why it exists)."""

from __future__ import annotations


class Column:
    @staticmethod
    def translate_type(dtype: str) -> str:
        return dtype

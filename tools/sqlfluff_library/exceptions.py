"""Lint-time stand-in for dbt's `exceptions` namespace: compile errors are dbt's job, not lint's."""

from __future__ import annotations


def raise_compiler_error(message: str) -> str:
    return ""


def warn(message: str) -> str:
    return ""

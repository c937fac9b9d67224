"""Lint-time stand-in for dbt's `adapter` object (see dbt.py for why it exists).

`adapter.dispatch('macro_name')(args)` renders as the SQL call `macro_name(args)`: the
project's own dispatched macros are then linted where they are defined, not where used.
"""

from __future__ import annotations

from collections.abc import Callable


def dispatch(macro_name: str, macro_namespace: str | None = None) -> Callable[..., str]:
    def render(*args: object, **kwargs: object) -> str:
        rendered = ", ".join(str(arg) for arg in (*args, *kwargs.values()))
        return f"{macro_name}({rendered})"

    return render


def quote(identifier: str) -> str:
    return f'"{identifier}"'

"""Lint-time stand-ins for dbt's cross-database macros (`{{ dbt.hash(...) }}` and friends).

sqlfluff's jinja templater does not run dbt, so `dbt.*` is undefined there. This module is
loaded through `library_path` in .sqlfluff and renders each macro to plain, portable SQL
that parses in the duckdb, postgres and redshift dialects. Only the shape of the SQL
matters: rules skip code that comes from the template, so casing and layout here are free.
A macro not listed below renders as a function call of the same name (module __getattr__).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable


def _call(name: str, *args: object) -> str:
    return f"{name}({', '.join(str(arg) for arg in args)})"


def type_string() -> str:
    return "varchar"


def type_timestamp() -> str:
    return "timestamp"


def type_float() -> str:
    return "float"


def type_numeric() -> str:
    return "numeric(28, 6)"


def type_bigint() -> str:
    return "bigint"


def type_int() -> str:
    return "integer"


def type_boolean() -> str:
    return "boolean"


def cast(field: object, type: object) -> str:
    return f"cast({field} as {type})"


def safe_cast(field: object, type: object) -> str:
    return f"cast({field} as {type})"


def cast_bool_to_text(field: object) -> str:
    return f"cast({field} as varchar)"


def hash(field: object) -> str:
    return f"md5(cast({field} as varchar))"


def concat(fields: Iterable[object]) -> str:
    return _call("concat", *fields)


def escape_single_quotes(expression: str) -> str:
    return expression.replace("'", "''")


def string_literal(value: object) -> str:
    return f"'{value}'"


def date_trunc(datepart: str, date: object) -> str:
    return f"date_trunc('{datepart}', {date})"


def dateadd(datepart: str, interval: object, from_date_or_timestamp: object) -> str:
    return f"({from_date_or_timestamp} + (({interval}) * interval '1 {datepart}'))"


def datediff(first_date: object, second_date: object, datepart: str) -> str:
    return f"datediff('{datepart}', {first_date}, {second_date})"


def last_day(date: object, datepart: str) -> str:
    return f"cast(date_trunc('{datepart}', {date}) as date)"


def position(substring_text: object, string_text: object) -> str:
    return f"position({substring_text} in {string_text})"


def listagg(
    measure: object,
    delimiter_text: str = "','",
    order_by_clause: str | None = None,
    limit_num: int | None = None,
) -> str:
    order_by = f" {order_by_clause}" if order_by_clause else ""
    return f"string_agg({measure}, {delimiter_text}{order_by})"


def current_timestamp() -> str:
    return "current_timestamp"


def date(year: int, month: int, day: int) -> str:
    return f"cast('{year:04d}-{month:02d}-{day:02d}' as date)"


def equals(expr1: object, expr2: object) -> str:
    return f"(({expr1} = {expr2}) or ({expr1} is null and {expr2} is null))"


def date_spine(datepart: str, start_date: object, end_date: object) -> str:
    return f"select cast({start_date} as date) as date_{datepart}"


def generate_series(upper_bound: int) -> str:
    return "select 1 as generated_number"


def __getattr__(name: str) -> Callable[..., str]:
    if name.startswith("__"):
        raise AttributeError(name)

    def render(*args: object, **kwargs: object) -> str:
        return _call(name, *args, *kwargs.values())

    return render

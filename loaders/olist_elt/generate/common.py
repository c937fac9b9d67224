"""Deterministic building blocks: ids, random streams, sizes and value formatting.

Nothing here depends on hash(), dict order of unordered input, or the clock: an id or a
random stream is a function of (seed, kind, index) only, which is what lets the order
stream recompute an earlier customer instead of remembering it.
"""

from __future__ import annotations

import hashlib
import math
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from itertools import accumulate
from random import Random
from typing import Generic, TypeVar

T = TypeVar("T")

# Real row counts at scale 1.
REAL_ORDERS = 99_441
REAL_UNIQUE_CUSTOMERS = 96_096
REAL_PRODUCTS = 32_951
REAL_SELLERS = 3_095
REAL_GEOLOCATION_ROWS = 1_000_163
REAL_GEOLOCATION_PREFIXES = 19_015

EPOCH = datetime(2016, 1, 1)
DAY = 86_400


def hex_id(seed: int, kind: str, index: int) -> str:
    """A 32-hex id like the originals' (md5-looking), unique per (seed, kind, index)."""
    return hashlib.md5(f"{seed}:{kind}:{index}".encode()).hexdigest()


def digest_int(seed: int, kind: str, index: int) -> int:
    return int.from_bytes(hashlib.md5(f"{seed}:{kind}:{index}".encode()).digest(), "big")


def stream(seed: int, name: str) -> Random:
    """A random stream for one table or concern; str seeds are hashed with SHA-512."""
    return Random(f"olist:{seed}:{name}")


def indexed_stream(seed: int, kind: str, index: int) -> Random:
    """A random stream owned by one entity, so that it can be regenerated on demand."""
    return Random(digest_int(seed, kind, index))


class Weighted(Generic[T]):
    """Weighted choice by one uniform draw (cheaper than Random.choices for one pick)."""

    def __init__(self, pairs: Sequence[tuple[T, float]]) -> None:
        self.values = tuple(value for value, _ in pairs)
        self._cumulative = tuple(accumulate(weight for _, weight in pairs))
        self._total = self._cumulative[-1]

    def pick(self, rng: Random) -> T:
        return self.values[bisect_right(self._cumulative, rng.random() * self._total)]


@dataclass(frozen=True)
class Sizes:
    """Row counts derived from the scale; small scales keep enough rows for every quirk."""

    scale: float
    orders: int
    unique_customers: int
    products: int
    sellers: int
    geolocation_rows: int
    geolocation_prefixes: int
    unmapped_prefixes: int  # prefixes customers and sellers use but geolocation lacks

    @classmethod
    def for_scale(cls, scale: float) -> Sizes:
        if not scale > 0:
            raise ValueError(f"scale must be > 0, got {scale}")
        orders = max(60, round(REAL_ORDERS * scale))
        unique = round(orders * REAL_UNIQUE_CUSTOMERS / REAL_ORDERS)
        unique = min(unique, orders - 3)  # at least three repeat orders (moved, shared review)
        prefixes = min(max(round(REAL_GEOLOCATION_PREFIXES * scale), 40), 40_000)
        return cls(
            scale=scale,
            orders=orders,
            unique_customers=unique,
            products=max(20, round(REAL_PRODUCTS * scale)),
            sellers=max(5, round(REAL_SELLERS * scale)),
            geolocation_rows=max(round(REAL_GEOLOCATION_ROWS * scale), 2 * prefixes),
            geolocation_prefixes=prefixes,
            unmapped_prefixes=min(max(round(60 * scale), 3), 2_000),
        )


def money(cents: int) -> str:
    """BRL amount with two decimals, trailing zeros kept (58.90), like the originals."""
    return f"{cents // 100}.{cents % 100:02d}"


@lru_cache(maxsize=4096)
def _day(day: int) -> str:
    return (EPOCH + timedelta(days=day)).strftime("%Y-%m-%d")


@lru_cache(maxsize=DAY)
def _clock(rest: int) -> str:
    return f"{rest // 3600:02d}:{rest // 60 % 60:02d}:{rest % 60:02d}"


def timestamp(seconds: int | None) -> str | None:
    """Seconds since EPOCH as 'YYYY-MM-DD HH:MM:SS'."""
    if seconds is None:
        return None
    # Both halves cached: about a million timestamps at scale 1, formatting was a hot spot.
    day, rest = divmod(seconds, DAY)
    return f"{_day(day)} {_clock(rest)}"


def midnight(seconds: int) -> int:
    return seconds - seconds % DAY


def to_seconds(moment: datetime) -> int:
    return int((moment - EPOCH).total_seconds())


def coprime_step(n: int, seed: int, kind: str) -> tuple[int, int]:
    """(a, b) such that p -> (a * p + b) % n permutes range(n): a cheap shuffle."""
    if n <= 1:
        return 1, 0
    a = digest_int(seed, f"{kind}:step", 0) % n or 1
    while math.gcd(a, n) != 1:
        a = a % n + 1
    return a, digest_int(seed, f"{kind}:offset", 0) % n

"""Products, sellers and the category translation.

Order items need a product's seller and price without the product table in memory, so
those come from a hash of (seed, product index): `Catalog.offer` recomputes them on
demand. Products are sold by one seller each, like most real ones.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from random import Random
from statistics import NormalDist

from olist_elt.generate.common import Sizes, Weighted, coprime_step, digest_int, hex_id, stream
from olist_elt.generate.csvout import Row
from olist_elt.generate.geography import ZipUniverse
from olist_elt.generate.reference import (
    CATEGORIES,
    KITCHEN_PORTABLES,
    NO_CATEGORY_WEIGHT,
    PC_GAMER,
    PHOTOS,
)

# Products with a fixed quirk, so that even the smallest scale has them (and order
# generation puts them in an order).
PRODUCT_WITHOUT_CATEGORY = 0
PRODUCT_PC_GAMER = 1
PRODUCT_KITCHEN_PORTABLES = 2
PRODUCT_WITHOUT_MEASURES = 3
QUIRK_PRODUCTS = (
    PRODUCT_WITHOUT_CATEGORY,
    PRODUCT_PC_GAMER,
    PRODUCT_KITCHEN_PORTABLES,
    PRODUCT_WITHOUT_MEASURES,
)
SELLER_WITH_COMMA_CITY = 1
COMMA_CITY_SHARE = 0.001  # "novo hamburgo, rio grande do sul, brasil"
NO_MEASURES_SHARE = 0.0001  # 2 real products lack weight and dimensions

_NORMAL = NormalDist()
_U32 = float(1 << 32)


@dataclass(frozen=True, slots=True)
class Offer:
    """What an order item needs to know about a product."""

    product_id: str
    seller_id: str
    price_cents: int
    freight_cents: int  # before the destination's distance factor


def _unit(bits: int) -> float:
    """32 random bits as a float in (0, 1), never 0 or 1 (safe for inv_cdf)."""
    return ((bits & 0xFFFFFFFF) + 0.5) / _U32


class Catalog:
    def __init__(self, seed: int, sizes: Sizes, zips: ZipUniverse) -> None:
        self.seed = seed
        self.sizes = sizes
        self.zips = zips
        self._product_step = coprime_step(sizes.products, seed, "product-rank")
        self._seller_step = coprime_step(sizes.sellers, seed, "seller-rank")
        self.offer = lru_cache(maxsize=2_048)(self._offer)

    def product_id(self, index: int) -> str:
        return hex_id(self.seed, "product", index)

    def seller_id(self, index: int) -> str:
        return hex_id(self.seed, "seller", index)

    def pick_product(self, rng: Random) -> int:
        """A product index; a minority of draws favours best sellers (rank 0 sells most)."""
        n = self.sizes.products
        roll = rng.random()
        rank = int(n * rng.random() ** 2.5) if roll < 0.4 else int(n * rng.random())
        a, b = self._product_step
        return (a * rank + b) % n

    def _offer(self, index: int) -> Offer:
        bits = digest_int(self.seed, "offer", index)
        a, b = self._seller_step
        seller_rank = int(self.sizes.sellers * _unit(bits) ** 2)  # a few big sellers
        seller = (a * seller_rank + b) % self.sizes.sellers
        # Lognormal prices: median ~79 BRL, 5% under 17, 5% over 400 (real quantiles).
        price = math.exp(4.37 + 0.98 * _NORMAL.inv_cdf(_unit(bits >> 32)))
        cents = min(max(round(price * 100), 85), 672_000)
        ending = (bits >> 64) & 0xFF
        if ending < 90:
            cents = cents // 100 * 100 + 90  # 49.90
        elif ending < 150:
            cents = cents // 100 * 100 + 99  # 49.99
        elif ending < 180:
            cents = max(cents // 100 * 100, 100)  # 50.00
        freight = math.exp(2.6 + 0.45 * _NORMAL.inv_cdf(_unit(bits >> 96)))
        return Offer(
            product_id=self.product_id(index),
            seller_id=self.seller_id(seller),
            price_cents=cents,
            freight_cents=round(freight * 100),
        )

    def product_rows(self) -> Iterator[Row]:
        rng = stream(self.seed, "products")
        categories = Weighted(
            [(c.name, c.weight) for c in CATEGORIES] + [(None, NO_CATEGORY_WEIGHT)]
        )
        photos = Weighted(PHOTOS)
        a, b = coprime_step(self.sizes.products, self.seed, "product-position")
        for position in range(self.sizes.products):
            index = (a * position + b) % self.sizes.products
            category = categories.pick(rng)
            if index == PRODUCT_WITHOUT_CATEGORY:
                category = None
            elif index == PRODUCT_PC_GAMER:
                category = PC_GAMER
            elif index == PRODUCT_KITCHEN_PORTABLES:
                category = KITCHEN_PORTABLES
            name_length = round(rng.triangular(8, 76, 57))
            description_length = round(min(max(rng.lognormvariate(6.35, 0.8), 4), 3992))
            photo_count = photos.pick(rng)
            weight = round(min(rng.lognormvariate(6.55, 1.6), 40425))
            length = round(min(max(rng.lognormvariate(3.3, 0.45), 7), 105))
            height = round(min(max(rng.lognormvariate(2.5, 0.75), 2), 105))
            width = round(min(max(rng.lognormvariate(3.0, 0.4), 6), 118))
            has_measures = rng.random() >= NO_MEASURES_SHARE
            if index == PRODUCT_WITHOUT_MEASURES:
                has_measures = False
            # Real products without a category also lack name, description and photos.
            described = category is not None
            yield {
                "product_id": self.product_id(index),
                "product_category_name": category,
                "product_name_lenght": str(name_length) if described else None,
                "product_description_lenght": str(description_length) if described else None,
                "product_photos_qty": str(photo_count) if described else None,
                "product_weight_g": str(weight) if has_measures else None,
                "product_length_cm": str(length) if has_measures else None,
                "product_height_cm": str(height) if has_measures else None,
                "product_width_cm": str(width) if has_measures else None,
            }

    def seller_rows(self) -> Iterator[Row]:
        rng = stream(self.seed, "sellers")
        a, b = coprime_step(self.sizes.sellers, self.seed, "seller-position")
        for position in range(self.sizes.sellers):
            index = (a * position + b) % self.sizes.sellers
            zip_prefix = self.zips.seller_zip(rng)
            city = zip_prefix.plain_city
            if rng.random() < COMMA_CITY_SHARE or index == SELLER_WITH_COMMA_CITY:
                city = f"{city}, {zip_prefix.region_info.state_name}, brasil"
            yield {
                "seller_id": self.seller_id(index),
                "seller_zip_code_prefix": zip_prefix.prefix,
                "seller_city": city,
                "seller_state": zip_prefix.state,
            }


def translation_rows() -> Iterator[Row]:
    for category in CATEGORIES:
        if category.english is not None:
            yield {
                "product_category_name": category.name,
                "product_category_name_english": category.english,
            }

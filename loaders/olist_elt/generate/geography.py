"""Zip-code prefixes, their cities and coordinates, and the geolocation file.

The universe of prefixes is built once per (seed, scale) and capped in size, so memory
does not follow the scale. Customers and sellers draw their prefixes from it; a few
"unmapped" prefixes are used by them but never written to geolocation, as in the real
data (about 0.3% of customers).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from random import Random

from olist_elt.generate.common import Sizes, Weighted, stream
from olist_elt.generate.csvout import Row
from olist_elt.generate.reference import BRAZIL_LAT, BRAZIL_LNG, REGIONS, Region

UNMAPPED_SHARE = 0.003  # customers whose prefix geolocation lacks
ACCENTED_SHARE = 0.15  # geolocation rows that spell an accented city with its accents
DUPLICATE_SHARE = 0.2  # geolocation rows repeating the previous row exactly
MOVE_WITHIN_REGION = 0.6  # a customer who moves mostly stays in the same region
JITTER = 0.03  # degrees between a geolocation point and its prefix's centre
# Prefix centres stay this far inside Brazil's box, so that jittered points do too.
_INNER_LAT = (BRAZIL_LAT[0] + JITTER, BRAZIL_LAT[1] - JITTER)
_INNER_LNG = (BRAZIL_LNG[0] + JITTER, BRAZIL_LNG[1] - JITTER)


def unaccented(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@dataclass(frozen=True, slots=True)
class ZipPrefix:
    prefix: str  # 5 characters, leading zeros kept
    city: str  # accented spelling
    plain_city: str  # what customers and sellers carry: lowercase, no accents
    region: int  # index in REGIONS
    lat: float
    lng: float

    @property
    def state(self) -> str:
        return REGIONS[self.region].state

    @property
    def region_info(self) -> Region:
        return REGIONS[self.region]


def _clamp(value: float, bounds: tuple[float, float]) -> float:
    low, high = bounds
    return low if value < low else high if value > high else value


class ZipUniverse:
    """All prefixes of one generated data set, grouped by region."""

    def __init__(self, seed: int, sizes: Sizes) -> None:
        rng = stream(seed, "zip-universe")
        total_customers = sum(region.customers for region in REGIONS)
        region_picker = Weighted([(index, r.customers) for index, r in enumerate(REGIONS)])
        unmapped_per_region = [0] * len(REGIONS)
        for _ in range(sizes.unmapped_prefixes):
            unmapped_per_region[region_picker.pick(rng)] += 1

        self._cities = [_city_picker(region) for region in REGIONS]
        self.by_region: list[tuple[ZipPrefix, ...]] = []
        unmapped: list[ZipPrefix] = []
        for index, region in enumerate(REGIONS):
            capacity = region.zip_high - region.zip_low + 1
            wanted = round(sizes.geolocation_prefixes * region.customers / total_customers)
            mapped_count = min(max(1, wanted), capacity * 8 // 10)
            unmapped_count = min(unmapped_per_region[index], capacity - mapped_count)
            numbers = rng.sample(
                range(region.zip_low, region.zip_high + 1), mapped_count + unmapped_count
            )
            prefixes = [self._prefix(rng, index, number) for number in numbers]
            self.by_region.append(tuple(sorted(prefixes[:mapped_count], key=_prefix_key)))
            unmapped.extend(prefixes[mapped_count:])
        self.unmapped = tuple(sorted(unmapped, key=_prefix_key))
        self.mapped = tuple(sorted((z for zs in self.by_region for z in zs), key=_prefix_key))
        self._customer_regions = region_picker
        self._seller_regions = Weighted(
            [(index, r.sellers) for index, r in enumerate(REGIONS) if r.sellers]
        )
        self._sizes = sizes

    def _prefix(self, rng: Random, region_index: int, number: int) -> ZipPrefix:
        city, city_lat, city_lng = self._cities[region_index].pick(rng)
        return ZipPrefix(
            prefix=f"{number:05d}",
            city=city,
            plain_city=unaccented(city),
            region=region_index,
            lat=_clamp(city_lat + rng.gauss(0, 0.03), _INNER_LAT),
            lng=_clamp(city_lng + rng.gauss(0, 0.03), _INNER_LNG),
        )

    def _pick_in_region(self, rng: Random, region_index: int) -> ZipPrefix:
        prefixes = self.by_region[region_index]
        # Skewed so that a few prefixes hold many customers (the top real one has 142).
        return prefixes[int(len(prefixes) * rng.random() ** 1.6)]

    def customer_zip(self, rng: Random, force_unmapped: bool = False) -> ZipPrefix:
        unmapped_roll = rng.random()
        region_index = self._customer_regions.pick(rng)
        if force_unmapped or unmapped_roll < UNMAPPED_SHARE:
            return self.unmapped[int(rng.random() * len(self.unmapped))]
        return self._pick_in_region(rng, region_index)

    def seller_zip(self, rng: Random) -> ZipPrefix:
        unmapped_roll = rng.random()
        if unmapped_roll < UNMAPPED_SHARE:
            return self.unmapped[int(rng.random() * len(self.unmapped))]
        return self._pick_in_region(rng, self._seller_regions.pick(rng))

    def moved_zip(self, rng: Random, home: ZipPrefix) -> ZipPrefix:
        """A new address for a customer: another prefix, mostly in the same region."""
        region_index = home.region
        if rng.random() >= MOVE_WITHIN_REGION:
            region_index = self._customer_regions.pick(rng)
        for _ in range(8):
            candidate = self._pick_in_region(rng, region_index)
            if candidate.prefix != home.prefix:
                return candidate
        # A region with a single prefix: move to the biggest region instead.
        return self._pick_in_region(rng, 0)

    def geolocation_rows(self, seed: int) -> Iterator[Row]:
        """~rows_per_prefix rows per mapped prefix, exactly sizes.geolocation_rows in all."""
        rng = stream(seed, "geolocation")
        counts = self._row_counts(rng)
        outliers = set(rng.sample(range(len(self.mapped)), min(len(self.mapped), self._outliers)))
        random = rng.random
        for index, (zip_prefix, count) in enumerate(zip(self.mapped, counts, strict=True)):
            prefix = zip_prefix.prefix
            state = zip_prefix.state
            accented = zip_prefix.city if zip_prefix.city != zip_prefix.plain_city else None
            previous: Row | None = None
            for _ in range(count):
                if previous is not None and random() < DUPLICATE_SHARE:
                    yield previous
                    continue
                if index in outliers and previous is None:
                    # Real rows with points in Europe: a mistyped sign or swapped digits.
                    lat, lng = rng.uniform(36.0, 46.0), rng.uniform(-9.0, 12.0)
                else:
                    # Triangular jitter of up to JITTER degrees: two C calls per coordinate.
                    lat = zip_prefix.lat + (random() + random() - 1.0) * JITTER
                    lng = zip_prefix.lng + (random() + random() - 1.0) * JITTER
                city = accented if accented and random() < ACCENTED_SHARE else zip_prefix.plain_city
                previous = {
                    "geolocation_zip_code_prefix": prefix,
                    "geolocation_lat": repr(lat),
                    "geolocation_lng": repr(lng),
                    "geolocation_city": city,
                    "geolocation_state": state,
                }
                yield previous

    @property
    def _outliers(self) -> int:
        return max(2, round(10 * self._sizes.scale))

    def _row_counts(self, rng: Random) -> list[int]:
        """Skewed rows per prefix (lognormal weights) summing exactly to the target."""
        target = self._sizes.geolocation_rows
        weights = [rng.lognormvariate(0.0, 0.9) for _ in self.mapped]
        total = sum(weights)
        counts = [max(1, int(target * w / total)) for w in weights]
        difference = target - sum(counts)
        order = sorted(range(len(counts)), key=lambda k: (-counts[k], k))
        position = 0
        while difference != 0:
            k = order[position % len(order)]
            if difference > 0:
                counts[k] += 1
                difference -= 1
            elif counts[k] > 1:
                counts[k] -= 1
                difference += 1
            position += 1
        return counts


def _city_picker(region: Region) -> Weighted[tuple[str, float, float]]:
    """Zipf-like city sizes around the region's centre; the first city is its capital.

    City positions depend on the name only, so a city stays put whatever the seed.
    """
    cities = []
    for rank, city in enumerate(region.cities):
        city_rng = Random(f"{region.state}:{city}")
        spread = region.spread if rank else region.spread / 8
        lat = region.lat + city_rng.uniform(-spread, spread)
        lng = region.lng + city_rng.uniform(-spread, spread)
        cities.append(((city, lat, lng), 1.0 / (rank + 1) ** 1.2))
    return Weighted(cities)


def _prefix_key(zip_prefix: ZipPrefix) -> str:
    return zip_prefix.prefix

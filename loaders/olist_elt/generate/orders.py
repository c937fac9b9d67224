"""One order and everything that hangs off it: customer, items, payments, reviews.

`OrderFactory.build(i)` is a pure function of (seed, sizes, i): each order owns a random
stream seeded from its index. That is what keeps memory flat: a repeat order of a
customer rebuilds that customer's first order instead of looking it up.

Orders 0 .. unique_customers-1 are each a new customer's first order; the remaining
ones are repeat orders of an earlier customer (some after an address change, some
placed together with the first one and sharing its review). The file order is a
permutation of the indices, so repeats are spread through the files.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from random import Random

from olist_elt.generate import texts
from olist_elt.generate.catalog import QUIRK_PRODUCTS, Catalog
from olist_elt.generate.common import (
    DAY,
    Sizes,
    Weighted,
    coprime_step,
    hex_id,
    indexed_stream,
    midnight,
    money,
    timestamp,
    to_seconds,
)
from olist_elt.generate.csvout import Row
from olist_elt.generate.geography import ZipPrefix, ZipUniverse
from olist_elt.generate.reference import (
    HOURLY_ORDERS,
    INSTALLMENTS,
    ITEMS_PER_ORDER,
    MONTHLY_ORDERS,
    STATUS_WEIGHTS,
)

HOUR = 3600
# After this instant the real data only has canceled orders.
CUTOFF = to_seconds(datetime(2018, 9, 1))
LAST_REPEAT_PURCHASE = to_seconds(datetime(2018, 8, 31, 23, 59, 59))

MOVER_SHARE = 0.095  # of customers: a repeat order of theirs ships to a new address
LOYAL_SHARE = 0.25  # of repeat orders: by a customer of the loyal pool
LOYAL_POOL = 0.01  # of customers
FREQUENT_SHARE = 0.004  # of repeat orders: by the one most frequent customer
TOGETHER_SHARE = 0.12  # of repeat orders: placed with the first and reviewed once for both
LATE_SHARE = 0.08  # of delivered orders: delivered after the estimated date
NO_REVIEW_SHARE = 0.0077
TWO_REVIEWS_SHARE = 0.0054
NO_PAYMENT_SHARE = 0.00001  # one real order has no payment row
NOT_DEFINED_SHARE = 0.02  # of canceled orders without items: a 0.00 "not_defined" payment
ZERO_VOUCHER_SHARE = 0.0015  # of orders paying with vouchers: an extra 0.00 voucher
INTEREST_SHARE = 0.04  # of instalment card payments: paid more than the items cost
FREE_FREIGHT_SHARE = 0.002
SAME_PRODUCT_SHARE = 0.7  # a further item of an order repeats the previous product

# Orders with a fixed quirk, so that every scale has at least one of each. They are
# first orders (index < unique_customers), which Sizes guarantees for 0..16.
MOVER = 0
FORCED_STATUS = {
    MOVER: "delivered",
    1: "created",
    2: "approved",
    3: "canceled",  # never approved, no items, a not_defined payment
    4: "canceled",  # approved and handed to the carrier, then canceled
    5: "unavailable",
    6: "shipped",
    7: "invoiced",
    8: "processing",
    9: "delivered",
    10: "delivered",
    11: "delivered",
    12: "delivered",
    13: "delivered",
    14: "delivered",
    15: "delivered",
    16: "delivered",
}
CANCELED_BEFORE_APPROVAL = 3
CANCELED_AT_CARRIER = 4
TWO_REVIEWS = 9
UNMAPPED_CUSTOMER = 10
DELIVERED_LATE = 11
ZERO_VOUCHER = 12
CARD_AND_VOUCHER = 13
MULTILINE_COMMENT = 14
SHARED_REVIEW = 15
QUIRK_PRODUCTS_ORDER = 16
FREQUENT_CUSTOMER = 17

ON_TIME_SCORES = Weighted([(5, 62), (4, 21), (3, 8), (2, 2.5), (1, 6.5)])
LATE_SCORES = Weighted([(5, 20), (4, 12), (3, 12), (2, 9), (1, 47)])
UNDELIVERED_SCORES = Weighted([(5, 14), (4, 8), (3, 10), (2, 8), (1, 60)])
MESSAGE_SHARE = {1: 0.74, 2: 0.71, 3: 0.47, 4: 0.31, 5: 0.36}
TITLE_SHARE = 0.12

# Payment plans and their shares of real orders.
PAYMENT_PLANS = Weighted(
    [
        ("credit_card", 73972),
        ("boleto", 19784),
        ("debit_card", 1526),
        ("vouchers", 1650),
        ("card_and_vouchers", 2250),
        ("two_cards", 287),
    ]
)
VOUCHERS_ALONE = Weighted(
    [
        (1, 1194),
        (2, 224),
        (3, 86),
        (4, 46),
        (5, 19),
        (6, 15),
        (7, 13),
        (8, 7),
        (10, 5),
        (12, 3),
        (15, 2),
        (19, 1),
    ]
)
VOUCHERS_WITH_CARD = Weighted(
    [
        (1, 1869),
        (2, 215),
        (3, 62),
        (4, 33),
        (5, 21),
        (6, 15),
        (8, 7),
        (10, 5),
        (13, 3),
        (21, 1),
        (25, 1),
    ]
)
SHIPPING_LIMIT_DAYS = Weighted([(3, 5), (4, 10), (5, 15), (6, 50), (7, 12), (8, 8)])


@dataclass
class BuiltOrder:
    """The rows of one order, plus what a repeat order of the same customer reuses."""

    order: Row
    customer: Row
    items: list[Row] = field(default_factory=list)
    payments: list[Row] = field(default_factory=list)
    reviews: list[Row] = field(default_factory=list)
    purchased: int = 0
    unique_id: str = ""
    home: ZipPrefix | None = None
    moved: ZipPrefix | None = None
    is_mover: bool = False


@dataclass
class _Timeline:
    purchased: int
    approved: int | None
    carrier: int | None
    delivered: int | None
    estimated: int  # midnight of the estimated delivery date
    late: bool


class OrderFactory:
    def __init__(self, seed: int, sizes: Sizes, zips: ZipUniverse, catalog: Catalog) -> None:
        self.seed = seed
        self.sizes = sizes
        self.zips = zips
        self.catalog = catalog
        self._months = Weighted(
            [
                ((to_seconds(datetime(y, m, 1)), _month_seconds(y, m)), n)
                for y, m, n in MONTHLY_ORDERS
            ]
        )
        self._hours = Weighted(list(enumerate(HOURLY_ORDERS)))
        self._statuses = Weighted(STATUS_WEIGHTS)
        self._items = Weighted(ITEMS_PER_ORDER)
        self._installments = Weighted(INSTALLMENTS)
        self._permutation = coprime_step(sizes.orders, seed, "order-position")

    def index_at(self, position: int) -> int:
        """The order written at a given line of the files."""
        a, b = self._permutation
        return (a * position + b) % self.sizes.orders

    # -- the order -------------------------------------------------------------------

    def build(self, index: int) -> BuiltOrder:
        seed = self.seed
        rng = indexed_stream(seed, "order", index)
        order_id = hex_id(seed, "order", index)
        customer_id = hex_id(seed, "customer", index)
        first_order = index < self.sizes.unique_customers

        home = self.zips.customer_zip(rng, force_unmapped=index == UNMAPPED_CUSTOMER)
        moved = self.zips.moved_zip(rng, home)
        is_mover = rng.random() < MOVER_SHARE or index == MOVER
        purchased = self._purchase_time(rng)
        shared_reviews: list[Row] = []
        if first_order:
            unique_id = hex_id(seed, "customer_unique", index)
            address = home
        else:
            base, together = self._first_order_of(rng, index)
            unique_id = base.unique_id
            if together:
                purchased = base.purchased + rng.randint(0, 300)
                address = base.home
                shared_reviews = [{**review, "order_id": order_id} for review in base.reviews[:1]]
            else:
                gap = HOUR + int(rng.expovariate(1 / (90 * DAY)))
                purchased = max(
                    base.purchased + HOUR, min(base.purchased + gap, LAST_REPEAT_PURCHASE)
                )
                address = base.moved if base.is_mover else base.home
        assert address is not None

        status = self._statuses.pick(rng)
        if first_order and index in FORCED_STATUS:
            status = FORCED_STATUS[index]
            if purchased >= CUTOFF:
                purchased -= 60 * DAY  # keep the late-2018 months for canceled orders
        elif purchased >= CUTOFF:
            status = "canceled"
        plan = PAYMENT_PLANS.pick(rng)
        if index == ZERO_VOUCHER:
            plan = "vouchers"
        elif index == CARD_AND_VOUCHER:
            plan = "card_and_vouchers"
        timeline = self._timeline(rng, index, status, plan, purchased, address)

        items, items_cents = self._order_items(rng, index, order_id, status, timeline, address)
        payments = self._payments(rng, index, order_id, status, plan, items, items_cents)
        reviews = shared_reviews or self._reviews(rng, index, order_id, timeline)

        return BuiltOrder(
            order={
                "order_id": order_id,
                "customer_id": customer_id,
                "order_status": status,
                "order_purchase_timestamp": timestamp(timeline.purchased),
                "order_approved_at": timestamp(timeline.approved),
                "order_delivered_carrier_date": timestamp(timeline.carrier),
                "order_delivered_customer_date": timestamp(timeline.delivered),
                "order_estimated_delivery_date": timestamp(timeline.estimated),
            },
            customer={
                "customer_id": customer_id,
                "customer_unique_id": unique_id,
                "customer_zip_code_prefix": address.prefix,
                "customer_city": address.plain_city,
                "customer_state": address.state,
            },
            items=items,
            payments=payments,
            reviews=reviews,
            purchased=purchased,
            unique_id=unique_id,
            home=home,
            moved=moved,
            is_mover=is_mover,
        )

    def _first_order_of(self, rng: Random, index: int) -> tuple[BuiltOrder, bool]:
        """The first order of the customer a repeat order belongs to, and whether the two
        were placed together."""
        repeat = index - self.sizes.unique_customers
        roll = rng.random()
        position = rng.random()
        together = rng.random() < TOGETHER_SHARE
        if repeat == 0:
            first, together = MOVER, False
        elif repeat == 1:
            first, together = SHARED_REVIEW, True
        elif roll < LOYAL_SHARE:
            # A quarter of repeat orders come from 1% of customers, and one customer
            # comes back over and over (the real record is 17 orders).
            first = (
                FREQUENT_CUSTOMER
                if roll < FREQUENT_SHARE
                else int(self.sizes.unique_customers * LOYAL_POOL * position)
            )
        else:
            first = int(self.sizes.unique_customers * position)
        return self.build(first), together

    def _purchase_time(self, rng: Random) -> int:
        month_start, month_length = self._months.pick(rng)
        day = int(rng.random() * (month_length // DAY))
        return month_start + day * DAY + self._hours.pick(rng) * HOUR + rng.randrange(HOUR)

    def _timeline(
        self,
        rng: Random,
        index: int,
        status: str,
        plan: str,
        purchased: int,
        address: ZipPrefix,
    ) -> _Timeline:
        approved: int | None = None
        if status != "created":
            never_approved = rng.random() < 0.23 and status == "canceled"
            if index == CANCELED_BEFORE_APPROVAL:
                never_approved = True
            elif index == CANCELED_AT_CARRIER:
                never_approved = False
            if not never_approved:
                approved = purchased + self._approval_delay(rng, plan)

        carrier: int | None = None
        handed_over = status in ("delivered", "shipped") or (
            status == "canceled" and rng.random() < 0.12
        )
        if index == CANCELED_AT_CARRIER:
            handed_over = True
        if handed_over and approved is not None:
            # Median 44 h from approval to the carrier, with a long tail.
            hours = math.exp(math.log(44) + 0.9 * rng.gauss(0, 1))
            carrier = approved + HOUR + int(min(hours, 60 * 24) * HOUR)

        delivered: int | None = None
        late = False
        if status == "delivered" and carrier is not None:
            transit_days = address.region_info.transit_days * math.exp(0.5 * rng.gauss(0, 1))
            delivered = carrier + int(max(transit_days, 0.8) * DAY)
            late = rng.random() < LATE_SHARE or index == DELIVERED_LATE
            if late:
                estimated = midnight(delivered) - DAY * rng.randint(1, 12)
                estimated = max(estimated, midnight(purchased) + 3 * DAY)
                if estimated >= midnight(delivered):
                    # A quick delivery promised even quicker: the customer still waits.
                    delivered = estimated + DAY + rng.randrange(DAY)
            else:
                estimated = midnight(delivered) + DAY * rng.randint(1, 25)
        else:
            estimated = midnight(purchased) + DAY * round(rng.triangular(6, 54, 22))
        return _Timeline(purchased, approved, carrier, delivered, estimated, late)

    @staticmethod
    def _approval_delay(rng: Random, plan: str) -> int:
        if plan == "boleto":
            # A boleto is approved once the bank slip is paid, a day or three later.
            return int(rng.uniform(0.5, 3.0) * DAY)
        roll = rng.random()
        if roll < 0.7:
            return rng.randint(300, 1800)
        if roll < 0.95:
            return rng.randint(HOUR, 24 * HOUR)
        return rng.randint(DAY, 4 * DAY)

    # -- items ------------------------------------------------------------------------

    def _order_items(
        self,
        rng: Random,
        index: int,
        order_id: str,
        status: str,
        timeline: _Timeline,
        address: ZipPrefix,
    ) -> tuple[list[Row], int]:
        roll = rng.random()
        if status == "created":
            has_items = False
        elif status == "unavailable":
            has_items = roll < 0.01
        elif status == "canceled":
            has_items = roll < 0.74
        else:
            has_items = True
        if index == CANCELED_BEFORE_APPROVAL:
            has_items = False
        elif index == CANCELED_AT_CARRIER:
            has_items = True
        if not has_items:
            return [], 0

        count = self._items.pick(rng)
        if index == QUIRK_PRODUCTS_ORDER:
            products = list(QUIRK_PRODUCTS)
        else:
            products = [self.catalog.pick_product(rng)]
            for _ in range(count - 1):
                same = rng.random() < SAME_PRODUCT_SHARE
                products.append(products[-1] if same else self.catalog.pick_product(rng))
        shipping_limit = timestamp(
            (timeline.approved or timeline.purchased) + DAY * SHIPPING_LIMIT_DAYS.pick(rng)
        )
        distance_factor = 0.8 + address.region_info.transit_days / 20
        free_freight = rng.random() < FREE_FREIGHT_SHARE
        rows: list[Row] = []
        total = 0
        for position, product in enumerate(products, start=1):
            offer = self.catalog.offer(product)
            freight = 0 if free_freight else round(offer.freight_cents * distance_factor)
            total += offer.price_cents + freight
            rows.append(
                {
                    "order_id": order_id,
                    "order_item_id": str(position),
                    "product_id": offer.product_id,
                    "seller_id": offer.seller_id,
                    "shipping_limit_date": shipping_limit,
                    "price": money(offer.price_cents),
                    "freight_value": money(freight),
                }
            )
        return rows, total

    # -- payments ---------------------------------------------------------------------

    def _payments(
        self,
        rng: Random,
        index: int,
        order_id: str,
        status: str,
        plan: str,
        items: list[Row],
        items_cents: int,
    ) -> list[Row]:
        # Orders without items were still paid for (unavailable ones were refunded later).
        total = items_cents or round(math.exp(4.6 + 0.8 * rng.gauss(0, 1)) * 100)
        roll = rng.random()
        if roll < NO_PAYMENT_SHARE and index not in FORCED_STATUS:
            return []
        not_defined = status == "canceled" and not items and rng.random() < NOT_DEFINED_SHARE
        if not_defined or index == CANCELED_BEFORE_APPROVAL:
            parts = [("not_defined", 1, 0)]
        elif plan == "credit_card":
            parts = [("credit_card", *self._card(rng, total))]
        elif plan in ("boleto", "debit_card"):
            parts = [(plan, 1, total)]
        elif plan == "two_cards":
            first, second = _split(rng, total, 2)
            parts = [
                ("credit_card", *self._card(rng, first)),
                ("credit_card", *self._card(rng, second)),
            ]
        elif plan == "vouchers":
            parts = [("voucher", 1, v) for v in _split(rng, total, VOUCHERS_ALONE.pick(rng))]
        else:
            vouchers = VOUCHERS_WITH_CARD.pick(rng)
            voucher_cents = int(total * rng.uniform(0.05, 0.6))
            card = ("credit_card", *self._card(rng, total - voucher_cents))
            parts = [("voucher", 1, v) for v in _split(rng, voucher_cents, vouchers)]
            if rng.random() < 0.5:
                parts.insert(0, card)
            else:
                parts.append(card)
        has_voucher = any(kind == "voucher" for kind, _, _ in parts)
        if has_voucher and (rng.random() < ZERO_VOUCHER_SHARE or index == ZERO_VOUCHER):
            parts.append(("voucher", 1, 0))
        return [
            {
                "order_id": order_id,
                "payment_sequential": str(sequential),
                "payment_type": kind,
                "payment_installments": str(installments),
                "payment_value": money(cents),
            }
            for sequential, (kind, installments, cents) in enumerate(parts, start=1)
        ]

    def _card(self, rng: Random, cents: int) -> tuple[int, int]:
        installments = self._installments.pick(rng)
        if installments >= 2 and rng.random() < INTEREST_SHARE:
            cents = round(cents * (1 + 0.01 * installments))  # the buyer paid interest
        return installments, cents

    # -- reviews ----------------------------------------------------------------------

    def _reviews(self, rng: Random, index: int, order_id: str, timeline: _Timeline) -> list[Row]:
        roll = rng.random()
        if index == TWO_REVIEWS:
            count = 2
        elif index in (MULTILINE_COMMENT, SHARED_REVIEW):
            count = 1
        elif roll < NO_REVIEW_SHARE:
            count = 0
        elif roll < NO_REVIEW_SHARE + TWO_REVIEWS_SHARE:
            count = 2
        else:
            count = 1
        if count == 0:
            return []

        first_day = midnight(timeline.purchased) + DAY
        if timeline.delivered is not None:
            delivered_day = midnight(timeline.delivered)
            day_roll = rng.random()
            if day_roll < 0.85:
                created = delivered_day + DAY
            elif day_roll < 0.96:
                created = delivered_day + DAY * rng.randint(0, 5)
            else:  # the survey went out at the estimated date, before the parcel arrived
                created = delivered_day - DAY * rng.randint(1, 15)
            scores = LATE_SCORES if timeline.late else ON_TIME_SCORES
        else:
            created = timeline.estimated + DAY * rng.randint(-3, 7)
            scores = UNDELIVERED_SCORES
        created = max(created, first_day)

        rows: list[Row] = []
        for number in range(count):
            if number:
                created += DAY * rng.randint(1, 20)
            score = scores.pick(rng)
            message = texts.comment(rng, score) if rng.random() < MESSAGE_SHARE[score] else None
            if index == MULTILINE_COMMENT:
                message = texts.comment(rng, score).rstrip() + "\r\n" + texts.comment(rng, score)
            title = texts.title(rng, score) if rng.random() < TITLE_SHARE else None
            hours = math.exp(math.log(38) + 1.0 * rng.gauss(0, 1))
            answered = created + int(min(max(hours, 0.5), 24 * 30) * HOUR)
            rows.append(
                {
                    "review_id": hex_id(self.seed, f"review{number or ''}", index),
                    "order_id": order_id,
                    "review_score": str(score),
                    "review_comment_title": title,
                    "review_comment_message": message,
                    "review_creation_date": timestamp(created),
                    "review_answer_timestamp": timestamp(answered),
                }
            )
        return rows


def _split(rng: Random, cents: int, parts: int) -> list[int]:
    """`cents` split into `parts` amounts that add up exactly (some may be 0 if tiny)."""
    if parts <= 1:
        return [cents]
    if cents < parts:
        return [cents] + [0] * (parts - 1)
    cuts = sorted(rng.sample(range(1, cents), parts - 1))
    return [b - a for a, b in zip([0, *cuts], [*cuts, cents], strict=True)]


def _month_seconds(year: int, month: int) -> int:
    following = datetime(year + month // 12, month % 12 + 1, 1)
    return to_seconds(following) - to_seconds(datetime(year, month, 1))

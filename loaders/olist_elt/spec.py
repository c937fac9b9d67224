"""The one description of the nine Olist files.

The loader validates headers and creates raw tables from it, the generator writes
files from it, and tests/python/test_spec_drift.py checks that the dbt sources and
staging models agree with it. Change a file's shape here and nowhere else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Logical staging types. Staging casts each raw text column to one of these;
# the drift test maps them to what each engine reports.
STRING = "string"
INTEGER = "integer"
MONEY = "money"  # numeric(12, 2): BRL amounts
FLOAT = "float"  # coordinates
TIMESTAMP = "timestamp"
DATE = "date"

STAGING_TYPES = (STRING, INTEGER, MONEY, FLOAT, TIMESTAMP, DATE)


@dataclass(frozen=True)
class Column:
    """A column as it appears in the file, and what staging makes of it."""

    name: str  # header name in the file, typos included
    staged_as: str  # column name in the staging model
    type: str  # one of STAGING_TYPES

    def __post_init__(self) -> None:
        if self.type not in STAGING_TYPES:
            raise ValueError(f"column {self.name}: unknown type {self.type!r}")


@dataclass(frozen=True)
class OlistFile:
    """One of the nine CSV files of the Kaggle dataset."""

    file_name: str  # e.g. olist_orders_dataset.csv
    table: str  # raw table name, in the raw schema
    staging_model: str  # dbt staging model built from it
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]  # raw column names; empty when the file has none

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    @property
    def stem(self) -> str:
        return self.file_name.removesuffix(".csv")

    @property
    def name_pattern(self) -> re.Pattern[str]:
        """Names a copy of the file may have: ``<stem>.csv[.gz]`` or a part
        ``<stem>_part<N>.csv[.gz]`` (group 1: N, group 2: ``.gz``)."""
        return re.compile(rf"^{re.escape(self.stem)}(?:_part(\d+))?\.csv(\.gz)?$")

    def part_name(self, number: int, parts: int, gzip: bool) -> str:
        """Part ``number`` of ``parts``, zero-padded so that a listing sorts in part order."""
        suffix = ".csv.gz" if gzip else ".csv"
        return f"{self.stem}_part{number:0{len(str(parts))}d}{suffix}"


def _col(name: str, type_: str = STRING, staged_as: str | None = None) -> Column:
    return Column(name=name, staged_as=staged_as or name, type=type_)


OLIST_FILES: tuple[OlistFile, ...] = (
    OlistFile(
        file_name="olist_customers_dataset.csv",
        table="customers",
        staging_model="stg_olist__customers",
        columns=(
            _col("customer_id"),
            _col("customer_unique_id"),
            _col("customer_zip_code_prefix"),
            _col("customer_city"),
            _col("customer_state"),
        ),
        primary_key=("customer_id",),
    ),
    OlistFile(
        file_name="olist_geolocation_dataset.csv",
        table="geolocation",
        staging_model="stg_olist__geolocations",
        columns=(
            _col("geolocation_zip_code_prefix", staged_as="zip_code_prefix"),
            _col("geolocation_lat", FLOAT, "latitude"),
            _col("geolocation_lng", FLOAT, "longitude"),
            _col("geolocation_city", staged_as="city"),
            _col("geolocation_state", staged_as="state"),
        ),
        # Many rows per prefix, exact duplicates included: deduplicated downstream.
        primary_key=(),
    ),
    OlistFile(
        file_name="olist_order_items_dataset.csv",
        table="order_items",
        staging_model="stg_olist__order_items",
        columns=(
            _col("order_id"),
            _col("order_item_id", INTEGER),
            _col("product_id"),
            _col("seller_id"),
            _col("shipping_limit_date", TIMESTAMP, "shipping_limit_at"),
            _col("price", MONEY, "price_brl"),
            _col("freight_value", MONEY, "freight_value_brl"),
        ),
        primary_key=("order_id", "order_item_id"),
    ),
    OlistFile(
        file_name="olist_order_payments_dataset.csv",
        table="order_payments",
        staging_model="stg_olist__order_payments",
        columns=(
            _col("order_id"),
            _col("payment_sequential", INTEGER),
            _col("payment_type"),
            _col("payment_installments", INTEGER, "count_installments"),
            _col("payment_value", MONEY, "payment_value_brl"),
        ),
        primary_key=("order_id", "payment_sequential"),
    ),
    OlistFile(
        file_name="olist_order_reviews_dataset.csv",
        table="order_reviews",
        staging_model="stg_olist__order_reviews",
        columns=(
            _col("review_id"),
            _col("order_id"),
            _col("review_score", INTEGER),
            _col("review_comment_title"),
            _col("review_comment_message"),
            _col("review_creation_date", DATE, "review_created_date"),
            _col("review_answer_timestamp", TIMESTAMP, "review_answered_at"),
        ),
        # review_id alone repeats (34 ids in the real sample cover several orders).
        primary_key=("review_id", "order_id"),
    ),
    OlistFile(
        file_name="olist_orders_dataset.csv",
        table="orders",
        staging_model="stg_olist__orders",
        columns=(
            _col("order_id"),
            _col("customer_id"),
            _col("order_status"),
            _col("order_purchase_timestamp", TIMESTAMP, "purchased_at"),
            _col("order_approved_at", TIMESTAMP, "approved_at"),
            _col("order_delivered_carrier_date", TIMESTAMP, "delivered_to_carrier_at"),
            _col("order_delivered_customer_date", TIMESTAMP, "delivered_to_customer_at"),
            _col("order_estimated_delivery_date", DATE, "estimated_delivery_date"),
        ),
        primary_key=("order_id",),
    ),
    OlistFile(
        file_name="olist_products_dataset.csv",
        table="products",
        staging_model="stg_olist__products",
        columns=(
            _col("product_id"),
            _col("product_category_name", staged_as="category_name"),
            # The source misspells "length"; staging fixes the names.
            _col("product_name_lenght", INTEGER, "product_name_length"),
            _col("product_description_lenght", INTEGER, "product_description_length"),
            _col("product_photos_qty", INTEGER, "count_photos"),
            _col("product_weight_g", INTEGER),
            _col("product_length_cm", INTEGER),
            _col("product_height_cm", INTEGER),
            _col("product_width_cm", INTEGER),
        ),
        primary_key=("product_id",),
    ),
    OlistFile(
        file_name="olist_sellers_dataset.csv",
        table="sellers",
        staging_model="stg_olist__sellers",
        columns=(
            _col("seller_id"),
            _col("seller_zip_code_prefix"),
            _col("seller_city"),
            _col("seller_state"),
        ),
        primary_key=("seller_id",),
    ),
    OlistFile(
        file_name="product_category_name_translation.csv",
        table="product_category_name_translation",
        staging_model="stg_olist__product_category_translations",
        columns=(
            _col("product_category_name", staged_as="category_name"),
            _col("product_category_name_english", staged_as="category_name_english"),
        ),
        primary_key=("product_category_name",),
    ),
)

# Columns the loader adds to every raw table, after the file's own columns. _ingest_date is
# the day of the daily drop a row came from (olist load --drops), null for a full load.
LINEAGE_COLUMNS: tuple[str, ...] = ("_source_file", "_loaded_at", "_load_id", "_ingest_date")

# A daily drop is the folder (or S3 prefix) <root>/ingest_date=YYYY-MM-DD/ holding the files
# of the rows created or changed that day (olist replay writes them, olist load --drops reads).
DROP_FOLDER_PREFIX = "ingest_date="

DEFAULT_RAW_SCHEMA = "raw_olist"


def by_table(table: str) -> OlistFile:
    for olist_file in OLIST_FILES:
        if olist_file.table == table:
            return olist_file
    known = ", ".join(f.table for f in OLIST_FILES)
    raise KeyError(f"unknown Olist table {table!r}; expected one of: {known}")

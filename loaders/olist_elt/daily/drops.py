"""Daily drops: ``<root>/ingest_date=YYYY-MM-DD/<olist file>.csv[.gz]``, in a folder or on S3.

A drop holds the rows created or changed on its day (olist replay writes them). It holds
only the files that have rows that day: a table without a file in a drop has nothing new
that day, so "missing" is not an error here as it is for a full load. Within a drop the
usual rules for a table's files apply (``.csv`` or ``.csv.gz``, or parts; see sources.py).

Other entries of the root (files, folders not named ``ingest_date=...``) are ignored; a
folder named ``ingest_date=`` with something that is not a date is an error, so that a
typo does not silently leave a day out.
"""

from __future__ import annotations

import logging
import os
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from olist_elt.errors import SourceError
from olist_elt.load.sources import LocalSource, S3Source, Source, SourceFile, s3_client
from olist_elt.spec import DROP_FOLDER_PREFIX

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Drop:
    """The files of one day."""

    ingest_date: date
    source: Source  # the drop's folder or prefix, listing only its own files


def folder_name(day: date) -> str:
    return f"{DROP_FOLDER_PREFIX}{day.isoformat()}"


def parse_folder_name(name: str, where: str) -> date | None:
    """The day of a drop folder name; None for a name that is not a drop's."""
    if not name.startswith(DROP_FOLDER_PREFIX):
        return None
    text = name.removeprefix(DROP_FOLDER_PREFIX)
    try:
        day = date.fromisoformat(text)
    except ValueError:
        day = None
    if day is None or len(text) != 10:  # fromisoformat also takes 20170105
        raise SourceError(
            f"{where}/{name}: not a drop folder name: expected {DROP_FOLDER_PREFIX}YYYY-MM-DD"
        )
    return day


def parse_day(text: str) -> date:
    """A YYYY-MM-DD day; ValueError says what was expected."""
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
    except ValueError:
        pass
    raise ValueError(f"not a date: {text!r} (expected YYYY-MM-DD)")


def list_drops(root: str, endpoint_url: str | None = None) -> list[Drop]:
    """Every drop under ``root`` (a folder or ``s3://bucket/prefix/``), oldest first."""
    if root.startswith("s3://"):
        return _s3_drops(root, endpoint_url)
    if "://" in root:
        raise SourceError(
            f"unsupported drops root {root!r}: expected a folder or s3://bucket/prefix/"
        )
    return _local_drops(Path(root))


def _local_drops(root: Path) -> list[Drop]:
    root = root.absolute()
    if not root.is_dir():
        raise SourceError(f"drops folder not found: {root}")
    drops = []
    with os.scandir(root) as entries:
        for entry in entries:
            if not entry.is_dir():
                continue
            day = parse_folder_name(entry.name, str(root))
            if day is None:
                log.debug("%s: not a drop folder, ignored", entry.path)
                continue
            drops.append(Drop(day, LocalSource(root / entry.name)))
    return sorted(drops, key=lambda d: d.ingest_date)


def _s3_drops(root: str, endpoint_url: str | None) -> list[Drop]:
    """One listing of the whole root (not one per drop): hundreds of days cost a few requests."""
    client = s3_client(endpoint_url)
    lister = S3Source(root, client=client)
    by_folder: dict[str, list[SourceFile]] = defaultdict(list)
    for item in lister.list_objects(delimited=False):
        folder, slash, name = item.name.partition("/")
        if not slash or not name or "/" in name:  # in the root itself, a folder, or deeper
            continue
        by_folder[folder].append(
            SourceFile(
                uri=item.uri,
                name=name,
                size=item.size,
                modified_at=item.modified_at,
                etag=item.etag,
            )
        )
    drops = []
    for folder, files in by_folder.items():
        day = parse_folder_name(folder, lister.uri.rstrip("/"))
        if day is None:
            continue
        uri = f"{lister.uri}{folder}/"
        drops.append(Drop(day, S3Source(uri, client=client, listing=files)))
    return sorted(drops, key=lambda d: d.ingest_date)

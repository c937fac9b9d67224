"""Where the nine files come from: a local folder or ``s3://bucket/prefix/``.

Which files make a table (one rule for both kinds of source, non-recursive):

- ``<stem>.csv`` or ``<stem>.csv.gz`` (``stem`` as in spec, e.g. ``olist_orders_dataset``), or
- parts ``<stem>_part<N>.csv[.gz]`` (loaded in the order of N; each part has the header).

Anything else is an error naming what was found: no match (missing file), both
``.csv`` and ``.csv.gz``, a whole file beside parts, parts mixing compressions, or two
parts with the same number (``_part1`` and ``_part01``).
The loader never guesses which copy is current.

S3 goes through boto3's standard credential chain; ``endpoint_url`` (or the
``AWS_ENDPOINT_URL`` variable, which boto3 reads itself) points it at another
S3-compatible server. boto3 is imported only for S3 sources.

S3 faults: requests that fail (503 SlowDown, 500s, resets before a response) are retried
by botocore's ``standard`` retry mode with exponential backoff and jitter, a bounded
number of attempts (``OLIST_S3_MAX_ATTEMPTS``, default 5). A body that breaks off part
way (reset, truncated, or shorter than the listing's size) is resumed from the byte
where it stopped with a ranged GET pinned to the listed ETag (``If-Match``), within the
same bound; the bytes read must add up to the listed size, else the file fails with a
message naming the object, and the table keeps its previous contents.
"""

from __future__ import annotations

import hashlib
import logging
import os
import random
import time
import zlib
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from olist_elt.errors import MissingFileError, SourceError
from olist_elt.load.csvcheck import CHUNK_SIZE
from olist_elt.spec import OlistFile

log = logging.getLogger(__name__)

_GZIP_WBITS = 16 + zlib.MAX_WBITS
_EPOCH = datetime(1970, 1, 1)
MAX_ATTEMPTS_ENV = "OLIST_S3_MAX_ATTEMPTS"
DEFAULT_MAX_ATTEMPTS = 5
# Resuming a broken download waits RESUME_BACKOFF_SECONDS * 2**attempt (with jitter).
RESUME_BACKOFF_SECONDS = 0.2


@dataclass(frozen=True)
class SourceFile:
    """One file of a source, as listed (before reading it)."""

    uri: str  # absolute path for local files, s3://bucket/key for S3
    name: str
    size: int
    modified_at: datetime | None  # UTC, naive (stored in timestamp columns)
    etag: str | None = None  # S3 only

    @property
    def gzip(self) -> bool:
        return self.name.endswith(".gz")


@dataclass(frozen=True)
class TableFiles:
    """The file(s) that make one table."""

    spec: OlistFile
    files: tuple[SourceFile, ...]

    @property
    def uri(self) -> str:
        if len(self.files) == 1:
            return self.files[0].uri
        first = self.files[0].uri
        suffix = ".csv.gz" if self.gzip else ".csv"
        return f"{first[: first.rindex('/') + 1]}{self.spec.stem}_part*{suffix}"

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def gzip(self) -> bool:
        return self.files[0].gzip

    @property
    def modified_at(self) -> datetime | None:
        stamps = [f.modified_at for f in self.files]
        return None if None in stamps else max(stamps)  # type: ignore[type-var]

    @property
    def etag_checksum(self) -> str | None:
        """For S3: the ETag (or a digest of the parts' ETags); None for local files."""
        etags = [f.etag for f in self.files]
        if any(etag is None for etag in etags):
            return None
        if len(etags) == 1:
            return etags[0]
        return combine_checksums(self.files, etags)  # type: ignore[arg-type]


def combine_checksums(files: Sequence[SourceFile], checksums: Sequence[str]) -> str:
    """One checksum for a table made of parts."""
    digest = hashlib.sha256()
    for source_file, checksum in zip(files, checksums, strict=True):
        digest.update(f"{source_file.name} {checksum}\n".encode())
    return "parts:" + digest.hexdigest()


class Source(ABC):
    """A place holding the files; knows how to list and read them."""

    uri: str

    @abstractmethod
    def list_files(self) -> list[SourceFile]: ...

    @abstractmethod
    def iter_raw(self, source_file: SourceFile) -> Iterator[bytes]:
        """The file's bytes as stored (still gzip-compressed for .gz), in chunks."""

    # Names of the folders (S3: common prefixes) directly in the source, seen by list_files.
    folders: tuple[str, ...] = ()

    def resolve(self, specs: Iterable[OlistFile]) -> dict[str, TableFiles | SourceError]:
        """Match the listing against the spec: each table's files, or why there are none."""
        listing = self.list_files()
        return {spec.table: _match(spec, listing, self.uri, self.folders) for spec in specs}

    def iter_text(self, source_file: SourceFile) -> Iterator[bytes]:
        """The file's CSV bytes (decompressed when .gz), in chunks."""
        raw = self.iter_raw(source_file)
        return decompressed(raw, source_file.uri) if source_file.gzip else raw


def _match(
    spec: OlistFile, listing: Sequence[SourceFile], where: str, folders: Sequence[str] = ()
) -> TableFiles | SourceError:
    pattern = spec.name_pattern
    whole: list[SourceFile] = []
    parts: list[tuple[int, SourceFile]] = []
    for source_file in listing:
        if match := pattern.match(source_file.name):
            if match.group(1) is None:
                whole.append(source_file)
            else:
                parts.append((int(match.group(1)), source_file))
    names = ", ".join(sorted(f.name for f in whole + [p for _, p in parts]))
    if not whole and not parts and (named := [f for f in folders if pattern.match(f)]):
        return SourceError(
            f"{where.rstrip('/')}/{named[0]}/ is a folder, not a file: expected {spec.file_name} "
            f"(or .gz, or parts) as a file directly in {where}"
        )
    if not whole and not parts:
        return MissingFileError(
            f"missing file for table {spec.table}: expected {spec.file_name} or "
            f"{spec.file_name}.gz (or parts {spec.stem}_part<N>.csv[.gz]) in {where}"
        )
    if len(whole) > 1 or (whole and parts):
        return SourceError(
            f"ambiguous files for table {spec.table} in {where}: {names}; keep exactly one "
            f"of {spec.file_name}, {spec.file_name}.gz or a set of parts"
        )
    if whole:
        return TableFiles(spec=spec, files=(whole[0],))
    if len({f.gzip for _, f in parts}) > 1:
        return SourceError(
            f"parts of table {spec.table} mix compressed and plain files in {where}: {names}"
        )
    numbers = [number for number, _ in parts]
    if twice := sorted({n for n in numbers if numbers.count(n) > 1}):
        same = ", ".join(sorted(f.name for n, f in parts if n == twice[0]))
        return SourceError(
            f"parts of table {spec.table} in {where} share part number {twice[0]}: {same}; "
            "keep one file per part number (a set left over from an earlier split?)"
        )
    return TableFiles(spec=spec, files=tuple(f for _, f in sorted(parts, key=lambda p: p[0])))


def decompressed(chunks: Iterable[bytes], label: str) -> Iterator[bytes]:
    """gunzip a stream of chunks (multi-member files too); a truncated stream is an error."""
    decoder = zlib.decompressobj(_GZIP_WBITS)
    seen_input = False
    for chunk in chunks:
        if not seen_input and chunk and not b"\x1f\x8b".startswith(chunk[:2]):
            raise SourceError(
                f"{label}: byte 1: not valid gzip data (it does not start with the gzip magic "
                f"bytes 1f 8b but with {chunk[:8]!r}); expected a gzip file, as the .gz name says: "
                "name it .csv if it is plain CSV"
            )
        while chunk:
            seen_input = True
            if decoder.eof:  # another gzip member follows
                decoder = zlib.decompressobj(_GZIP_WBITS)
            try:
                output = decoder.decompress(chunk)
            except zlib.error as exc:
                raise SourceError(f"{label}: not valid gzip data ({exc})") from None
            if output:
                yield output
            chunk = decoder.unused_data if decoder.eof else b""
    if seen_input and not decoder.eof:
        raise SourceError(
            f"{label}: truncated gzip file: the data ends before the end of the compressed "
            "stream (incomplete copy or upload?)"
        )


def open_source(uri: str, endpoint_url: str | None = None) -> Source:
    if uri.startswith("s3://"):
        return S3Source(uri, endpoint_url=endpoint_url)
    if "://" in uri:
        raise SourceError(f"unsupported source {uri!r}: expected a folder or s3://bucket/prefix/")
    return LocalSource(Path(uri))


# --- local folder --------------------------------------------------------------------------


class LocalSource(Source):
    def __init__(self, folder: Path) -> None:
        self.folder = folder.absolute()
        self.uri = str(self.folder)

    def list_files(self) -> list[SourceFile]:
        if not self.folder.is_dir():
            raise SourceError(f"source folder not found: {self.folder}")
        files, folders = [], []
        with os.scandir(self.folder) as entries:
            for entry in entries:
                if entry.is_dir():
                    folders.append(entry.name)
                if not entry.is_file():  # follows symlinks, like the files themselves
                    continue
                stat = entry.stat()
                files.append(
                    SourceFile(
                        uri=str(self.folder / entry.name),
                        name=entry.name,
                        size=stat.st_size,
                        modified_at=_utc(stat.st_mtime_ns),
                    )
                )
        self.folders = tuple(folders)
        return files

    def iter_raw(self, source_file: SourceFile) -> Iterator[bytes]:
        try:
            with open(source_file.uri, "rb") as handle:
                while chunk := handle.read(CHUNK_SIZE):
                    yield chunk
        except OSError as exc:
            raise SourceError(f"cannot read {source_file.uri}: {exc.strerror}") from None


def sha256_files(source: Source, files: Sequence[SourceFile]) -> str:
    """The sha256 of a table's stored bytes (combined over parts)."""
    checksums = []
    for source_file in files:
        digest = hashlib.sha256()
        for chunk in source.iter_raw(source_file):
            digest.update(chunk)
        checksums.append(digest.hexdigest())
    return checksums[0] if len(files) == 1 else combine_checksums(files, checksums)


def _utc(nanoseconds: int) -> datetime:
    """Exact to the microsecond (what timestamp columns keep): no float rounding."""
    return _EPOCH + timedelta(microseconds=nanoseconds // 1000)


# --- S3 --------------------------------------------------------------------------------------


class S3Source(Source):
    """Objects directly under ``s3://bucket/prefix/``.

    ``client`` shares one boto3 client between sources (the drops of one root), and
    ``listing`` hands over files already listed, so that ``list_files`` costs no request.
    """

    def __init__(
        self,
        uri: str,
        endpoint_url: str | None = None,
        *,
        client: Any = None,
        listing: Sequence[SourceFile] | None = None,
    ) -> None:
        bucket, _, prefix = uri.removeprefix("s3://").partition("/")
        if not bucket:
            raise SourceError(f"no bucket in {uri!r}: expected s3://bucket/prefix/")
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        self.bucket = bucket
        self.prefix = prefix
        self.uri = f"s3://{bucket}/{prefix}"
        self.client: Any = client if client is not None else s3_client(endpoint_url)
        self._listing = list(listing) if listing is not None else None

    def key_uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    def list_files(self) -> list[SourceFile]:
        if self._listing is not None:
            return list(self._listing)
        return self.list_objects(delimited=True)

    def list_objects(self, *, delimited: bool) -> list[SourceFile]:
        """Objects under the prefix: only those directly in it when ``delimited``, else all
        (``name`` is then the key relative to the prefix, slashes included)."""
        files = []
        options = {"Delimiter": "/"} if delimited else {}
        try:
            paginator = self.client.get_paginator("list_objects_v2")
            pages = paginator.paginate(Bucket=self.bucket, Prefix=self.prefix, **options)
            folders = []
            for page in pages:
                for common in page.get("CommonPrefixes", []):
                    folders.append(common["Prefix"][len(self.prefix) :].rstrip("/"))
                for item in page.get("Contents", []):
                    if delimited and item["Key"].endswith("/"):  # a "folder" marker object
                        folders.append(item["Key"][len(self.prefix) :].rstrip("/"))
                        continue
                    key = item["Key"]
                    files.append(
                        SourceFile(
                            uri=self.key_uri(key),
                            name=key[len(self.prefix) :],
                            size=int(item["Size"]),
                            modified_at=item["LastModified"].astimezone(UTC).replace(tzinfo=None),
                            etag=str(item.get("ETag", "")).strip('"') or None,
                        )
                    )
        except Exception as exc:
            raise s3_error(exc, "listing", self.uri, bucket=self.bucket) from None
        if delimited:
            self.folders = tuple(folders)
        return files

    def iter_raw(self, source_file: SourceFile) -> Iterator[bytes]:
        """The object's bytes; a body that breaks off is resumed where it stopped."""
        key = source_file.uri.removeprefix(f"s3://{self.bucket}/")
        received, failures, last = 0, 0, ""
        while True:
            request: dict[str, str] = {"Bucket": self.bucket, "Key": key}
            if source_file.etag:  # the object read is the object listed, or an error
                request["IfMatch"] = f'"{source_file.etag}"'
            if received:
                request["Range"] = f"bytes={received}-"
            try:
                body = self.client.get_object(**request)["Body"]
            except Exception as exc:
                raise _read_error(exc, source_file, received) from None
            try:
                for chunk in body.iter_chunks(CHUNK_SIZE):
                    received += len(chunk)
                    yield chunk
                if received >= source_file.size:
                    break
                last = f"the body ended at byte {received:,} of {source_file.size:,}"
            except Exception as exc:
                if not _broken_body(exc):
                    raise s3_error(exc, "reading", source_file.uri, bucket=self.bucket) from None
                last = f"{type(exc).__name__} at byte {received:,} of {source_file.size:,}"
            finally:
                body.close()
            failures += 1
            if failures >= max_attempts():
                raise SourceError(
                    f"reading {source_file.uri}: the download broke off {failures} times "
                    f"(last: {last}); expected {source_file.size:,} bytes (ETag "
                    f"{source_file.etag}); nothing of it was loaded"
                )
            log.warning("%s: %s; resuming from byte %d", source_file.uri, last, received)
            time.sleep(resume_delay(failures))
        if received != source_file.size:
            raise SourceError(
                f"reading {source_file.uri}: received {received:,} bytes but the listing said "
                f"{source_file.size:,}: the object changed or the server sent extra bytes; "
                "nothing of it was loaded"
            )

    def put_file(self, key: str, path: Path) -> str:
        try:
            self.client.upload_file(str(path), self.bucket, key)
        except Exception as exc:
            raise s3_error(exc, "writing", self.key_uri(key), bucket=self.bucket) from None
        return self.key_uri(key)

    def delete_keys(self, keys: Sequence[str]) -> None:
        for start in range(0, len(keys), 1000):  # the API's limit per request
            batch = [{"Key": key} for key in keys[start : start + 1000]]
            try:
                self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch})
            except Exception as exc:
                raise s3_error(exc, "deleting", self.uri, bucket=self.bucket) from None

    def put_text(self, key: str, text: str) -> str:
        try:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=text.encode("utf-8"))
        except Exception as exc:
            raise s3_error(exc, "writing", self.key_uri(key), bucket=self.bucket) from None
        return self.key_uri(key)


def resume_delay(failures: int) -> float:
    """Exponential backoff with jitter before resuming a broken download."""
    return RESUME_BACKOFF_SECONDS * (2**failures) * (0.5 + random.random() / 2)


def max_attempts() -> int:
    """Attempts per S3 request (and per object download), first one included."""
    value = os.environ.get(MAX_ATTEMPTS_ENV, "")
    try:
        return max(1, int(value)) if value else DEFAULT_MAX_ATTEMPTS
    except ValueError:
        raise SourceError(f"{MAX_ATTEMPTS_ENV}={value!r}: expected a whole number") from None


def s3_client(endpoint_url: str | None = None) -> Any:
    """A boto3 S3 client; endpoint_url None lets boto3 apply AWS_ENDPOINT_URL / its config.

    Retries: botocore's standard mode (exponential backoff with jitter, throttling and
    5xx and connection errors), ``max_attempts()`` attempts per request.
    """
    import boto3
    from botocore.config import Config

    config = Config(
        retries={"mode": "standard", "total_max_attempts": max_attempts()},
        connect_timeout=10,
        read_timeout=60,
    )
    return boto3.session.Session().client("s3", endpoint_url=endpoint_url, config=config)


def _broken_body(exc: Exception) -> bool:
    """Whether reading a response body failed in transit (worth resuming)."""
    from botocore import exceptions as aws
    from urllib3 import exceptions as http

    return isinstance(
        exc,
        aws.IncompleteReadError
        | aws.FlexibleChecksumError  # the body does not match the checksum S3 sent
        | aws.ResponseStreamingError
        | aws.ReadTimeoutError
        | aws.ConnectionClosedError
        | http.HTTPError
        | ConnectionError,
    )


def _read_error(exc: Exception, source_file: SourceFile, received: int) -> SourceError:
    from botocore import exceptions as aws

    if isinstance(exc, aws.ClientError):
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in ("PreconditionFailed", "412"):
            return SourceError(
                f"reading {source_file.uri}: the object changed after it was listed (its ETag "
                f"is no longer {source_file.etag}); nothing of it was loaded, run again"
            )
    error = s3_error(exc, "reading", source_file.uri, bucket=source_file.uri.split("/")[2])
    if received:
        return SourceError(f"{error} (after {received:,} bytes; nothing of it was loaded)")
    return error


def s3_error(exc: Exception, action: str, uri: str, *, bucket: str) -> SourceError:
    """Turn a boto3/botocore exception into a message naming the bucket or object."""
    from botocore import exceptions as aws

    if isinstance(exc, aws.NoCredentialsError):
        return SourceError(
            f"{action} {uri}: no AWS credentials found (environment, ~/.aws, SSO or role)"
        )
    if isinstance(exc, aws.EndpointConnectionError):
        return SourceError(f"{action} {uri}: cannot reach the S3 endpoint ({exc})")
    if isinstance(exc, aws.ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code == "NoSuchBucket":
            return SourceError(f"{action} {uri}: S3 bucket {bucket!r} does not exist")
        if code in ("NoSuchKey", "404") or status == 404:
            return SourceError(f"{action} {uri}: S3 object not found")
        if code in ("AccessDenied", "403", "AllAccessDisabled") or status == 403:
            needed = (
                "s3:ListBucket"
                if action == "listing"
                else {"writing": "s3:PutObject", "deleting": "s3:DeleteObject"}.get(
                    action, "s3:GetObject"
                )
            )
            return SourceError(
                f"{action} {uri}: access denied by S3; the credentials need {needed} on it"
            )
        if code in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken"):
            return SourceError(f"{action} {uri}: S3 rejected the credentials ({code})")
        retries = exc.response.get("ResponseMetadata", {}).get("RetryAttempts")
        tried = f" (after {retries + 1} attempts)" if retries else ""
        return SourceError(
            f"{action} {uri}: S3 error {code or status}: {error.get('Message', exc)}{tried}"
        )
    if isinstance(exc, aws.BotoCoreError):
        return SourceError(f"{action} {uri}: {exc}")
    if isinstance(exc, SourceError):
        return exc
    return SourceError(f"{action} {uri}: {type(exc).__name__}: {exc}")

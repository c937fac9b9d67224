"""Named checkpoints of a load, where the crash tests kill the loader.

``OLIST_FAULT_KILL_AT=<checkpoint>:<n>`` makes the process SIGKILL itself the n-th time
it reaches that checkpoint (n defaults to 1); ``OLIST_FAULT_PAUSE_AT=<checkpoint>:<n>:<s>``
makes it sleep s seconds there instead (to hold a run open while another starts).
Without them, ``checkpoint`` is a function that does nothing: the variables are read once,
at import, so a normal load pays one empty call per checkpoint (a handful per table, one
per streamed 1 MiB chunk).

Checkpoints (see load.py and the targets):

- ``run.locked``: the run holds the target's lock, before its run row is written
- ``run.started``: the run row (status ``started``) is written, before the first table
- ``table.start``: before a table's unchanged check and load (between tables)
- ``stream.chunk``: the consumer took a chunk of a file and asks for the next one
  (during the S3 download for DuckDB, during ``COPY`` for PostgreSQL)
- ``table.swap``: the statement that replaces the table's rows ran (DuckDB ``create or
  replace``, PostgreSQL ``truncate``), inside the open transaction
- ``table.copied``: the rows are in, before the audit row
- ``table.audit``: the audit row is written, before ``commit``
- ``table.committed``: after ``commit``
- ``run.finishing``: every table is done, before the run row is marked finished
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable

ENV = "OLIST_FAULT_KILL_AT"
PAUSE_ENV = "OLIST_FAULT_PAUSE_AT"

__all__ = ["ENV", "PAUSE_ENV", "checkpoint"]


def _noop(name: str) -> None:
    """Inert checkpoint (the variable is not set)."""


def _kill() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _armed(target: str, count: int, act: Callable[[], None]) -> Callable[[str], None]:
    seen = 0

    def checkpoint(name: str) -> None:
        nonlocal seen
        if name != target:
            return
        seen += 1
        if seen == count:
            act()

    return checkpoint


def _from_env(kill: str | None, pause: str | None) -> Callable[[str], None]:
    if kill:
        name, _, count = kill.partition(":")
        return _armed(name.strip(), int(count or 1), _kill)
    if pause:
        name, count, seconds = [*pause.split(":"), "1", "1"][:3]

        def sleep() -> None:
            print(f"olist-load: paused at {name} for {seconds} s", file=sys.stderr, flush=True)
            time.sleep(float(seconds))

        return _armed(name.strip(), int(count or 1), sleep)
    return _noop


checkpoint = _from_env(os.environ.get(ENV), os.environ.get(PAUSE_ENV))

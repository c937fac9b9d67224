"""Loader time against the engine's own bulk load (the floor), for DuckDB and PostgreSQL.

    .venv/bin/python benchmarks/load_benchmark.py [--source FOLDER] [--repeat 5]

Floors, on the same files, machine and server:
- DuckDB: a fresh database file, then ``create table ... as select * from
  read_csv(file, all_varchar = true)`` for each file.
- PostgreSQL: a fresh database, then per file ``create table`` (all text) and a
  plain ``COPY ... FROM STDIN (format csv, header)`` of the file, one commit.
  Also ``psql``'s ``\\copy`` of the same files in one transaction (``psql_floor``): the
  floor a user would reach for by hand.

The loader runs ``olist_elt.load.loader.load()`` end to end (profile, listing, streaming
validation, hashing, lineage columns, audit rows) twice per repeat: a first load
into an empty database, and a ``force`` reload of existing tables. Times are the
median (and minimum) of the repeats; ratio = loader / floor. The PostgreSQL server is a throwaway
one on 127.0.0.1 (olist_elt.dev.postgres, as the tests use).

Default source: the consistent nine-file real set from ../shared/olist (215,135 rows).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from olist_elt.dev import postgres as devserver
from olist_elt.load.loader import load
from olist_elt.spec import OLIST_FILES

ROOT = Path(__file__).resolve().parents[1]
# The real set is assembled as the tests assemble it (tests/python/real_set.py).
sys.path.insert(0, str(ROOT / "tests" / "python"))
from real_set import SHARED_OLIST  # noqa: E402
from real_set import link_real_set as real_set  # noqa: E402


def real_files_present() -> bool:
    """Whether ../shared/olist (the real files, outside this repository) is there."""
    return SHARED_OLIST.is_dir()


PROFILE = """\
olist_elt:
  target: duckdb
  outputs:
    duckdb:
      type: duckdb
      path: "{{{{ env_var('BENCH_DUCKDB_PATH') }}}}"
    postgres:
      type: postgres
      host: {host}
      port: {port}
      user: {user}
      password: "{password}"
      dbname: "{{{{ env_var('BENCH_PG_DATABASE') }}}}"
"""


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def duckdb_floor(source: Path, database: Path) -> None:
    import duckdb

    connection = duckdb.connect(str(database))
    for spec in OLIST_FILES:
        path = str(source / spec.file_name).replace("'", "''")
        connection.execute(
            f"create table {spec.table} as select * from read_csv('{path}', all_varchar = true)"
        )
    connection.close()


def postgres_floor(server: devserver.PgServer, database: str, source: Path) -> None:
    import psycopg2

    connection = psycopg2.connect(server.dsn(database))
    with connection.cursor() as cursor:
        for spec in OLIST_FILES:
            columns = ", ".join(f"{c} text" for c in spec.column_names)
            cursor.execute(f"create table {spec.table} ({columns})")
            with open(source / spec.file_name, "rb") as handle:
                cursor.copy_expert(
                    f"copy {spec.table} from stdin with (format csv, header true)",
                    handle,
                    size=1 << 20,
                )
    connection.commit()
    connection.close()


def psql_floor(dsn: str, source: Path) -> None:
    """psql: per file ``create table`` (all text) and ``\\copy``, one transaction."""
    psql = shutil.which("psql") or "/usr/bin/psql"
    lines = ["\\set ON_ERROR_STOP 1", "begin;"]
    for spec in OLIST_FILES:
        columns = ", ".join(f"{c} text" for c in spec.column_names)
        path = str(source / spec.file_name).replace("'", "''")
        lines.append(f"create table {spec.table} ({columns});")
        lines.append(f"\\copy {spec.table} from '{path}' with (format csv, header true)")
    lines.append("commit;")
    subprocess.run(
        [psql, dsn, "--quiet", "--no-psqlrc"],
        input="\n".join(lines) + "\n",
        text=True,
        check=True,
        capture_output=True,
    )


def loader(source: Path, target: str, profiles: Path, *, force: bool) -> None:
    report = load(str(source), target=target, profiles_dir=str(profiles), force=force)
    if not report.ok:
        failed = [f"{t.table}: {t.error}" for t in report.tables if t.error]
        raise SystemExit("loader failed:\n" + "\n".join(failed))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--source", type=Path, help="folder with the nine files (default: real set)"
    )
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--engines", default="duckdb,postgres")
    args = parser.parse_args(argv)
    engines = args.engines.split(",")

    with tempfile.TemporaryDirectory(prefix="olist-bench-") as scratch_name:
        scratch = Path(scratch_name)
        if args.source is None:
            (scratch / "source").mkdir()
        source = args.source or real_set(scratch / "source")
        size = sum((source / f.file_name).stat().st_size for f in OLIST_FILES)
        print(f"source {source}: {size / 1e6:.1f} MB, repeats {args.repeat}")
        server = devserver.start() if "postgres" in engines else None
        try:
            profiles = scratch / "profiles"
            profiles.mkdir()
            (profiles / "profiles.yml").write_text(
                PROFILE.format(
                    host=server.host if server else "127.0.0.1",
                    port=server.port if server else 5432,
                    user=server.user if server else "none",
                    password=server.password if server else "",
                )
            )
            times: dict[str, list[float]] = {}
            for run in range(args.repeat):
                if "duckdb" in engines:
                    floor_db = scratch / f"floor{run}.duckdb"
                    times.setdefault("duckdb floor", []).append(
                        timed(lambda: duckdb_floor(source, floor_db))  # noqa: B023
                    )
                    os.environ["BENCH_DUCKDB_PATH"] = str(scratch / f"loader{run}.duckdb")
                    for force, label in ((False, "first load"), (True, "forced reload")):
                        times.setdefault(f"duckdb loader {label}", []).append(
                            timed(lambda: loader(source, "duckdb", profiles, force=force))  # noqa: B023
                        )
                if server is not None:
                    floor_db_name = devserver.create_database(server, f"floor{run}")
                    times.setdefault("postgres floor", []).append(
                        timed(lambda: postgres_floor(server, floor_db_name, source))  # noqa: B023
                    )
                    psql_db = devserver.create_database(server, f"psql{run}")
                    times.setdefault("postgres psql \\copy", []).append(
                        timed(lambda: psql_floor(server.dsn(psql_db), source))  # noqa: B023
                    )
                    loader_db = devserver.create_database(server, f"loader{run}")
                    os.environ["BENCH_PG_DATABASE"] = loader_db
                    for force, label in ((False, "first load"), (True, "forced reload")):
                        times.setdefault(f"postgres loader {label}", []).append(
                            timed(lambda: loader(source, "postgres", profiles, force=force))  # noqa: B023
                        )
        finally:
            if server is not None:
                devserver.stop(server)

    # Both statistics: the median is the typical run, the minimum the least disturbed one
    # (on a shared machine other processes only ever add time).
    print(f"{'measure':<30} {'median s':>9} {'ratio':>6} {'min s':>7} {'ratio':>6}")
    for name, values in times.items():
        floor = times[f"{name.split()[0]} floor"]
        median, fastest = statistics.median(values), min(values)
        print(
            f"{name:<30} {median:>9.3f} {median / statistics.median(floor):>5.2f}x "
            f"{fastest:>7.3f} {fastest / min(floor):>5.2f}x"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

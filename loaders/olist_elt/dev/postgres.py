"""A throwaway local PostgreSQL server for tests and for trying the postgres target.

`make pg-up` / `make pg-down` (`olist pg up|down`) and the pytest fixtures start and stop
servers through this module, so there is one place that knows how to find the binaries, run initdb
(which refuses to run as root) and pick a port. The server listens on 127.0.0.1 only,
stores nothing outside its own folder, and uses a random password created at start.

    olist pg up      # start, print the OLIST_PG_* exports
    olist pg env     # print them again
    olist pg down    # stop and delete the folder
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

log = logging.getLogger("olist_elt.dev.postgres")

DEFAULT_USER = "olist"
DEFAULT_DATABASE = "olist"
# Unprivileged OS account the server runs as when we are root (initdb refuses root).
SERVER_OS_USER = os.environ.get("OLIST_PG_OS_USER", "postgres")
STATE_FILE = "server.json"
# Durability is pointless for a throwaway server; these make loads and builds faster.
FAST_SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "50",
    # The planner overestimates the cost of the models' queries (views of CTEs and window
    # functions), and above jit_above_cost it spends 0.3 to 0.5 s compiling each of them:
    # at scale 1 that doubled the incremental facts' time. Advised for any server the
    # project runs on (README, "PostgreSQL").
    "jit": "off",
}


class DevServerError(RuntimeError):
    """The server could not be started or stopped; the message says which step failed."""


@dataclass(frozen=True)
class PgServer:
    """Where a running throwaway server is and how to log in."""

    host: str
    port: int
    user: str
    password: str
    database: str
    base_dir: str  # everything the server owns lives here; deleted on stop
    bin_dir: str

    @property
    def data_dir(self) -> Path:
        return Path(self.base_dir) / "data"

    def env(self) -> dict[str, str]:
        """The variables profiles.yml.example and the loader read for the postgres target."""
        return {
            "OLIST_PG_HOST": self.host,
            "OLIST_PG_PORT": str(self.port),
            "OLIST_PG_USER": self.user,
            "OLIST_PG_PASSWORD": self.password,
            "OLIST_PG_DATABASE": self.database,
        }

    def dsn(self, database: str | None = None) -> str:
        return (
            f"host={self.host} port={self.port} user={self.user} "
            f"password={self.password} dbname={database or self.database}"
        )


def find_bin_dir() -> Path:
    """Folder of initdb/pg_ctl: $OLIST_PG_BIN, else the newest Debian install, else PATH."""
    if configured := os.environ.get("OLIST_PG_BIN"):
        candidates = [Path(configured)]
    else:
        installed = sorted(
            Path("/usr/lib/postgresql").glob("*/bin"),
            key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
            reverse=True,
        )
        on_path = shutil.which("initdb")
        candidates = installed + ([Path(on_path).parent] if on_path else [])
    for candidate in candidates:
        if (candidate / "initdb").is_file() and (candidate / "pg_ctl").is_file():
            return candidate
    raise DevServerError(
        "PostgreSQL server binaries (initdb, pg_ctl) not found: "
        "install PostgreSQL or set OLIST_PG_BIN to their folder"
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_server_user(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", SERVER_OS_USER, "--", *command]


def _run(command: list[str], step: str) -> None:
    result = subprocess.run(_as_server_user(command), capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise DevServerError(
            f"{step} failed (exit {result.returncode}): {' '.join(command)}\n"
            f"{result.stdout}{result.stderr}"
        )


def _hand_over(base_dir: Path) -> None:
    """Let the unprivileged server account own the folder when we run as root."""
    if os.geteuid() != 0:
        return
    try:
        account = pwd.getpwnam(SERVER_OS_USER)
    except KeyError as exc:
        raise DevServerError(
            f"running as root, but OS user {SERVER_OS_USER!r} (OLIST_PG_OS_USER) does not "
            "exist: initdb refuses to run as root"
        ) from exc
    for path in (base_dir, *base_dir.rglob("*")):
        os.chown(path, account.pw_uid, account.pw_gid)


def start(
    base_dir: Path | None = None,
    *,
    port: int | None = None,
    user: str = DEFAULT_USER,
    database: str = DEFAULT_DATABASE,
    auth: str = "scram-sha-256",
) -> PgServer:
    """initdb a fresh cluster in base_dir (a new temporary folder by default) and start it.

    auth is the pg_hba method: "scram-sha-256", or "md5" for clients without working
    SCRAM (redshift_connector, which Redshift's own md5 login suffices for).
    """
    if auth not in ("scram-sha-256", "md5"):
        raise ValueError(f"auth must be scram-sha-256 or md5, not {auth!r}")
    bin_dir = find_bin_dir()
    if base_dir is None:
        # Not under pytest's tmp_path: that is private to root and the server user
        # must be able to reach its own folder.
        base_dir = Path(tempfile.mkdtemp(prefix="olist-pg-"))
    base_dir.mkdir(parents=True, exist_ok=True)
    base_dir.chmod(0o755)
    server = PgServer(
        host="127.0.0.1",
        port=port or _free_port(),
        user=user,
        password=secrets.token_urlsafe(18),
        database=database,
        base_dir=str(base_dir),
        bin_dir=str(bin_dir),
    )
    pwfile = base_dir / "pwfile"
    pwfile.write_text(server.password + "\n")
    pwfile.chmod(0o600)
    _hand_over(base_dir)
    _run(
        [
            str(bin_dir / "initdb"),
            "--pgdata",
            str(server.data_dir),
            "--username",
            user,
            "--pwfile",
            str(pwfile),
            "--auth",
            auth,
            "--encoding",
            "UTF8",
            "--locale",
            "C",
            "--no-sync",
        ],
        "initdb",
    )
    pwfile.unlink()
    options = " ".join(f"-c {key}={value}" for key, value in FAST_SETTINGS.items())
    _run(
        [
            str(bin_dir / "pg_ctl"),
            "--pgdata",
            str(server.data_dir),
            "--log",
            str(base_dir / "server.log"),
            "--options",
            f"-p {server.port} -k {base_dir} {options}",
            "--wait",
            "start",
        ],
        "pg_ctl start",
    )
    _create_database(server, auth)
    log.info("PostgreSQL started on %s:%s (folder %s)", server.host, server.port, base_dir)
    return server


def _create_database(server: PgServer, auth: str) -> None:
    create_database(server, server.database)
    if auth != "md5":
        return
    import psycopg2

    connection = psycopg2.connect(server.dsn("postgres"))
    try:
        connection.autocommit = True
        with connection.cursor() as cursor:
            # initdb stored a SCRAM verifier, with which PostgreSQL would still ask for
            # SCRAM; store an md5 one so md5 logins happen.
            cursor.execute("set password_encryption = 'md5'")
            cursor.execute(f'alter role "{server.user}" password %s', (server.password,))
    finally:
        connection.close()


def create_database(server: PgServer, name: str) -> str:
    """An empty database called name on the server (dropped first if it exists)."""
    import psycopg2

    connection = psycopg2.connect(server.dsn("postgres"))
    try:
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(f'drop database if exists "{name}"')
            cursor.execute(f'create database "{name}"')
    finally:
        connection.close()
    return name


def cpu_seconds(server: PgServer) -> float:
    """CPU time the server has used so far: the postmaster, its live processes, and the
    backends that have exited (the postmaster reaps them, so /proc counts them as its
    children's time). For benchmarks, where the client's own CPU time misses the server's.
    """
    ticks = os.sysconf("SC_CLK_TCK")
    postmaster = int((server.data_dir / "postmaster.pid").read_text().split()[0])

    def stat(pid: int | str) -> list[str]:
        # the fields after "(command)": state, ppid, ... utime is the 12th of them
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()

    fields = stat(postmaster)
    total = sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            child = stat(pid)
        except OSError:  # gone since the listing
            continue
        if int(child[1]) == postmaster:
            total += int(child[11]) + int(child[12])
    return total / ticks


def stop(server: PgServer, *, remove: bool = True) -> None:
    """Stop the server (fast shutdown) and delete its folder."""
    if server.data_dir.is_dir():
        _run(
            [
                str(Path(server.bin_dir) / "pg_ctl"),
                "--pgdata",
                str(server.data_dir),
                "--mode",
                "fast",
                "--wait",
                "stop",
            ],
            "pg_ctl stop",
        )
    if remove:
        shutil.rmtree(server.base_dir, ignore_errors=True)
    log.info("PostgreSQL on port %s stopped", server.port)


@contextlib.contextmanager
def running(base_dir: Path | None = None, **kwargs: object) -> Iterator[PgServer]:
    """Start a server for the duration of a with block."""
    server = start(base_dir, **kwargs)  # type: ignore[arg-type]
    try:
        yield server
    finally:
        stop(server)


# --- command line (make pg-up / pg-down) ---------------------------------------------------


def _state_path(state_dir: Path) -> Path:
    return state_dir / STATE_FILE


def _load_state(state_dir: Path) -> PgServer | None:
    path = _state_path(state_dir)
    if not path.is_file():
        return None
    return PgServer(**json.loads(path.read_text()))


def _accepts_connections(server: PgServer) -> bool:
    try:
        with socket.create_connection((server.host, server.port), timeout=2):
            return True
    except OSError:
        return False


def _print_exports(server: PgServer) -> None:
    for key, value in server.env().items():
        print(f"export {key}={value}")
    print("export OLIST_TARGET=postgres")


ACTIONS = ("up", "env", "down")


def manage(action: str, state_dir: Path = Path(".pg"), port: int | None = None) -> int:
    """``up``, ``env`` or ``down`` the server recorded in ``state_dir``; exit status."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    current = _load_state(state_dir)
    if current is not None and not _accepts_connections(current):
        # Recorded but gone (its folder lives in the temporary directory): forget it.
        log.info("the server recorded in %s is not running any more", state_dir)
        _state_path(state_dir).unlink()
        shutil.rmtree(current.base_dir, ignore_errors=True)
        current = None
    if action == "up":
        if current is not None:
            log.info("already running on port %s; `olist pg down` stops it", current.port)
        else:
            current = start(port=port)
            state_dir.mkdir(parents=True, exist_ok=True)
            state = _state_path(state_dir)
            state.write_text(json.dumps(asdict(current), indent=2))
            state.chmod(0o600)
        log.info("# paste into your shell to use it:")
        _print_exports(current)
        return 0
    if current is None:
        log.error("no server recorded in %s", _state_path(state_dir))
        return 1
    if action == "env":
        _print_exports(current)
        return 0
    stop(current)
    _state_path(state_dir).unlink()
    with contextlib.suppress(OSError):
        state_dir.rmdir()  # only when empty
    return 0

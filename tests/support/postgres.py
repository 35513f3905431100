"""A throw-away PostgreSQL server for tests, started from the installed binaries.

``postgres_server()`` runs ``initdb`` and ``postgres`` in a temporary directory, listening on a
free port on 127.0.0.1 (and a unix socket in that directory), and stops the server and removes
the directory afterwards. The machine's own PostgreSQL is never touched.

- If ``STADSWACHT_TEST_POSTGRES_URL`` is set (a superuser URL, e.g.
  ``postgresql://postgres@db:5432/postgres``), that server is used instead and nothing is started;
  only the databases the tests create are dropped afterwards.
- PostgreSQL refuses to run as root: as root, the server runs as the unprivileged user
  ``nobody`` (override with ``STADSWACHT_TEST_POSTGRES_OS_USER``), through ``setpriv``, which
  also gives it a parent-death signal: a killed test run does not leave a server behind.
- If PostGIS is installed (``postgresql-15-postgis-3``), it is created in ``template1`` so every
  test database has it; it is optional.
- If the binaries are missing this raises :class:`PostgresUnavailable`, naming ``make test``
  (which installs them): tests that need PostgreSQL fail, they are not skipped.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

__all__ = ["PostgresServer", "PostgresUnavailable", "find_binaries", "postgres_server"]

URL_ENV = "STADSWACHT_TEST_POSTGRES_URL"
USER_ENV = "STADSWACHT_TEST_POSTGRES_OS_USER"
BIN_ENV = "STADSWACHT_TEST_POSTGRES_BIN"
_PREFERRED_VERSION = "15"
_START_TIMEOUT_S = 30.0


class PostgresUnavailable(RuntimeError):
    """Raised when no PostgreSQL server can be started for the tests."""


@dataclass
class PostgresServer:
    """A running PostgreSQL server the tests may create databases on.

    ``admin_url`` connects as a superuser to the maintenance database.
    """

    admin_url: str
    postgis_available: bool
    created: list[str] = field(default_factory=list)

    def url(self, dbname: str) -> str:
        """The URL of database ``dbname`` on this server."""
        params = conninfo_to_dict(self.admin_url)
        params["dbname"] = dbname
        return _to_url(params)

    def create_database(self, prefix: str = "stadswacht_test") -> str:
        """Create a new, empty database (from ``template1``) and return its URL."""
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        self.created.append(name)
        return self.url(name)

    def drop_created(self) -> None:
        """Drop the databases made by :meth:`create_database` (for an external server)."""
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            for name in self.created:
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )
        self.created.clear()


def _to_url(params: dict[str, str | int | None]) -> str:
    """A ``postgresql://`` URL for TCP connection parameters."""
    user = params.get("user") or "postgres"
    password = params.get("password")
    auth = f"{user}:{password}" if password else f"{user}"
    host = params.get("host") or "127.0.0.1"
    port = params.get("port") or 5432
    return f"postgresql://{auth}@{host}:{port}/{params.get('dbname') or 'postgres'}"


def find_binaries() -> Path:
    """The directory holding ``initdb`` and ``postgres``, or raise :class:`PostgresUnavailable`."""
    candidates: list[Path] = []
    if env := os.environ.get(BIN_ENV):
        candidates.append(Path(env))
    preferred = Path(f"/usr/lib/postgresql/{_PREFERRED_VERSION}/bin")
    candidates.append(preferred)
    others = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name), reverse=True
    )
    candidates.extend(Path(p) for p in others)
    if pg_config := shutil.which("pg_config"):
        with contextlib.suppress(OSError, subprocess.CalledProcessError):
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, check=True
            ).stdout
            candidates.append(Path(out.strip()))
    for bindir in candidates:
        if (bindir / "initdb").is_file() and (bindir / "postgres").is_file():
            return bindir
    raise PostgresUnavailable(
        "the PostgreSQL server binaries (initdb, postgres) are not installed: looked in "
        + ", ".join(str(c) for c in dict.fromkeys(candidates))
        + ". Run `make test`, which installs postgresql-15 (and postgresql-15-postgis-3), "
        f"or set {URL_ENV} to a PostgreSQL server the tests may create databases on."
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_user() -> tuple[int, int] | None:
    """The uid and gid to run the server as when we are root (PostgreSQL refuses root)."""
    if os.geteuid() != 0:
        return None
    name = os.environ.get(USER_ENV, "nobody")
    try:
        pw = pwd.getpwnam(name)
    except KeyError as exc:
        raise PostgresUnavailable(
            f"running as root, the test PostgreSQL must run as an unprivileged user, but user "
            f"{name!r} does not exist; create it or set {USER_ENV}"
        ) from exc
    return pw.pw_uid, pw.pw_gid


def _prefixes(user: tuple[int, int] | None) -> tuple[list[str], list[str]]:
    """Command prefixes for initdb and for the server.

    The server also gets a parent-death signal, so it stops even if the test process is killed.
    """
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        if user is not None:
            raise PostgresUnavailable(
                "running as root needs setpriv (util-linux) to drop privileges"
            )
        return [], []
    ids = [] if user is None else [f"--reuid={user[0]}", f"--regid={user[1]}", "--clear-groups"]
    as_user = [setpriv, *ids, "--"] if ids else []
    return as_user, [setpriv, "--pdeathsig=INT", *ids, "--"]


def _run(cmd: list[str], what: str) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise PostgresUnavailable(
            f"{what} failed (exit {proc.returncode}): {proc.stderr.strip() or proc.stdout.strip()}"
        )


def _wait_ready(proc: subprocess.Popen[bytes], url: str, log: Path) -> bool:
    """Wait until the server answers; False if it exited (e.g. the port was taken)."""
    deadline = time.monotonic() + _START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with psycopg.connect(url, connect_timeout=2):
                return True
        except psycopg.OperationalError:
            time.sleep(0.05)
    proc.kill()
    proc.wait()
    raise PostgresUnavailable(
        f"the test PostgreSQL did not answer within {_START_TIMEOUT_S:.0f} s; log: "
        + log.read_text(errors="replace")[-2000:]
    )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGINT)  # "fast" shutdown: roll back, disconnect, exit
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _install_postgis(admin_url: str) -> bool:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'"
        ).fetchone()
    if row is None:
        return False
    template = admin_url.rsplit("/", 1)[0] + "/template1"
    with psycopg.connect(template, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    return True


@contextlib.contextmanager
def postgres_server(*, durable: bool = False) -> Iterator[PostgresServer]:
    """Run a throw-away PostgreSQL server for the duration of the ``with`` block.

    ``durable=False`` turns ``fsync`` off: faster, and nothing is meant to survive a crash.
    """
    if external := os.environ.get(URL_ENV):
        with psycopg.connect(external, autocommit=True) as conn:
            row = conn.execute(
                "SELECT count(*) FROM pg_available_extensions WHERE name = 'postgis'"
            ).fetchone()
        server = PostgresServer(admin_url=external, postgis_available=bool(row and row[0]))
        try:
            yield server
        finally:
            server.drop_created()
        return

    bindir = find_binaries()
    user = _as_user()
    as_user, as_server = _prefixes(user)
    parent = Path(tempfile.gettempdir())
    if user is not None and not parent.stat().st_mode & 0o001:
        parent = Path("/tmp")  # the unprivileged server user must be able to enter it
    base = Path(tempfile.mkdtemp(prefix="stadswacht-pg-", dir=parent))
    proc: subprocess.Popen[bytes] | None = None
    try:
        base.chmod(0o700)
        data, sock, log = base / "data", base / "sock", base / "postgres.log"
        sock.mkdir()
        if user is not None:
            for p in (base, sock):
                os.chown(p, *user)
        initdb = [str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust"]
        _run([*as_user, *initdb, "-E", "UTF8", "--locale=C", "--no-sync"], "initdb")
        settings = {
            "listen_addresses": "127.0.0.1",
            "unix_socket_directories": str(sock),
            "max_connections": "200",
            "shared_buffers": "64MB",
        }
        if not durable:
            settings |= {"fsync": "off", "full_page_writes": "off"}
        options = [arg for k, v in settings.items() for arg in ("-c", f"{k}={v}")]
        for _attempt in range(5):
            port = _free_port()
            with log.open("ab") as out:
                # stderr of the server goes to a file so a full pipe never blocks it.
                proc = subprocess.Popen(
                    [*as_server, str(bindir / "postgres"), "-D", str(data), "-p", str(port),
                     *options],
                    stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                )  # fmt: skip
            admin_url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
            if _wait_ready(proc, admin_url, log):
                break
            proc.wait()
            proc = None
        else:
            raise PostgresUnavailable(
                "the test PostgreSQL would not start on a free port; log: "
                + log.read_text(errors="replace")[-2000:]
            )
        yield PostgresServer(admin_url=admin_url, postgis_available=_install_postgis(admin_url))
    finally:
        if proc is not None:
            _stop(proc)
        shutil.rmtree(base, ignore_errors=True)

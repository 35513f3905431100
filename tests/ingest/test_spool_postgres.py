"""The real PostgreSQL stopped under a running ingest and started again: readings are
spooled meanwhile and every one is stored exactly once, in order, once it is back."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from stadswacht.config import Settings
from stadswacht.errors import StorageError
from stadswacht.ingest.registry import DeviceRegistry
from stadswacht.ingest.service import Ingestor
from stadswacht.model import DeviceKind, Position
from stadswacht.model.signing import load_private_key
from stadswacht.store.base import ReadingQuery
from stadswacht.store.postgres import PING_TIMEOUT_S, PostgresStore
from tests.conftest import FakeDevice
from tests.ingest.test_spool import FlakyBus, wait_for
from tests.support.postgres import (
    PostgresServer,
    PostgresUnavailable,
    _as_user,
    _prefixes,
    find_binaries,
    postgres_server,
)


@pytest.fixture
def pg() -> Iterator[PostgresServer]:
    try:
        with postgres_server() as server:
            yield server
    except PostgresUnavailable as exc:  # an external server (STADSWACHT_TEST_POSTGRES_URL)
        pytest.skip(str(exc))


def outage(server: PostgresServer, log: Path) -> Iterator[None]:
    """Stop the server (fast shutdown) at the first ``next``, start it again on the same port
    and data directory at the second, stop that one at the third."""
    with psycopg.connect(server.admin_url, autocommit=True) as conn:
        data = str(conn.execute("SHOW data_directory").fetchone()[0])  # type: ignore[index]
        sock = str(conn.execute("SHOW unix_socket_directories").fetchone()[0])  # type: ignore[index]
        port = str(conn.execute("SHOW port").fetchone()[0])  # type: ignore[index]
    pid = int(Path(data, "postmaster.pid").read_text().split()[0])
    os.kill(pid, signal.SIGINT)
    deadline = time.monotonic() + 20
    while Path(data, "postmaster.pid").exists():
        assert time.monotonic() < deadline, "PostgreSQL did not stop"
        time.sleep(0.05)
    yield
    _, as_server = _prefixes(_as_user())
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [*as_server, str(find_binaries() / "postgres"), "-D", data, "-p", port,
             "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={sock}",
             "-c", "fsync=off"],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    try:
        wait_for(lambda: _answers(server.admin_url), timeout=30)
        yield
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(20)


def _answers(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=1):
            return True
    except psycopg.OperationalError:
        return False


def test_postgres_stopped_and_restarted_under_a_running_ingest(
    pg: PostgresServer, tmp_path: Path
) -> None:
    if os.environ.get("STADSWACHT_TEST_POSTGRES_URL"):
        pytest.skip("cannot stop an external PostgreSQL")
    url = pg.create_database()
    settings = Settings(
        env="test", database_url=url, spool_dir=tmp_path / "spool", spool_drain_interval_s=0.05
    )
    store = PostgresStore(url, pool_size=2, pool_timeout_s=1.0, connect_timeout_s=1)
    registry = DeviceRegistry(store)
    reg = registry.register(
        "iz-wx-01", kind=DeviceKind.WEATHER, position=Position(lat=52.09, lon=4.28),
        agency="municipality", area="international-zone",
    )  # fmt: skip
    assert reg.private_key is not None
    dev = FakeDevice("iz-wx-01", load_private_key(reg.private_key))
    bus = FlakyBus()
    ingestor = Ingestor(store, bus, settings, registry)
    sent: list[int] = []
    try:
        for _ in range(3):
            batch = [dev.reading() for _ in range(10)]
            assert ingestor.ingest(batch).accepted == 10
            sent += [r["seq"] for r in batch]
        phases = outage(pg, tmp_path / "restart.log")
        next(phases)  # PostgreSQL is down
        for _ in range(5):
            batch = [dev.reading() for _ in range(10)]
            assert len(ingestor.ingest(batch).buffered) == 10
            sent += [r["seq"] for r in batch]
        assert ingestor.health().store == "down"
        # The readiness probe's ping answers within its own bound, not the pool's timeout.
        started = time.monotonic()
        with pytest.raises(StorageError):
            store.ping()
        assert time.monotonic() - started < PING_TIMEOUT_S + 1.0
        next(phases)  # PostgreSQL is back
        try:
            batch = [dev.reading() for _ in range(10)]
            result = ingestor.ingest(batch)  # behind the spooled ones, or stored at once
            assert len(result.buffered) + result.accepted == 10
            sent += [r["seq"] for r in batch]
            wait_for(lambda: not ingestor.health().degraded, timeout=30)
            rows = store.query_readings(ReadingQuery(limit=1000))
            assert [r.seq for r in rows] == sent  # each once, in order
            published = [m for s, _, m in bus.published if s.startswith("stadswacht.readings.")]
            assert published == [f"{dev.id}:{seq}" for seq in sent]  # published once each
        finally:
            ingestor.close()
            store.close()
            next(phases, None)
    finally:
        ingestor.close()

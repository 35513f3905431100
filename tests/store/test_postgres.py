"""What only the PostgreSQL store does: error translation, PostGIS, reconnecting, opening."""

from __future__ import annotations

import dataclasses
import logging
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
from psycopg import errors as pg_errors
from psycopg import sql
from psycopg_pool import PoolClosed, PoolTimeout

from stadswacht.errors import AlreadyExists, StorageError
from stadswacht.store import ReadingQuery, Store, open_store
from stadswacht.store.postgres import PostgresStore
from tests.store.factories import agency, area, dead_letter, device, reading, user
from tests.support.postgres import PostgresServer
from tests.support.server import free_port

# --- every psycopg error is translated -------------------------------------------------------
CALLS: dict[str, Callable[[Store], object]] = {
    "ping": lambda s: s.ping(),
    "put_agency": lambda s: s.put_agency(agency()),
    "list_agencies": lambda s: s.list_agencies(),
    "put_area": lambda s: s.put_area(area()),
    "list_areas": lambda s: s.list_areas(),
    "add_device": lambda s: s.add_device(device()),
    "update_device": lambda s: s.update_device(device()),
    "get_device": lambda s: s.get_device("iz-ac-01"),
    "list_devices": lambda s: s.list_devices(agency="police"),
    "add_user": lambda s: s.add_user(user()),
    "get_user": lambda s: s.get_user("anna"),
    "list_users": lambda s: s.list_users(),
    "existing": lambda s: s.existing([("d1", 1)]),
    "commit": lambda s: s.commit([reading("d1", 1)], [dead_letter()]),
    "commit_dead_letters": lambda s: s.commit([], [dead_letter()]),
    "query_readings": lambda s: s.query_readings(ReadingQuery(agencies=frozenset({"police"}))),
    "count_readings": lambda s: s.count_readings(),
    "list_dead_letters": lambda s: s.list_dead_letters(devices=frozenset({"d1"})),
}

ERRORS: list[type[Exception]] = [
    psycopg.Error,
    psycopg.InterfaceError,
    psycopg.DatabaseError,
    psycopg.DataError,
    psycopg.OperationalError,
    psycopg.IntegrityError,
    psycopg.InternalError,
    psycopg.ProgrammingError,
    psycopg.NotSupportedError,
    pg_errors.UniqueViolation,
    pg_errors.ForeignKeyViolation,
    pg_errors.SerializationFailure,
    pg_errors.DeadlockDetected,
    pg_errors.QueryCanceled,
    pg_errors.AdminShutdown,
    pg_errors.DiskFull,
    pg_errors.InsufficientPrivilege,
    pg_errors.UndefinedTable,
    pg_errors.NumericValueOutOfRange,
    PoolTimeout,
    PoolClosed,
]


class _FailingConnection:
    def __init__(self, error: Exception) -> None:
        self.error = error

    def execute(self, *args: Any, **kwargs: Any) -> Any:
        raise self.error

    def cursor(self, *args: Any, **kwargs: Any) -> Any:
        raise self.error


class _FailingPool:
    """Stands in for the pool: fails on taking a connection or on its first statement."""

    def __init__(self, error: Exception, *, on_take: bool) -> None:
        self.error, self.on_take = error, on_take

    @contextmanager
    def connection(self, timeout: float | None = None) -> Iterator[_FailingConnection]:
        if self.on_take:
            raise self.error
        yield _FailingConnection(self.error)

    def close(self) -> None:
        pass


@pytest.mark.parametrize("error_class", ERRORS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("on_take", [False, True], ids=["on-statement", "on-connect"])
def test_every_psycopg_error_becomes_a_storage_error(
    pg_store: PostgresStore,
    error_class: type[Exception],
    on_take: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_pool = pg_store._pool
    for name, call in CALLS.items():
        error = error_class(f"injected {error_class.__name__}")
        monkeypatch.setattr(pg_store, "_pool", _FailingPool(error, on_take=on_take))
        taken = error_class is pg_errors.UniqueViolation and name in {"add_device", "add_user"}
        if taken and not on_take:
            # The INSERT hit the primary key: what the caller can act on is that the id is taken.
            with pytest.raises(AlreadyExists, match="already") as taken_info:
                call(pg_store)
            assert taken_info.value.__cause__ is error, name
            continue
        with pytest.raises(StorageError) as info:
            call(pg_store)
        assert info.value.__cause__ is error, name
        assert f"injected {error_class.__name__}" in str(info.value), name
    monkeypatch.setattr(pg_store, "_pool", real_pool)


def test_taken_device_id_is_already_exists_caused_by_the_unique_violation(
    pg_store: PostgresStore,
) -> None:
    pg_store.add_device(device("dup-1"))
    with pytest.raises(AlreadyExists) as info:
        pg_store.add_device(device("dup-1"))
    assert isinstance(info.value.__cause__, pg_errors.UniqueViolation)


@pytest.mark.parametrize(
    "bad",
    [
        # refused by psycopg before the server sees it
        dataclasses.replace(reading("d1", 2), time_us=2**70),
        reading("d1", 2, sig="nul\x00in-signature"),  # refused by the server
    ],
    ids=["integer-too-large", "nul-in-text"],
)
def test_a_batch_that_cannot_be_stored_raises_and_stores_nothing(
    pg_store: PostgresStore, bad: Any
) -> None:
    before = pg_store.count_readings()
    with pytest.raises(StorageError, match="batch of 2 readings") as info:
        pg_store.commit([reading("d1", 1), bad], [dead_letter()])
    assert info.value.__cause__ is not None
    assert pg_store.count_readings() == before
    assert pg_store.list_dead_letters(device="iz-ac-01") == []
    assert pg_store.existing([("d1", 1)]) == {}
    # The store is still usable: the good reading goes in with the next batch.
    assert [r.seq for r in pg_store.commit([reading("d1", 1)], [])] == [1]


def test_unreachable_server_raises_storage_error_without_the_password() -> None:
    port = free_port()
    with pytest.raises(StorageError) as info:
        PostgresStore(f"postgresql://app:sekrit@127.0.0.1:{port}/stadswacht")
    message = str(info.value)
    assert f"127.0.0.1:{port}/stadswacht" in message
    assert "sekrit" not in message
    assert isinstance(info.value.__cause__, psycopg.OperationalError)


def test_missing_database_raises_storage_error_naming_it(pg_server: PostgresServer) -> None:
    with pytest.raises(StorageError, match="no_such_database"):
        PostgresStore(pg_server.url("no_such_database"))


def test_open_store_opens_postgres_urls(pg_url: str) -> None:
    for url in (pg_url, pg_url.replace("postgresql://", "postgres://", 1)):
        store = open_store(url)
        try:
            assert isinstance(store, PostgresStore)
            store.ping()
        finally:
            store.close()


# --- connections -----------------------------------------------------------------------------
def _terminate_others(admin_url: str, dbname: str) -> int:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (dbname,),
        ).fetchall()
    return len(rows)


def test_store_reconnects_after_its_connections_are_cut(
    pg_server: PostgresServer, pg_store: PostgresStore
) -> None:
    pg_store.commit([reading("cut", 1)], [])
    dbname = pg_store.url.rsplit("/", 1)[1]
    assert _terminate_others(pg_server.admin_url, dbname) >= 1  # as a server restart would
    assert [r.seq for r in pg_store.commit([reading("cut", 2)], [])] == [2]
    assert len(pg_store.query_readings(ReadingQuery(device="cut"))) == 2


def test_unreachable_database_during_use_raises_storage_error(pg_server: PostgresServer) -> None:
    url = pg_server.create_database()
    dbname = url.rsplit("/", 1)[1]
    store = PostgresStore(url, pool_timeout_s=1.0)
    admin = psycopg.connect(pg_server.admin_url, autocommit=True)
    try:
        store.ping()
        admin.execute(
            sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS false").format(sql.Identifier(dbname))
        )
        _terminate_others(pg_server.admin_url, dbname)
        with pytest.raises(StorageError, match="cannot reach the database") as info:
            store.ping()
        assert isinstance(info.value.__cause__, psycopg.OperationalError)
    finally:
        store.close()
        admin.execute(
            sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS true").format(sql.Identifier(dbname))
        )
        admin.close()


def test_processes_opening_a_new_database_at_once_all_succeed(pg_server: PostgresServer) -> None:
    url = pg_server.create_database()
    stores: list[PostgresStore] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(6)

    def open_one() -> None:
        try:
            barrier.wait(timeout=10)
            stores.append(PostgresStore(url, pool_size=2))
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    try:
        assert errors == []
        stores[0].commit([reading("d1", 1)], [])
        assert all(s.count_readings() == 1 for s in stores)
    finally:
        for s in stores:
            s.close()


# --- PostGIS ---------------------------------------------------------------------------------
def _position(url: str, device_id: str) -> tuple[float, float] | None:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT ST_Y(position::geometry), ST_X(position::geometry) FROM devices WHERE id = %s",
            (device_id,),
        ).fetchone()
    return None if row is None or row[0] is None else (float(row[0]), float(row[1]))


def _needs_postgis(server: PostgresServer) -> None:
    if not server.postgis_available:
        pytest.skip("PostGIS is not installed (postgresql-15-postgis-3; `make test` installs it)")


def test_postgis_keeps_device_positions_indexed(
    pg_server: PostgresServer, pg_url: str, pg_store: PostgresStore
) -> None:
    _needs_postgis(pg_server)
    assert pg_store.postgis
    pg_store.add_device(device("geo-1", lat=52.0951, lon=4.2831))
    assert _position(pg_url, "geo-1") == pytest.approx((52.0951, 4.2831))
    pg_store.update_device(device("geo-1", lat=52.0800, lon=4.3100))
    assert _position(pg_url, "geo-1") == pytest.approx((52.08, 4.31))
    with psycopg.connect(pg_url) as conn:
        near = conn.execute(
            "SELECT id FROM devices WHERE ST_DWithin(position, "
            "ST_SetSRID(ST_MakePoint(4.3101, 52.0801), 4326)::geography, 50)"
        ).fetchall()
        index = conn.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'devices' "
            "AND indexname = 'devices_position'"
        ).fetchone()
    assert near == [("geo-1",)]
    assert index is not None and "gist" in index[0].lower()


def test_without_postgis_the_store_works_and_enabling_it_later_fills_positions(
    pg_server: PostgresServer,
) -> None:
    url = pg_server.create_database()
    plain = PostgresStore(url, spatial=False)
    try:
        assert not plain.postgis
        plain.add_device(device("flat-1", lat=52.1, lon=4.3))
        plain.update_device(device("flat-1", lat=52.11, lon=4.31))
        assert plain.get_device("flat-1").position.lat == 52.11
    finally:
        plain.close()
    if not pg_server.postgis_available:
        return
    spatial = PostgresStore(url)
    try:
        assert spatial.postgis
        assert _position(url, "flat-1") == pytest.approx((52.11, 4.31))
    finally:
        spatial.close()


def test_a_user_who_may_not_create_postgis_gets_a_working_store(
    pg_server: PostgresServer, caplog: pytest.LogCaptureFixture
) -> None:
    role = f"app_{uuid.uuid4().hex[:8]}"
    dbname = f"{role}_db"
    with psycopg.connect(pg_server.admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD 'app'").format(sql.Identifier(role)))
        # template0 has no PostGIS; a plain role may not create it (not a trusted extension).
        admin.execute(
            sql.SQL("CREATE DATABASE {} OWNER {} TEMPLATE template0").format(
                sql.Identifier(dbname), sql.Identifier(role)
            )
        )
    url = pg_server.url(dbname).replace("postgres@", f"{role}:app@", 1)
    try:
        with caplog.at_level(logging.INFO, logger="stadswacht.store.postgres"):
            store = PostgresStore(url)
        try:
            assert not store.postgis
            assert "PostGIS is not available" in caplog.text
            store.add_device(device("no-gis-1"))
            assert [d.id for d in store.list_devices()] == ["no-gis-1"]
            assert [r.seq for r in store.commit([reading("no-gis-1", 1)], [])] == [1]
        finally:
            store.close()
    finally:
        with psycopg.connect(pg_server.admin_url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(dbname)))
            admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))

"""Fixtures for the store contract suite: every test runs on SQLite and on PostgreSQL.

The PostgreSQL server is a throw-away one started once per session (see
``tests/support/postgres.py``); each test gets the same database emptied with ``TRUNCATE``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest

from stadswacht.store import Store, open_store
from stadswacht.store.postgres import PostgresStore
from tests.support.postgres import PostgresServer, PostgresUnavailable, postgres_server

_TABLES = "agencies, areas, devices, users, readings, dead_letters, detections"


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server for the whole session; fails (never skips) if none can be had."""
    with contextlib.ExitStack() as stack:
        try:
            server = stack.enter_context(postgres_server())
        except PostgresUnavailable as exc:
            pytest.fail(str(exc), pytrace=False)
        yield server


@pytest.fixture(scope="session")
def pg_url(pg_server: PostgresServer) -> str:
    """One database for the contract tests, its schema made once."""
    url = pg_server.create_database("stadswacht_contract")
    PostgresStore(url).close()
    return url


def _empty(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"TRUNCATE {_TABLES} RESTART IDENTITY")


@pytest.fixture
def pg_store(pg_url: str) -> Iterator[PostgresStore]:
    """A PostgreSQL store on the emptied contract database."""
    _empty(pg_url)
    store = PostgresStore(pg_url)
    yield store
    store.close()


@dataclass
class Backend:
    """One storage backend under test; ``open()`` opens another store on the same data, as a
    second process would."""

    name: str
    url: str
    opened: list[Store] = field(default_factory=list)

    def open(self) -> Store:
        store = open_store(self.url)
        self.opened.append(store)
        return store


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'stadswacht.db'}"
    else:
        url = request.getfixturevalue("pg_url")
        _empty(url)
    b = Backend(request.param, url)
    yield b
    for store in b.opened:
        store.close()


@pytest.fixture
def store(backend: Backend) -> Store:
    return backend.open()


@pytest.fixture
def reopen(backend: Backend) -> Callable[[], Store]:
    """Open another store on the same data (a second ingest process)."""
    return backend.open

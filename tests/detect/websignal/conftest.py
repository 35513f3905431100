"""The store contract's fixtures (both backends: SQLite, and a throw-away PostgreSQL server),
for the posts table's tests (test_store.py)."""

from tests.store.conftest import backend, pg_server, pg_url, store

__all__ = ["backend", "pg_server", "pg_url", "store"]

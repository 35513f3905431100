"""Durable storage behind one interface: SQLite (embedded default) or PostgreSQL (scaled out).

Only ``ingest`` writes readings, through :meth:`Store.commit`; detectors never touch a store.
"""

from __future__ import annotations

from stadswacht.store.base import ExistingReading, ReadingQuery, Store, StoredAlert
from stadswacht.store.sqlite import SQLiteStore

__all__ = ["ExistingReading", "ReadingQuery", "SQLiteStore", "Store", "StoredAlert", "open_store"]


def open_store(database_url: str) -> Store:
    """Open the store a URL names: ``sqlite:///path`` or ``postgresql://...``."""
    if database_url.startswith("sqlite:///"):
        return SQLiteStore(database_url.removeprefix("sqlite:///"))
    if database_url.startswith(("postgresql://", "postgres://")):
        from stadswacht.store.postgres import PostgresStore

        return PostgresStore(database_url)
    from stadswacht.errors import ConfigurationError

    raise ConfigurationError(f"unsupported database URL {database_url!r}")

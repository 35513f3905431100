"""Where the audit log's leaves are kept: in memory, in SQLite or in PostgreSQL.

A :class:`LogStorage` appends leaves (the entry's bytes and its leaf hash) at dense, ordered
indices from 0 and reads them back; it never changes or removes one. Each backend keeps its
own table ``audit_log (idx, leaf_hash, entry)``, which may sit in the store's database.

- :class:`MemoryStorage`: for tests.
- :class:`SQLiteStorage`: one file in WAL mode; each ``append`` is one ``BEGIN IMMEDIATE``
  transaction, so processes sharing the file get dense indices.
- :class:`PostgresStorage`: each ``append`` is one transaction holding a transaction-level
  advisory lock, so writers in several processes append one batch at a time, in order.

Durability: an appended entry survives a crash of the process at once; by default it survives
a power cut only from the next :meth:`LogStorage.sync`, which :meth:`AuditLog.checkpoint
<stadswacht.sharing.audit.AuditLog.checkpoint>` calls before it signs. So every signed state is
on disk (a power cut never looks like a truncated log), while a single append does not wait
for the disk (SQLite ``synchronous=NORMAL``, PostgreSQL ``synchronous_commit=off`` for the
append): about 10x more single appends per second. ``durable=True`` waits for the disk on
every append instead (SQLite ``synchronous=FULL``).

Every database error is translated to :class:`~stadswacht.errors.StorageError`.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path

from stadswacht.errors import ConfigurationError, StorageError

__all__ = ["LogStorage", "MemoryStorage", "PostgresStorage", "SQLiteStorage", "open_storage"]

Leaf = tuple[bytes, bytes]
"""``(entry bytes, leaf hash)``."""

_APPEND_LOCK = 0x4155_4449_544C  # pg_advisory_xact_lock key ("AUDITL"): one appender at a time


class LogStorage(ABC):
    """Append-only storage of the audit log's leaves."""

    @abstractmethod
    def append(self, leaves: Sequence[Leaf]) -> int:
        """Store ``leaves`` (entry bytes, leaf hash) at the next indices, all or none, and
        return the index of the first."""

    @abstractmethod
    def size(self) -> int:
        """The number of leaves stored."""

    @abstractmethod
    def entries(self, start: int, end: int) -> list[bytes]:
        """The entries' bytes at indices ``start`` (inclusive) to ``end`` (exclusive)."""

    @abstractmethod
    def leaf_hashes(self, start: int, end: int) -> list[bytes]:
        """The leaf hashes at indices ``start`` (inclusive) to ``end`` (exclusive)."""

    def sync(self) -> None:  # noqa: B027 - nothing to do for backends without a disk
        """Return once every leaf appended so far is on disk."""

    def close(self) -> None:  # noqa: B027 - optional for backends holding nothing
        """Release connections."""


class MemoryStorage(LogStorage):
    """Leaves in two Python lists (tests, development)."""

    def __init__(self) -> None:
        self._entries: list[bytes] = []
        self._hashes: list[bytes] = []
        self._lock = threading.Lock()

    def append(self, leaves: Sequence[Leaf]) -> int:
        with self._lock:
            first = len(self._entries)
            self._entries.extend(e for e, _ in leaves)
            self._hashes.extend(h for _, h in leaves)
            return first

    def size(self) -> int:
        return len(self._entries)

    def entries(self, start: int, end: int) -> list[bytes]:
        return self._entries[start:end]

    def leaf_hashes(self, start: int, end: int) -> list[bytes]:
        return self._hashes[start:end]


_SQLITE_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit_log (
    idx INTEGER PRIMARY KEY, leaf_hash BLOB NOT NULL, entry BLOB NOT NULL);
"""


class SQLiteStorage(LogStorage):
    """The table ``audit_log`` in a SQLite file, WAL mode (``synchronous=NORMAL``, or
    ``FULL`` when ``durable``).

    One writer connection behind a lock; reads use their own connection per thread.
    """

    def __init__(self, path: str | Path, *, durable: bool = False) -> None:
        self.path = str(path)
        self._synchronous = "FULL" if durable else "NORMAL"
        self._lock = threading.Lock()
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        try:
            self._writer = self._connect()
            self._writer.executescript(_SQLITE_SCHEMA)
        except sqlite3.Error as exc:
            raise StorageError(f"cannot open the audit log in {self.path!r}: {exc}") from exc

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={self._synchronous}")
        conn.execute("PRAGMA busy_timeout=10000")
        self._all.append(conn)
        return conn

    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
        return conn

    def append(self, leaves: Sequence[Leaf]) -> int:
        with self._lock:
            c = self._writer
            try:
                c.execute("BEGIN IMMEDIATE")
                try:
                    (first,) = c.execute(
                        "SELECT COALESCE(MAX(idx) + 1, 0) FROM audit_log"
                    ).fetchone()
                    c.executemany(
                        "INSERT INTO audit_log (idx, leaf_hash, entry) VALUES (?, ?, ?)",
                        [(first + i, h, e) for i, (e, h) in enumerate(leaves)],
                    )
                except BaseException:
                    c.execute("ROLLBACK")
                    raise
                c.execute("COMMIT")
            except sqlite3.Error as exc:
                raise StorageError(f"cannot append to the audit log: {exc}") from exc
            return int(first)

    def sync(self) -> None:
        # The committed frames are in the WAL (or, after SQLite's own checkpoint, which syncs,
        # in the database file); fsync makes them durable whoever wrote them.
        with self._lock:
            for name in (self.path + "-wal", self.path):
                try:
                    fd = os.open(name, os.O_RDONLY)
                except FileNotFoundError:
                    continue
                except OSError as exc:
                    raise StorageError(f"cannot sync the audit log {name!r}: {exc}") from exc
                try:
                    os.fsync(fd)
                except OSError as exc:
                    raise StorageError(f"cannot sync the audit log {name!r}: {exc}") from exc
                finally:
                    os.close(fd)

    def _column(self, column: str, start: int, end: int) -> list[bytes]:
        try:
            rows = self._reader().execute(
                f"SELECT {column} FROM audit_log WHERE idx >= ? AND idx < ? ORDER BY idx",  # noqa: S608
                (start, end),
            )
            # A row edited by hand may hold TEXT; read it as its UTF-8 bytes, so that verify
            # reports the change instead of failing.
            return [r[0].encode() if isinstance(r[0], str) else bytes(r[0]) for r in rows]
        except sqlite3.Error as exc:
            raise StorageError(f"cannot read the audit log: {exc}") from exc

    def size(self) -> int:
        try:
            (n,) = (
                self._reader().execute("SELECT COALESCE(MAX(idx) + 1, 0) FROM audit_log").fetchone()
            )
        except sqlite3.Error as exc:
            raise StorageError(f"cannot read the audit log: {exc}") from exc
        return int(n)

    def entries(self, start: int, end: int) -> list[bytes]:
        return self._column("entry", start, end)

    def leaf_hashes(self, start: int, end: int) -> list[bytes]:
        return self._column("leaf_hash", start, end)

    def close(self) -> None:
        for conn in self._all:
            conn.close()
        self._all.clear()


_PG_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit_log (
    idx bigint PRIMARY KEY, leaf_hash bytea NOT NULL, entry bytea NOT NULL)
"""


_PG_INSERT = """
WITH base AS (SELECT COALESCE(MAX(idx) + 1, 0) AS first FROM audit_log),
ins AS (
    INSERT INTO audit_log (idx, leaf_hash, entry)
    SELECT base.first + t.o - 1, t.h, t.e
    FROM base, unnest({}::bytea[], {}::bytea[]) WITH ORDINALITY AS t(h, e, o)
    RETURNING idx)
SELECT MIN(idx) FROM ins
"""


class PostgresStorage(LogStorage):
    """The table ``audit_log`` in PostgreSQL; appends serialised by an advisory lock.

    One connection behind a lock: the audit log is written in batches, not concurrently.
    """

    def __init__(self, url: str, *, durable: bool = False) -> None:
        import psycopg

        self._psycopg = psycopg
        self._durable = durable
        self._lock = threading.Lock()
        try:
            self._conn = psycopg.connect(url, autocommit=True)
            with self._conn.transaction():
                self._conn.execute("SELECT pg_advisory_xact_lock(%s)", (_APPEND_LOCK,))
                self._conn.execute(_PG_SCHEMA)
        except psycopg.Error as exc:
            raise StorageError(f"cannot open the audit log in PostgreSQL: {exc}") from exc

    def append(self, leaves: Sequence[Leaf]) -> int:
        # One round trip: a multi-statement simple query (values as literals, composed by
        # psycopg) runs as one implicit transaction, rolled back whole on any error. The
        # indices are computed in a statement after the one taking the lock, so they see
        # every earlier batch (READ COMMITTED takes a fresh snapshot per statement).
        from psycopg import sql

        query = sql.SQL("{sync}SELECT pg_advisory_xact_lock({lock}); {insert}").format(
            sync=sql.SQL("" if self._durable else "SET LOCAL synchronous_commit = off; "),
            lock=sql.Literal(_APPEND_LOCK),
            insert=sql.SQL(_PG_INSERT).format(
                sql.Literal([h for _, h in leaves]), sql.Literal([e for e, _ in leaves])
            ),
        )
        with self._lock:
            try:
                with self._conn.cursor() as cur:
                    cur.execute(query)
                    while cur.nextset():
                        pass
                    row = cur.fetchone()
            except self._psycopg.Error as exc:
                raise StorageError(f"cannot append to the audit log: {exc}") from exc
            if row is None or row[0] is None:
                raise StorageError("the audit log append stored nothing")
            return int(row[0])

    def sync(self) -> None:
        # A transaction with an id commits with a synchronous flush of the WAL up to its
        # commit record, and so of every earlier (asynchronous) commit.
        with self._lock:
            try:
                with self._conn.transaction():
                    self._conn.execute("SET LOCAL synchronous_commit = on")
                    self._conn.execute("SELECT txid_current()")
            except self._psycopg.Error as exc:
                raise StorageError(f"cannot sync the audit log: {exc}") from exc

    def _column(self, column: str, start: int, end: int) -> list[bytes]:
        with self._lock:
            try:
                rows = self._conn.execute(
                    f"SELECT {column} FROM audit_log WHERE idx >= %s AND idx < %s ORDER BY idx",  # noqa: S608
                    (start, end),
                ).fetchall()
            except self._psycopg.Error as exc:
                raise StorageError(f"cannot read the audit log: {exc}") from exc
        return [bytes(r[0]) for r in rows]

    def size(self) -> int:
        with self._lock:
            try:
                row = self._conn.execute(
                    "SELECT COALESCE(MAX(idx) + 1, 0) FROM audit_log"
                ).fetchone()
            except self._psycopg.Error as exc:
                raise StorageError(f"cannot read the audit log: {exc}") from exc
        return int(row[0]) if row else 0

    def entries(self, start: int, end: int) -> list[bytes]:
        return self._column("entry", start, end)

    def leaf_hashes(self, start: int, end: int) -> list[bytes]:
        return self._column("leaf_hash", start, end)

    def close(self) -> None:
        self._conn.close()


def open_storage(url: str, *, durable: bool = False) -> LogStorage:
    """The storage a URL names: ``memory:``, ``sqlite:///path`` or ``postgresql://...``."""
    if url == "memory:":
        return MemoryStorage()
    if url.startswith("sqlite:///"):
        return SQLiteStorage(url.removeprefix("sqlite:///"), durable=durable)
    if url.startswith(("postgresql://", "postgres://")):
        return PostgresStorage(url, durable=durable)
    raise ConfigurationError(
        f"unsupported audit log URL {url!r}: give memory:, sqlite:///PATH or postgresql://..."
    )

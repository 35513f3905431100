"""The client's local queue of unsent readings and its sequence counters.

A reading is queued before it is sent and leaves the queue only when the platform has answered
for it, so a reading survives an unreachable platform (and, with :class:`SqliteBuffer`, a
crash or a reboot) and is sent later exactly as it was made: same time, same sequence number,
same signature, in the order it was made.

Sequence numbers come from the same place. A counter that was never used starts at the current
time in microseconds, so a device whose buffer file is lost or replaced still numbers above
everything it sent before; after that it counts up by one. :class:`SqliteBuffer` reserves
numbers in blocks on disk before handing them out, so after a crash the counter skips ahead
(a gap) but never repeats a number.

>>> buf = MemoryBuffer(clock=lambda: 1.0)
>>> buf.next_seq("d1"), buf.next_seq("d1")
(1000000, 1000001)
>>> buf.append([{"seq": 1000000}, {"seq": 1000001}])
>>> [e.item["seq"] for e in buf.head(10)]
[1000000, 1000001]
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stadswacht.client.base import Item
from stadswacht.errors import StorageError

__all__ = ["Buffer", "Entry", "MemoryBuffer", "SqliteBuffer"]

log = logging.getLogger(__name__)

DEFAULT_SEQ_BLOCK = 1000
"""Sequence numbers reserved on disk at a time; at most this many are skipped after a crash."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One queued reading: its place in the queue and, once a gateway has sealed it into an
    envelope, that envelope's id (it must be resent in exactly that envelope)."""

    id: int
    item: Item
    batch: int | None = None


class Buffer(ABC):
    """A FIFO of readings waiting to be sent, plus the per-device sequence counters."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock

    def _fresh_seq(self) -> int:
        return int(self._clock() * 1_000_000)

    @abstractmethod
    def next_seq(self, device: str) -> int:
        """The next sequence number of ``device``: greater than any it handed out before."""

    @abstractmethod
    def append(self, items: Sequence[Item]) -> None:
        """Queue ``items`` after everything already queued."""

    @abstractmethod
    def head(self, limit: int) -> list[Entry]:
        """Up to ``limit`` oldest entries, oldest first."""

    @abstractmethod
    def seal(self, ids: Sequence[int], envelope: Item) -> int:
        """Record that the entries ``ids`` travel in ``envelope``; return the envelope's id."""

    @abstractmethod
    def envelope(self, batch: int) -> Item:
        """A sealed envelope, exactly as first made."""

    @abstractmethod
    def remove(self, ids: Sequence[int]) -> None:
        """Drop entries that the platform has answered for (envelopes with no entries left go
        too)."""

    @abstractmethod
    def unseal(self, ids: Sequence[int]) -> None:
        """Take entries out of their envelope (they will travel in a new one), in place."""

    @abstractmethod
    def __len__(self) -> int:
        """Entries queued."""

    def close(self) -> None:  # noqa: B027 - optional hook, nothing to release by default
        """Persist what must be persisted and release the file."""


class MemoryBuffer(Buffer):
    """A queue in memory: lost when the process ends; at most ``max_items`` (oldest dropped).

    Its counters start from the clock, so numbers still increase across restarts as long as the
    device sends fewer than a million readings a second and its clock does not go back.
    """

    def __init__(self, max_items: int = 100_000, clock: Callable[[], float] = time.time) -> None:
        super().__init__(clock)
        self.max_items = max_items
        self.dropped = 0
        self._items: dict[int, Entry] = {}  # insertion-ordered
        self._envelopes: dict[int, Item] = {}
        self._seq: dict[str, int] = {}
        self._last_id = 0

    def next_seq(self, device: str) -> int:
        seq = self._seq.get(device)
        if seq is None:
            seq = self._fresh_seq()
        self._seq[device] = seq + 1
        return seq

    def append(self, items: Sequence[Item]) -> None:
        for item in items:
            self._last_id += 1
            self._items[self._last_id] = Entry(self._last_id, item)
        excess = len(self._items) - self.max_items
        if excess > 0:
            oldest = list(self._items)[:excess]
            self.remove(oldest)
            self.dropped += excess
            log.warning(
                "memory buffer full (%d readings): dropped the %d oldest; give the client a "
                "buffer_path to keep readings on disk",
                self.max_items,
                excess,
            )

    def head(self, limit: int) -> list[Entry]:
        out: list[Entry] = []
        for entry in self._items.values():
            if len(out) >= limit:
                break
            out.append(entry)
        return out

    def seal(self, ids: Sequence[int], envelope: Item) -> int:
        self._last_id += 1
        batch = self._last_id
        self._envelopes[batch] = envelope
        for i in ids:
            self._items[i] = Entry(i, self._items[i].item, batch)
        return batch

    def envelope(self, batch: int) -> Item:
        return self._envelopes[batch]

    def remove(self, ids: Sequence[int]) -> None:
        for i in ids:
            self._items.pop(i, None)
        live = {e.batch for e in self._items.values()}
        for batch in [b for b in self._envelopes if b not in live]:
            del self._envelopes[batch]

    def unseal(self, ids: Sequence[int]) -> None:
        for i in ids:
            if i in self._items:
                self._items[i] = Entry(i, self._items[i].item)
        self.remove([])

    def __len__(self) -> int:
        return len(self._items)


_SCHEMA = """
CREATE TABLE IF NOT EXISTS queue (
    id INTEGER PRIMARY KEY AUTOINCREMENT, item TEXT NOT NULL, batch INTEGER);
CREATE INDEX IF NOT EXISTS queue_batch ON queue (batch);
CREATE TABLE IF NOT EXISTS envelopes (id INTEGER PRIMARY KEY AUTOINCREMENT, item TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS counters (device TEXT PRIMARY KEY, next INTEGER NOT NULL);
"""


class SqliteBuffer(Buffer):
    """A queue in one SQLite file: durable (``synchronous=FULL``) and crash-safe.

    The file is locked for one process at a time, so two programs can never hand out the same
    sequence numbers. ``counters.next`` is the first number never handed out; numbers below it
    are reserved (``seq_block`` at a time) before use and given back on :meth:`close`.

    Raises:
        StorageError: the file cannot be opened, is not a buffer, or is in use.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        seq_block: int = DEFAULT_SEQ_BLOCK,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(clock)
        self.path = Path(path)
        self.seq_block = seq_block
        self._lock = threading.Lock()
        self._next: dict[str, int] = {}  # next number to hand out, per device
        self._limit: dict[str, int] = {}  # first number not reserved on disk, per device
        self._closed = False
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                self.path, timeout=0.0, isolation_level=None, check_same_thread=False
            )
            self._db.execute("PRAGMA locking_mode=EXCLUSIVE")
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
            # Take the file's lock now (EXCLUSIVE mode keeps it until close), so a second
            # process fails here rather than handing out the same sequence numbers.
            self._db.execute("BEGIN EXCLUSIVE")
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            raise StorageError(
                f"cannot open the client buffer {self.path}: {exc}; is another process using "
                "it? Each device needs its own buffer file"
            ) from exc

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _run(self, what: str, fn: Callable[[], Any]) -> Any:
        with self._lock:
            try:
                return fn()
            except sqlite3.Error as exc:
                raise StorageError(f"client buffer {self.path}: cannot {what}: {exc}") from exc

    def next_seq(self, device: str) -> int:
        def take() -> int:
            if device not in self._next:
                row = self._db.execute(
                    "SELECT next FROM counters WHERE device = ?", (device,)
                ).fetchone()
                start = int(row[0]) if row is not None else self._fresh_seq()
                self._next[device] = self._limit[device] = start
            seq = self._next[device]
            if seq >= self._limit[device]:
                limit = seq + self.seq_block
                with self._tx() as db:
                    db.execute(
                        "INSERT INTO counters (device, next) VALUES (?, ?) "
                        "ON CONFLICT (device) DO UPDATE SET next = excluded.next",
                        (device, limit),
                    )
                self._limit[device] = limit
            self._next[device] = seq + 1
            return seq

        result: int = self._run("reserve sequence numbers", take)
        return result

    def append(self, items: Sequence[Item]) -> None:
        rows = [(json.dumps(i, separators=(",", ":"), ensure_ascii=False),) for i in items]

        def put() -> None:
            with self._tx() as db:
                db.executemany("INSERT INTO queue (item) VALUES (?)", rows)

        self._run("queue readings", put)

    def head(self, limit: int) -> list[Entry]:
        def get() -> list[Entry]:
            rows = self._db.execute(
                "SELECT id, item, batch FROM queue ORDER BY id LIMIT ?", (limit,)
            ).fetchall()
            return [Entry(int(r[0]), json.loads(r[1]), r[2]) for r in rows]

        result: list[Entry] = self._run("read the queue", get)
        return result

    def seal(self, ids: Sequence[int], envelope: Item) -> int:
        def put() -> int:
            with self._tx() as db:
                cur = db.execute(
                    "INSERT INTO envelopes (item) VALUES (?)",
                    (json.dumps(envelope, separators=(",", ":"), ensure_ascii=False),),
                )
                batch = int(cur.lastrowid or 0)
                db.executemany("UPDATE queue SET batch = ? WHERE id = ?", [(batch, i) for i in ids])
            return batch

        result: int = self._run("seal a gateway envelope", put)
        return result

    def envelope(self, batch: int) -> Item:
        def get() -> Item:
            row = self._db.execute("SELECT item FROM envelopes WHERE id = ?", (batch,)).fetchone()
            if row is None:
                raise sqlite3.DatabaseError(f"envelope {batch} is missing")
            item: Item = json.loads(row[0])
            return item

        result: Item = self._run("read a gateway envelope", get)
        return result

    def remove(self, ids: Sequence[int]) -> None:
        def drop() -> None:
            with self._tx() as db:
                db.executemany("DELETE FROM queue WHERE id = ?", [(i,) for i in ids])
                db.execute(
                    "DELETE FROM envelopes WHERE id NOT IN "
                    "(SELECT batch FROM queue WHERE batch IS NOT NULL)"
                )

        self._run("drop answered readings", drop)

    def unseal(self, ids: Sequence[int]) -> None:
        def clear() -> None:
            with self._tx() as db:
                db.executemany("UPDATE queue SET batch = NULL WHERE id = ?", [(i,) for i in ids])
                db.execute(
                    "DELETE FROM envelopes WHERE id NOT IN "
                    "(SELECT batch FROM queue WHERE batch IS NOT NULL)"
                )

        self._run("unseal readings", clear)

    def __len__(self) -> int:
        def count() -> int:
            return int(self._db.execute("SELECT count(*) FROM queue").fetchone()[0])

        result: int = self._run("count the queue", count)
        return result

    def close(self) -> None:
        """Give back the unused reserved numbers (so a clean restart leaves no gap) and close."""

        def give_back() -> None:
            if self._closed:
                return
            with self._tx() as db:
                db.executemany(
                    "UPDATE counters SET next = ? WHERE device = ?",
                    [(n, d) for d, n in self._next.items()],
                )
            self._closed = True
            self._db.close()

        self._run("close", give_back)

"""Ingest's buffers for a store or a bus that is down: the durable spool and the outbox.

:class:`Spool` keeps checked readings (and the dead letters of their batch) that could not
be committed because the store failed: an append-only file, one line per batch, ``fsync``'d
before the batch is answered, bounded in bytes, read back in order by the drainer and after a
restart. :class:`Outbox` keeps stored readings (and rejection events) whose publish failed,
until the bus answers again. See ``docs/degraded-mode.md``.

The spool file, ``<spool_dir>/readings.spool``, holds one record per line::

    <crc32 of the JSON, 8 lowercase hex digits> <JSON>\\n

where the JSON is ``{"v": 1, "transport": ..., "source": ..., "readings": [...], "dead":
[...]}`` (``source`` the sender's pseudonym, or null): each
reading with the fields of :class:`~stadswacht.model.StoredReading` but ``id``, each dead
letter with those of :class:`~stadswacht.model.DeadLetter` but ``id``. ``readings.offset``
holds how many bytes of the file are drained (absent: none). A last line cut short by a crash
is cut off at open (it was never answered as buffered); a damaged line elsewhere is moved to
``readings.corrupt`` and logged. ``spool.lock`` is held (``flock``) by the one process that
owns the directory; a second process given the same ``spool_dir`` takes ``<spool_dir>.1``
(up to ``.7``), and a process that starts drains the first unowned directory that holds
readings, so what a stopped process left is drained by whichever starts next.

>>> import tempfile
>>> from stadswacht.model import StoredReading
>>> spool = Spool(Path(tempfile.mkdtemp()), max_bytes=1 << 20)
>>> r = StoredReading(device="d1", seq=1, time="2026-01-01T00:00:00.000000Z",
...     time_us=1767225600000000, kind="heartbeat", values={}, agency="a", area=None,
...     sig="c2ln", received_us=1767225600000001)
>>> spool.append([r], [], "http", None)
>>> spool.readings, [rec.readings[0].seq for rec in spool.peek(100)]
(1, [1])
>>> spool.consume(spool.peek(100)); spool.readings
0
>>> spool.close()
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import threading
import zlib
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stadswacht.config import Settings
from stadswacht.errors import StorageError
from stadswacht.ingest.metrics import OUTBOX_DROPPED, OUTBOX_MESSAGES, SPOOL_BYTES, SPOOL_READINGS
from stadswacht.model import DeadLetter, StoredReading
from stadswacht.store.base import ExistingReading

__all__ = ["Outbox", "Spool", "SpoolFull", "SpoolRecord", "spool_dir"]

log = logging.getLogger(__name__)

FILE = "readings.spool"
OFFSET_FILE = "readings.offset"
CORRUPT_FILE = "readings.corrupt"
LOCK_FILE = "spool.lock"
VERSION = 1
SLOTS = 8
"""Directories a spool may take: ``spool_dir`` and ``spool_dir.1`` .. ``spool_dir.7``."""

OutboxItem = tuple[str, bytes, str]
"""``(subject, data, msg_id)``, as :meth:`stadswacht.bus.base.Bus.publish` takes it."""


class SpoolFull(StorageError):
    """Raised when the store is down and the spool has no room left for a batch: nothing of
    the batch was kept, the sender must keep it and retry."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class SpoolRecord:
    """One spooled batch: its readings and dead letters, in arrival order."""

    readings: list[StoredReading]
    dead: list[DeadLetter]
    transport: str
    source: str | None
    end: int
    """Byte offset just past this record's line."""


def spool_dir(settings: Settings) -> Path:
    """Where a process keeps its spool: ``spool_dir`` if set, else beside the SQLite file
    (``var/stadswacht.db`` -> ``var/stadswacht.spool``), else ``var/spool``.

    >>> spool_dir(Settings(database_url="sqlite:///var/x.db"))
    PosixPath('var/x.spool')
    """
    if settings.spool_dir is not None:
        return settings.spool_dir
    if settings.store_backend == "sqlite" and settings.sqlite_path.name not in ("", ":memory:"):
        return settings.sqlite_path.with_suffix(".spool")
    return Path("var/spool")


def _encode(
    readings: Sequence[StoredReading],
    dead: Sequence[DeadLetter],
    transport: str,
    source: str | None,
) -> bytes:
    doc = {
        "v": VERSION,
        "transport": transport,
        "source": source,
        "readings": [
            {
                "device": r.device, "seq": r.seq, "time": r.time, "time_us": r.time_us,
                "kind": r.kind, "values": r.values, "agency": r.agency, "area": r.area,
                "sig": r.sig, "received_us": r.received_us,
            }
            for r in readings
        ],
        "dead": [d.model_dump(mode="json", exclude={"id"}) for d in dead],
    }  # fmt: skip
    body = json.dumps(doc, separators=(",", ":"), ensure_ascii=True).encode("ascii")
    return b"%08x %s\n" % (zlib.crc32(body), body)


def _decode(line: bytes, end: int) -> SpoolRecord:
    """One line back as a record; ``ValueError`` if it is damaged."""
    if len(line) < 10 or line[8:9] != b" " or not line.endswith(b"\n"):
        raise ValueError("not a spool line")
    body = line[9:-1]
    if int(line[:8], 16) != zlib.crc32(body):
        raise ValueError("checksum mismatch")
    doc: dict[str, Any] = json.loads(body)
    if doc.get("v") != VERSION:
        raise ValueError(f"unknown spool record version {doc.get('v')!r}")
    return SpoolRecord(
        readings=[StoredReading(**r) for r in doc["readings"]],
        dead=[DeadLetter.model_validate(d) for d in doc["dead"]],
        transport=str(doc["transport"]),
        source=doc.get("source"),
        end=end,
    )


class Spool:
    """The durable, bounded, append-only buffer of one ingest process.

    Thread-safe. Nothing touches the disk until the first :meth:`append`, unless a spool
    file is already there (left by an earlier run), which is opened and indexed at once.

    Args:
        directory: the spool's directory (made when first needed); if another process holds
            it, the first free of ``directory.1`` .. ``directory.7``.
        max_bytes: the most undrained bytes kept; a batch that would exceed it raises
            :class:`SpoolFull`.
        retry_after: what :class:`SpoolFull` tells the sender to wait [s].
    """

    def __init__(self, directory: Path, max_bytes: int, retry_after: float = 5.0) -> None:
        self.base = directory
        self.directory = directory
        """The directory this spool holds (one of :meth:`slots`), once it holds one."""
        self.max_bytes = max_bytes
        self.retry_after = retry_after
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._lock_fd: int | None = None
        self._offset = 0  # drained bytes
        self._size = 0  # bytes in the file
        self._index: dict[tuple[str, int], ExistingReading] = {}
        self._refused = False
        self._closed = False
        with self._lock:
            for slot in self.slots():
                left = slot / FILE
                if left.exists() and left.stat().st_size > 0 and self._take(slot):
                    self._open_file()
                    break

    def slots(self) -> list[Path]:
        """The directories this spool may take, in order of preference."""
        base = self.base
        return [base] + [base.with_name(f"{base.name}.{i}") for i in range(1, SLOTS)]

    # --- what the ingest service asks ------------------------------------------------------
    @property
    def path(self) -> Path:
        """The spool file."""
        return self.directory / FILE

    @property
    def readings(self) -> int:
        """Readings spooled and not yet drained."""
        return len(self._index)

    @property
    def pending_bytes(self) -> int:
        """Bytes spooled and not yet drained."""
        return self._size - self._offset

    @property
    def empty(self) -> bool:
        """Nothing waits to be drained (neither readings nor dead letters)."""
        return self._size == self._offset

    @property
    def full(self) -> bool:
        """The last batch offered was refused, and nothing was drained since."""
        return self._refused

    def pending(self, keys: Sequence[tuple[str, int]]) -> dict[tuple[str, int], ExistingReading]:
        """Of these ``(device, seq)`` keys, those spooled and not yet drained."""
        index = self._index
        if not index:
            return {}
        return {k: e for k in keys if (e := index.get(k)) is not None}

    def append(
        self,
        readings: Sequence[StoredReading],
        dead: Sequence[DeadLetter],
        transport: str,
        source: str | None,
    ) -> None:
        """Add a batch and ``fsync`` it: once this returns, the batch survives a crash.

        Raises:
            SpoolFull: no room for the batch; nothing of it was kept.
            StorageError: the spool cannot be written (disk, permissions, another owner).
        """
        line = _encode(readings, dead, transport, source)
        with self._lock:
            if self._closed:
                raise StorageError("the ingest spool is closed")
            if self._fd is None:
                self._open()
            assert self._fd is not None
            if self.pending_bytes + len(line) > self.max_bytes:
                self._refused = True
                raise SpoolFull(
                    f"the store is unavailable and the ingest spool is full ({self.readings} "
                    f"readings, {self.pending_bytes} of {self.max_bytes} bytes); nothing of this "
                    "batch was kept: keep the readings and send them again later",
                    retry_after=self.retry_after,
                )
            try:
                os.write(self._fd, line)
                os.fsync(self._fd)
            except OSError as exc:
                # A partial line is cut off when the spool is next opened.
                raise StorageError(f"cannot write the ingest spool {self.path}: {exc}") from exc
            self._size += len(line)
            for r in readings:
                self._index[(r.device, r.seq)] = ExistingReading(r.sig, r.received_us)
            self._gauges()

    def peek(self, max_readings: int) -> list[SpoolRecord]:
        """The oldest undrained records, whole, with about ``max_readings`` readings in all
        (at least one record)."""
        with self._lock:
            if self._fd is None or self.empty:
                return []
            records: list[SpoolRecord] = []
            count = 0
            with self.path.open("rb") as f:
                f.seek(self._offset)
                pos = self._offset
                while pos < self._size and (not records or count < max_readings):
                    line = f.readline()
                    pos += len(line)
                    try:
                        record = _decode(line, pos)
                    except (ValueError, KeyError, TypeError) as exc:
                        self._quarantine(line, exc)
                        record = SpoolRecord([], [], "cli", None, pos)
                    records.append(record)
                    count += len(record.readings)
            return records

    def consume(self, records: Sequence[SpoolRecord]) -> None:
        """Mark ``records`` (the head, as :meth:`peek` gave them) drained."""
        if not records:
            return
        with self._lock:
            for rec in records:
                for r in rec.readings:
                    self._index.pop((r.device, r.seq), None)
            self._offset = max(self._offset, records[-1].end)
            self._refused = False
            if self._offset >= self._size:
                self._truncate()
            elif self._offset >= max(self.max_bytes // 2, 1 << 20):
                self._compact()
            else:
                self._write_offset()
            self._gauges()

    def close(self) -> None:
        """Release the file and the directory's lock; what is spooled stays for the next run."""
        with self._lock:
            self._closed = True
            for fd in (self._fd, self._lock_fd):
                if fd is not None:
                    os.close(fd)
            self._fd = self._lock_fd = None

    # --- the file ---------------------------------------------------------------------------
    def _open(self) -> None:
        for slot in self.slots():
            if self._take(slot):
                self._open_file()
                return
        raise StorageError(
            f"the ingest spool directories {self.base} .. {self.slots()[-1].name} are all held "
            "by other ingest processes; give each process its own STADSWACHT_SPOOL_DIR"
        )

    def _take(self, directory: Path) -> bool:
        """Lock ``directory`` for this process; False if another process holds it."""
        try:
            directory.mkdir(parents=True, exist_ok=True)
            lock_fd = os.open(directory / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise StorageError(f"cannot open the ingest spool in {directory}: {exc}") from exc
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(lock_fd)
            return False
        self.directory = directory
        self._lock_fd = lock_fd
        return True

    def _open_file(self) -> None:
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        self._size = os.fstat(self._fd).st_size
        try:
            self._offset = min(int((self.directory / OFFSET_FILE).read_text()), self._size)
        except (OSError, ValueError):
            self._offset = 0
        self._load()

    def _load(self) -> None:
        """Index what an earlier run left; cut off a torn last line."""
        good = self._offset
        with self.path.open("rb") as f:
            f.seek(self._offset)
            pos = self._offset
            for line in f:
                pos += len(line)
                try:
                    record = _decode(line, pos)
                except (ValueError, KeyError, TypeError) as exc:
                    if pos >= self._size:  # the last line, cut short by a crash mid-write
                        log.warning("cutting a torn last record off the spool %s", self.path)
                        break
                    self._quarantine(line, exc)
                    good = pos
                    continue
                good = pos
                for r in record.readings:
                    self._index[(r.device, r.seq)] = ExistingReading(r.sig, r.received_us)
        if good < self._size:
            os.ftruncate(self._fd, good)  # type: ignore[arg-type]
            self._size = good
        if not self.empty:
            log.warning(
                "the ingest spool %s holds %d readings from an earlier run; draining them",
                self.path,
                self.readings,
            )
        self._gauges()

    def _quarantine(self, line: bytes, exc: Exception) -> None:
        log.error(
            "a damaged spool record (%d bytes: %s) moved to %s",
            len(line),
            exc,
            self.directory / CORRUPT_FILE,
        )
        with contextlib.suppress(OSError), (self.directory / CORRUPT_FILE).open("ab") as f:
            f.write(line if line.endswith(b"\n") else line + b"\n")

    def _write_offset(self) -> None:
        tmp = self.directory / (OFFSET_FILE + ".tmp")
        try:
            with tmp.open("w") as f:
                f.write(str(self._offset))
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.directory / OFFSET_FILE)
        except OSError as exc:
            # Not fatal: without the offset, drained records are drained again, and the
            # store's (device, seq) check makes them duplicates.
            log.warning("cannot record the spool's drained offset: %s", exc)

    def _truncate(self) -> None:
        assert self._fd is not None
        os.ftruncate(self._fd, 0)
        os.fsync(self._fd)
        self._offset = self._size = 0
        with contextlib.suppress(FileNotFoundError):
            (self.directory / OFFSET_FILE).unlink()

    def _compact(self) -> None:
        """Rewrite the undrained tail as a new file, so a spool that never runs dry (the
        store is back but readings keep arriving) does not grow without end."""
        assert self._fd is not None
        tmp = self.directory / (FILE + ".tmp")
        with self.path.open("rb") as src, tmp.open("wb") as dst:
            src.seek(self._offset)
            while chunk := src.read(1 << 20):
                dst.write(chunk)
            dst.flush()
            os.fsync(dst.fileno())
        os.replace(tmp, self.path)
        with contextlib.suppress(FileNotFoundError):
            (self.directory / OFFSET_FILE).unlink()
        os.close(self._fd)
        self._fd = os.open(self.path, os.O_RDWR | os.O_APPEND)
        self._size -= self._offset
        self._offset = 0

    def _gauges(self) -> None:
        SPOOL_READINGS.set(len(self._index))
        SPOOL_BYTES.set(self._size - self._offset)


class Outbox:
    """Messages that could not be published, oldest first, until the bus answers again.

    In memory and bounded: past ``max_messages`` the oldest are dropped (counted and logged;
    dropped readings are still in the store, only live consumers miss them). Thread-safe.
    """

    def __init__(self, max_messages: int) -> None:
        self.max_messages = max_messages
        self._items: deque[OutboxItem] = deque()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    def add(self, items: Sequence[OutboxItem]) -> None:
        """Queue ``items`` behind those already waiting."""
        with self._lock:
            self._items.extend(items)
            over = len(self._items) - self.max_messages
            if over > 0:
                for _ in range(over):
                    self._items.popleft()
                OUTBOX_DROPPED.inc(over)
                log.error(
                    "the bus outbox is full: dropped the %d oldest unpublished messages "
                    "(readings among them are stored, live consumers miss them)",
                    over,
                )
            OUTBOX_MESSAGES.set(len(self._items))

    def peek(self, n: int) -> list[OutboxItem]:
        """The oldest ``n`` messages, left in place."""
        with self._lock:
            return [self._items[i] for i in range(min(n, len(self._items)))]

    def consume(self, items: Sequence[OutboxItem]) -> None:
        """Remove ``items`` (the head, as :meth:`peek` gave them) once published."""
        with self._lock:
            for item in items:
                if self._items and self._items[0] is item:
                    self._items.popleft()
            OUTBOX_MESSAGES.set(len(self._items))

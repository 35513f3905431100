"""The embedded store: one SQLite file in WAL mode with ``synchronous=FULL``.

One writer connection behind a lock; each reading thread gets its own connection, so readers
never wait for the writer (WAL). ``commit`` returns only after the batch is on disk.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from stadswacht.errors import AlreadyExists, NotFound, StorageError, UnknownDevice, UnknownUser
from stadswacht.model import Agency, Area, DeadLetter, Detection, Device, StoredReading, User
from stadswacht.store.base import (
    DetectionQuery,
    ExistingReading,
    FuseDecision,
    IncidentChange,
    IncidentQuery,
    PostQuery,
    ReadingQuery,
    Store,
    StoredAlert,
    StoredForecastRun,
    StoredIncident,
    StoredPost,
    Where,
    detection_where,
    forecast_run_where,
    incident_where,
    post_where,
    reading_where,
)

__all__ = ["SQLiteStore"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS agencies (id TEXT PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS areas (id TEXT PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS devices (
    id TEXT PRIMARY KEY, agency TEXT NOT NULL, status TEXT NOT NULL, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS users (name TEXT PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS readings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    device TEXT NOT NULL, seq INTEGER NOT NULL, time TEXT NOT NULL, time_us INTEGER NOT NULL,
    kind TEXT NOT NULL, vals TEXT NOT NULL, agency TEXT NOT NULL, area TEXT,
    sig TEXT NOT NULL, received_us INTEGER NOT NULL,
    UNIQUE (device, seq));
CREATE INDEX IF NOT EXISTS readings_time ON readings (time_us);
CREATE INDEX IF NOT EXISTS readings_kind_time ON readings (kind, time_us);
CREATE INDEX IF NOT EXISTS readings_area_time ON readings (area, time_us);
CREATE TABLE IF NOT EXISTS dead_letters (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    received_us INTEGER NOT NULL, reason TEXT NOT NULL, message TEXT NOT NULL,
    device TEXT, seq INTEGER, transport TEXT NOT NULL, source TEXT, payload TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS dead_letters_device ON dead_letters (device, id);
CREATE INDEX IF NOT EXISTS dead_letters_reason ON dead_letters (reason, id);
CREATE TABLE IF NOT EXISTS detections (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, agency TEXT NOT NULL, area TEXT,
    time_us INTEGER NOT NULL, version INTEGER NOT NULL, doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS detections_time ON detections (time_us);
CREATE TABLE IF NOT EXISTS cap_alerts (
    identifier TEXT PRIMARY KEY, sent_us INTEGER NOT NULL, detection TEXT NOT NULL,
    version INTEGER NOT NULL, msg_type TEXT NOT NULL, area TEXT, xml BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS cap_alerts_sent ON cap_alerts (sent_us);
CREATE INDEX IF NOT EXISTS cap_alerts_detection ON cap_alerts (detection, version);
CREATE TABLE IF NOT EXISTS incidents (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, status TEXT NOT NULL, is_open INTEGER NOT NULL,
    agency TEXT NOT NULL, area TEXT, first_us INTEGER NOT NULL, last_us INTEGER NOT NULL,
    version INTEGER NOT NULL, doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS incidents_open ON incidents (is_open, last_us);
CREATE INDEX IF NOT EXISTS incidents_last ON incidents (last_us);
CREATE TABLE IF NOT EXISTS incident_evidence (
    detection TEXT PRIMARY KEY, incident TEXT NOT NULL REFERENCES incidents (id));
CREATE TABLE IF NOT EXISTS forecast_runs (
    id TEXT PRIMARY KEY, model TEXT NOT NULL, agency TEXT NOT NULL, day TEXT NOT NULL,
    created_us INTEGER NOT NULL, doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS forecast_runs_newest ON forecast_runs (agency, model, day, created_us);
CREATE TABLE IF NOT EXISTS posts (
    id TEXT PRIMARY KEY, source TEXT NOT NULL, agency TEXT NOT NULL, area TEXT,
    time_us INTEGER NOT NULL, received_us INTEGER NOT NULL, author TEXT NOT NULL,
    relevant INTEGER NOT NULL, info_type TEXT NOT NULL, doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS posts_time ON posts (time_us);
CREATE INDEX IF NOT EXISTS posts_area_time ON posts (area, time_us);
"""

_ALERT_COLUMNS = "identifier, sent_us, detection, version, msg_type, area, xml"
_INCIDENT_COLUMNS = "id, kind, status, is_open, agency, area, first_us, last_us, version, doc"
_RUN_COLUMNS = "id, model, agency, day, created_us, doc"


def _direction(query: DetectionQuery) -> str:
    return "DESC" if query.newest_first else "ASC"


def _alert_from_row(row: Any) -> StoredAlert:
    return StoredAlert(row[0], int(row[1]), row[2], int(row[3]), row[4], row[5], bytes(row[6]))


_SURROGATES = re.compile("[\ud800-\udfff]")

_READING_COLS = "id, device, seq, time, time_us, kind, vals, agency, area, sig, received_us"


def _reading_from_row(row: Sequence[Any]) -> StoredReading:
    return StoredReading(
        id=row[0],
        device=row[1],
        seq=row[2],
        time=row[3],
        time_us=row[4],
        kind=row[5],
        values=json.loads(row[6]),
        agency=row[7],
        area=row[8],
        sig=row[9],
        received_us=row[10],
    )


def _text(value: str | None) -> str | None:
    """``value`` with unpaired surrogates (which UTF-8 cannot encode) replaced by U+FFFD.

    A dead letter's raw text comes from rejected input (JSON may escape a lone surrogate);
    storing it must never fail the batch it arrived with.
    """
    return None if value is None else _SURROGATES.sub("\ufffd", value)


def _dead_letter_from_row(row: Sequence[Any]) -> DeadLetter:
    return DeadLetter(
        id=row[0],
        received_us=row[1],
        reason=row[2],
        message=row[3],
        device=row[4],
        seq=row[5],
        transport=row[6],
        source=row[7],
        payload=row[8],
    )


class SQLiteStore(Store):
    """A :class:`Store` in one SQLite file.

    >>> import tempfile, pathlib
    >>> s = SQLiteStore(pathlib.Path(tempfile.mkdtemp()) / "t.db")
    >>> s.count_readings()
    0
    >>> s.close()
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._closed = False
        try:
            self._writer = self._connect()
            self._writer.executescript(SCHEMA)
        except sqlite3.Error as exc:
            raise StorageError(f"cannot open SQLite store {self.path}: {exc}") from exc

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path, check_same_thread=False, isolation_level=None, timeout=30.0
        )
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA busy_timeout=30000")
        return conn

    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
            with self._lock:
                self._readers.append(conn)
        return conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        if self._closed:
            raise StorageError("the store is closed")
        with self._lock:
            conn = self._writer
            try:
                conn.execute("BEGIN IMMEDIATE")
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        if self._closed:
            raise StorageError("the store is closed")
        try:
            return self._reader().execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise StorageError(f"SQLite read failed: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            for conn in [self._writer, *self._readers]:
                conn.close()

    def ping(self) -> None:
        self._read("SELECT 1")

    # --- agencies and areas ---------------------------------------------------------------
    def put_agency(self, agency: Agency) -> None:
        with self._write() as c:
            c.execute(
                "INSERT OR REPLACE INTO agencies (id, doc) VALUES (?, ?)",
                (agency.id, agency.model_dump_json()),
            )

    def list_agencies(self) -> list[Agency]:
        rows = self._read("SELECT doc FROM agencies ORDER BY id")
        return [Agency.model_validate_json(r[0]) for r in rows]

    def put_area(self, area: Area) -> None:
        with self._write() as c:
            c.execute(
                "INSERT OR REPLACE INTO areas (id, doc) VALUES (?, ?)",
                (area.id, area.model_dump_json()),
            )

    def list_areas(self) -> list[Area]:
        rows = self._read("SELECT doc FROM areas ORDER BY id")
        return [Area.model_validate_json(r[0]) for r in rows]

    # --- devices --------------------------------------------------------------------------
    def add_device(self, device: Device) -> None:
        try:
            with self._write() as c:
                c.execute(
                    "INSERT INTO devices (id, agency, status, doc) VALUES (?, ?, ?, ?)",
                    (device.id, device.agency, device.status.value, device.model_dump_json()),
                )
        except sqlite3.IntegrityError as exc:
            raise AlreadyExists(f"device {device.id!r} is already registered") from exc
        except sqlite3.Error as exc:
            raise StorageError(f"cannot add device {device.id!r}: {exc}") from exc

    def update_device(self, device: Device) -> None:
        try:
            with self._write() as c:
                cur = c.execute(
                    "UPDATE devices SET agency = ?, status = ?, doc = ? WHERE id = ?",
                    (device.agency, device.status.value, device.model_dump_json(), device.id),
                )
                if cur.rowcount == 0:
                    raise UnknownDevice(f"device {device.id!r} is not registered")
        except sqlite3.Error as exc:
            raise StorageError(f"cannot update device {device.id!r}: {exc}") from exc

    def get_device(self, device_id: str) -> Device:
        rows = self._read("SELECT doc FROM devices WHERE id = ?", (device_id,))
        if not rows:
            raise UnknownDevice(f"device {device_id!r} is not registered")
        return Device.model_validate_json(rows[0][0])

    def list_devices(self, agency: str | None = None) -> list[Device]:
        if agency is None:
            rows = self._read("SELECT doc FROM devices ORDER BY id")
        else:
            rows = self._read("SELECT doc FROM devices WHERE agency = ? ORDER BY id", (agency,))
        return [Device.model_validate_json(r[0]) for r in rows]

    # --- users ----------------------------------------------------------------------------
    def add_user(self, user: User) -> None:
        try:
            with self._write() as c:
                c.execute(
                    "INSERT INTO users (name, doc) VALUES (?, ?)",
                    (user.name, user.model_dump_json()),
                )
        except sqlite3.IntegrityError as exc:
            raise AlreadyExists(f"user {user.name!r} already exists") from exc
        except sqlite3.Error as exc:
            raise StorageError(f"cannot add user {user.name!r}: {exc}") from exc

    def get_user(self, name: str) -> User:
        rows = self._read("SELECT doc FROM users WHERE name = ?", (name,))
        if not rows:
            raise UnknownUser(f"user {name!r} does not exist")
        return User.model_validate_json(rows[0][0])

    def list_users(self) -> list[User]:
        return [
            User.model_validate_json(r[0])
            for r in self._read("SELECT doc FROM users ORDER BY name")
        ]

    # --- readings -------------------------------------------------------------------------
    def existing(self, keys: Sequence[tuple[str, int]]) -> dict[tuple[str, int], ExistingReading]:
        out: dict[tuple[str, int], ExistingReading] = {}
        by_device: dict[str, list[int]] = {}
        for device, seq in keys:
            by_device.setdefault(device, []).append(seq)
        for device, seqs in by_device.items():
            for i in range(0, len(seqs), 500):
                chunk = seqs[i : i + 500]
                marks = ",".join("?" * len(chunk))
                rows = self._read(
                    f"SELECT seq, sig, received_us FROM readings "  # noqa: S608 - only '?' marks
                    f"WHERE device = ? AND seq IN ({marks})",
                    (device, *chunk),
                )
                for seq, sig, received in rows:
                    out[(device, seq)] = ExistingReading(sig, received)
        return out

    def commit(
        self, readings: Sequence[StoredReading], dead_letters: Sequence[DeadLetter]
    ) -> list[StoredReading]:
        inserted: list[StoredReading] = []
        try:
            with self._write() as c:
                if readings:
                    # Under BEGIN IMMEDIATE no other writer runs, so the keys found here are
                    # exactly those that would conflict, and AUTOINCREMENT hands the new rows
                    # consecutive ids: one executemany instead of a statement per row.
                    taken = self._taken(c, readings)
                    fresh: list[StoredReading] = []
                    batch_keys: set[tuple[str, int]] = set()
                    for r in readings:
                        key = (r.device, r.seq)
                        if key in taken or key in batch_keys:
                            continue
                        batch_keys.add(key)
                        fresh.append(r)
                    if fresh:
                        c.executemany(
                            "INSERT INTO readings (device, seq, time, time_us, kind, vals, "
                            "agency, area, sig, received_us) VALUES (?,?,?,?,?,?,?,?,?,?)",
                            [
                                (
                                    r.device,
                                    r.seq,
                                    r.time,
                                    r.time_us,
                                    r.kind,
                                    r.values_text(),
                                    r.agency,
                                    r.area,
                                    r.sig,
                                    r.received_us,
                                )
                                for r in fresh
                            ],
                        )
                        last = c.execute("SELECT last_insert_rowid()").fetchone()[0]
                        first = last - len(fresh) + 1
                        inserted = [
                            StoredReading(
                                id=first + i,
                                device=r.device,
                                seq=r.seq,
                                time=r.time,
                                time_us=r.time_us,
                                kind=r.kind,
                                values=r.values,
                                agency=r.agency,
                                area=r.area,
                                sig=r.sig,
                                received_us=r.received_us,
                                values_json=r.values_json,
                            )
                            for i, r in enumerate(fresh)
                        ]
                if dead_letters:
                    c.executemany(
                        "INSERT INTO dead_letters (received_us, reason, message, device, seq, "
                        "transport, source, payload) VALUES (?,?,?,?,?,?,?,?)",
                        [
                            (
                                d.received_us,
                                _text(d.reason),
                                _text(d.message),
                                _text(d.device),
                                d.seq,
                                d.transport,
                                _text(d.source),
                                _text(d.payload),
                            )
                            for d in dead_letters
                        ],
                    )
        except sqlite3.Error as exc:
            raise StorageError(f"cannot store batch of {len(readings)} readings: {exc}") from exc
        return inserted

    @staticmethod
    def _taken(c: sqlite3.Connection, readings: Sequence[StoredReading]) -> set[tuple[str, int]]:
        by_device: dict[str, list[int]] = {}
        for r in readings:
            by_device.setdefault(r.device, []).append(r.seq)
        taken: set[tuple[str, int]] = set()
        for device, seqs in by_device.items():
            for i in range(0, len(seqs), 500):
                chunk = seqs[i : i + 500]
                marks = ",".join("?" * len(chunk))
                rows = c.execute(
                    f"SELECT seq FROM readings WHERE device = ? AND seq IN ({marks})",  # noqa: S608
                    (device, *chunk),
                ).fetchall()
                taken.update((device, row[0]) for row in rows)
        return taken

    def query_readings(self, query: ReadingQuery) -> list[StoredReading]:
        where = reading_where(query, "?")
        if where is None:
            return []
        rows = self._read(
            f"SELECT {_READING_COLS} FROM readings WHERE {where.sql} "  # noqa: S608
            "ORDER BY id LIMIT ?",
            [*where.params, query.limit],
        )
        return [_reading_from_row(r) for r in rows]

    def count_readings(self) -> int:
        return int(self._read("SELECT count(*) FROM readings")[0][0])

    def list_dead_letters(
        self,
        *,
        device: str | None = None,
        reason: str | None = None,
        devices: frozenset[str] | None = None,
        after_id: int = 0,
        limit: int = 1000,
    ) -> list[DeadLetter]:
        where = Where("?").compare("id", ">", after_id).equal("device", device)
        if not where.equal("reason", reason).within("device", devices):
            return []
        rows = self._read(
            "SELECT id, received_us, reason, message, device, seq, transport, source, payload "  # noqa: S608
            f"FROM dead_letters WHERE {where.sql} ORDER BY id LIMIT ?",
            [*where.params, limit],
        )
        return [_dead_letter_from_row(r) for r in rows]

    # --- detections -------------------------------------------------------------------------
    def put_detection(self, detection: Detection) -> None:
        d = detection
        try:
            with self._write() as c:
                # An older version never overwrites a newer one (redelivered bus messages).
                c.execute(
                    "INSERT INTO detections (id, kind, agency, area, time_us, version, doc) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
                    "kind = excluded.kind, agency = excluded.agency, area = excluded.area, "
                    "time_us = excluded.time_us, version = excluded.version, doc = excluded.doc "
                    "WHERE excluded.version >= detections.version",
                    (d.id, d.kind, d.agency, d.area, d.time_us, d.version, d.model_dump_json()),
                )
        except sqlite3.Error as exc:
            raise StorageError(f"cannot store detection {d.id!r}: {exc}") from exc

    def get_detection(self, detection_id: str) -> Detection:
        rows = self._read("SELECT doc FROM detections WHERE id = ?", (detection_id,))
        if not rows:
            raise NotFound(f"no detection {detection_id!r}")
        return Detection.model_validate_json(rows[0][0])

    def list_detections(self, query: DetectionQuery) -> list[Detection]:
        where = detection_where(query, "?")
        if where is None:
            return []
        rows = self._read(
            f"SELECT doc FROM detections WHERE {where.sql} "  # noqa: S608
            f"ORDER BY time_us {_direction(query)}, id {_direction(query)} LIMIT ?",
            [*where.params, query.limit],
        )
        return [Detection.model_validate_json(r[0]) for r in rows]

    # --- CAP alerts ---------------------------------------------------------------------------
    def put_alert(self, alert: StoredAlert) -> bool:
        a = alert
        try:
            with self._write() as c:
                cur = c.execute(
                    "INSERT INTO cap_alerts (identifier, sent_us, detection, version, msg_type, "
                    "area, xml) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (identifier) DO NOTHING",
                    (a.identifier, a.sent_us, a.detection, a.version, a.msg_type, a.area, a.xml),
                )
                return cur.rowcount == 1
        except sqlite3.Error as exc:
            raise StorageError(f"cannot store CAP alert {a.identifier!r}: {exc}") from exc

    def get_alert(self, identifier: str) -> StoredAlert:
        rows = self._read(
            f"SELECT {_ALERT_COLUMNS} FROM cap_alerts WHERE identifier = ?",  # noqa: S608
            (identifier,),
        )
        if not rows:
            raise NotFound(f"no CAP alert {identifier!r}")
        return _alert_from_row(rows[0])

    def list_alerts(
        self, *, detection: str | None = None, since_us: int | None = None, limit: int = 100
    ) -> list[StoredAlert]:
        sql = f"SELECT {_ALERT_COLUMNS} FROM cap_alerts WHERE 1 = 1"  # noqa: S608
        params: list[Any] = []
        if detection is not None:
            sql += " AND detection = ?"
            params.append(detection)
        if since_us is not None:
            sql += " AND sent_us > ?"
            params.append(since_us)
        rows = self._read(sql + " ORDER BY sent_us DESC, version DESC LIMIT ?", [*params, limit])
        return [_alert_from_row(r) for r in rows]

    # --- incidents (fusion, #7) ---------------------------------------------------------------
    # BEGIN IMMEDIATE (in _write) takes SQLite's one write lock before the first read, so every
    # other writer, in this process or another, waits: the decision reads what it writes over.
    def fuse_incident(
        self, detection: str, since_us: int, decide: FuseDecision
    ) -> StoredIncident | None:
        try:
            with self._write() as c:
                row = c.execute(
                    f"SELECT {_INCIDENT_COLUMNS} FROM incidents WHERE id = "  # noqa: S608
                    "(SELECT incident FROM incident_evidence WHERE detection = ?)",
                    (detection,),
                ).fetchone()
                attached = None if row is None else _incident_from_row(row)
                rows = c.execute(
                    f"SELECT {_INCIDENT_COLUMNS} FROM incidents "  # noqa: S608
                    "WHERE is_open = 1 AND last_us >= ? ORDER BY last_us DESC, id",
                    (since_us,),
                ).fetchall()
                result = decide(attached, [_incident_from_row(r) for r in rows])
                if result is None:
                    return None
                _put_incident(c, result)
                c.execute(
                    "INSERT INTO incident_evidence (detection, incident) VALUES (?, ?) "
                    "ON CONFLICT (detection) DO UPDATE SET incident = excluded.incident",
                    (detection, result.id),
                )
                return result
        except sqlite3.Error as exc:
            raise StorageError(f"cannot fuse detection {detection!r}: {exc}") from exc

    def update_incident(self, incident_id: str, change: IncidentChange) -> StoredIncident:
        try:
            with self._write() as c:
                row = c.execute(
                    f"SELECT {_INCIDENT_COLUMNS} FROM incidents WHERE id = ?",  # noqa: S608
                    (incident_id,),
                ).fetchone()
                if row is None:
                    raise NotFound(f"no incident {incident_id!r}")
                current = _incident_from_row(row)
                result = change(current)
                if result is None:
                    return current
                _put_incident(c, result)
                return result
        except sqlite3.Error as exc:
            raise StorageError(f"cannot update incident {incident_id!r}: {exc}") from exc

    def get_incident(self, incident_id: str) -> StoredIncident:
        rows = self._read(
            f"SELECT {_INCIDENT_COLUMNS} FROM incidents WHERE id = ?",  # noqa: S608
            (incident_id,),
        )
        if not rows:
            raise NotFound(f"no incident {incident_id!r}")
        return _incident_from_row(rows[0])

    def list_incidents(self, query: IncidentQuery) -> list[StoredIncident]:
        where = incident_where(query, "?")
        if where is None:
            return []
        rows = self._read(
            f"SELECT {_INCIDENT_COLUMNS} FROM incidents WHERE {where.sql} "  # noqa: S608
            "ORDER BY last_us DESC, id LIMIT ?",
            [*where.params, query.limit],
        )
        return [_incident_from_row(r) for r in rows]

    def incident_of(self, detection: str) -> str | None:
        rows = self._read(
            "SELECT incident FROM incident_evidence WHERE detection = ?", (detection,)
        )
        return str(rows[0][0]) if rows else None

    # --- retention (privacy, #7) -----------------------------------------------------------
    def purge_readings(self, kind: str | None, before_us: int) -> int:
        if kind is None:
            return self._purge("readings", "time_us < ?", (before_us,))
        return self._purge("readings", "kind = ? AND time_us < ?", (kind, before_us))

    def purge_dead_letters(self, before_us: int) -> int:
        return self._purge("dead_letters", "received_us < ?", (before_us,))

    def purge_detections(self, before_us: int) -> int:
        return self._purge("detections", "time_us < ?", (before_us,))

    def purge_alerts(self, before_us: int) -> int:
        return self._purge("cap_alerts", "sent_us < ?", (before_us,))

    def purge_incidents(self, before_us: int) -> int:
        closed = "SELECT id FROM incidents WHERE is_open = 0 AND last_us < ?"
        try:
            with self._write() as c:
                c.execute(
                    f"DELETE FROM incident_evidence WHERE incident IN ({closed})",  # noqa: S608
                    (before_us,),
                )
                n = c.execute(f"DELETE FROM incidents WHERE id IN ({closed})", (before_us,))  # noqa: S608
                return n.rowcount
        except sqlite3.Error as exc:
            raise StorageError(f"cannot purge incidents: {exc}") from exc

    # --- forecast runs (hotspots, #8) ----------------------------------------------------------
    def put_forecast_run(self, run: StoredForecastRun) -> None:
        r = run
        try:
            with self._write() as c:
                c.execute(
                    f"INSERT INTO forecast_runs ({_RUN_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",  # noqa: S608
                    (r.id, r.model, r.agency, r.day, r.created_us, r.doc),
                )
        except sqlite3.IntegrityError as exc:
            raise AlreadyExists(f"forecast run {r.id!r} exists already") from exc
        except sqlite3.Error as exc:
            raise StorageError(f"cannot store forecast run {r.id!r}: {exc}") from exc

    def get_forecast_run(self, run_id: str) -> StoredForecastRun:
        rows = self._read(
            f"SELECT {_RUN_COLUMNS} FROM forecast_runs WHERE id = ?",  # noqa: S608
            (run_id,),
        )
        if not rows:
            raise NotFound(f"no forecast run {run_id!r}")
        return StoredForecastRun(*rows[0])

    def list_forecast_runs(
        self,
        *,
        agencies: frozenset[str] | None = None,
        model: str | None = None,
        limit: int = 100,
    ) -> list[StoredForecastRun]:
        where = forecast_run_where(agencies, model, "?")
        if where is None:
            return []
        rows = self._read(
            f"SELECT {_RUN_COLUMNS} FROM forecast_runs WHERE {where.sql} "  # noqa: S608
            "ORDER BY day DESC, created_us DESC, id LIMIT ?",
            [*where.params, limit],
        )
        return [StoredForecastRun(*r) for r in rows]

    # --- posts (web signals, #10) --------------------------------------------------------------
    def put_posts(self, posts: Sequence[StoredPost]) -> int:
        rows = [
            (p.id, p.source, p.agency, p.area, p.time_us, p.received_us, p.author,
             int(p.relevant), p.info_type, p.doc)
            for p in posts
        ]  # fmt: skip
        try:
            with self._write() as c:
                before = c.total_changes
                c.executemany(
                    f"INSERT INTO posts ({_POST_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?) "  # noqa: S608
                    "ON CONFLICT (id) DO NOTHING",
                    rows,
                )
                return c.total_changes - before
        except sqlite3.Error as exc:
            raise StorageError(f"cannot store {len(rows)} posts: {exc}") from exc

    def list_posts(self, query: PostQuery) -> list[StoredPost]:
        where = post_where(query, "?")
        if where is None:
            return []
        order = "DESC" if query.newest_first else "ASC"
        rows = self._read(
            f"SELECT {_POST_COLUMNS} FROM posts WHERE {where.sql} "  # noqa: S608
            f"ORDER BY time_us {order}, id {order} LIMIT ?",
            [*where.params, query.limit],
        )
        return [_post_from_row(r) for r in rows]

    def purge_posts(self, before_us: int) -> int:
        # On the earlier of posted and received: a post dated in the future is not kept longer.
        return self._purge("posts", "time_us < ? OR received_us < ?", (before_us, before_us))

    def _purge(self, table: str, where: str, params: tuple[Any, ...]) -> int:
        # Batches of purge_batch rows, one transaction each: ingest waits at most one batch.
        sql = (
            f"DELETE FROM {table} WHERE rowid IN ("  # noqa: S608
            f"SELECT rowid FROM {table} WHERE {where} LIMIT ?)"
        )
        total = 0
        while True:
            try:
                with self._write() as c:
                    n = c.execute(sql, (*params, self.purge_batch)).rowcount
            except sqlite3.Error as exc:
                raise StorageError(f"cannot purge {table}: {exc}") from exc
            total += n
            if n < self.purge_batch:
                return total


_POST_COLUMNS = "id, source, agency, area, time_us, received_us, author, relevant, info_type, doc"


def _post_from_row(row: Sequence[Any]) -> StoredPost:
    return StoredPost(
        id=row[0], source=row[1], agency=row[2], area=row[3], time_us=int(row[4]),
        received_us=int(row[5]), author=row[6], relevant=bool(row[7]), info_type=row[8],
        doc=row[9] if isinstance(row[9], str) else json.dumps(row[9]),
    )  # fmt: skip


def _incident_from_row(row: Sequence[Any]) -> StoredIncident:
    return StoredIncident(
        id=row[0], kind=row[1], status=row[2], open=bool(row[3]), agency=row[4], area=row[5],
        first_us=int(row[6]), last_us=int(row[7]), version=int(row[8]), doc=row[9],
    )  # fmt: skip


def _put_incident(c: sqlite3.Connection, i: StoredIncident) -> None:
    """Insert a new incident (version 1) or replace the stored one (the version before)."""
    if i.version == 1:
        c.execute(
            f"INSERT INTO incidents ({_INCIDENT_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)",  # noqa: S608
            (i.id, i.kind, i.status, int(i.open), i.agency, i.area, i.first_us, i.last_us,
             i.version, i.doc),
        )  # fmt: skip
        return
    cur = c.execute(
        "UPDATE incidents SET kind = ?, status = ?, is_open = ?, agency = ?, area = ?, "
        "first_us = ?, last_us = ?, version = ?, doc = ? WHERE id = ? AND version = ?",
        (i.kind, i.status, int(i.open), i.agency, i.area, i.first_us, i.last_us, i.version,
         i.doc, i.id, i.version - 1),
    )  # fmt: skip
    if cur.rowcount != 1:
        raise StorageError(
            f"incident {i.id!r} version {i.version} does not follow the stored version; "
            "read it again and retry"
        )

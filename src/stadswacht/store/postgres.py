"""The scaled-out store: PostgreSQL through psycopg 3 and a thread-safe connection pool.

Several ingest processes may write side by side. ``commit`` is one transaction that inserts
the whole batch with ``INSERT ... ON CONFLICT (device, seq) DO NOTHING RETURNING``, so each
process learns exactly which readings it stored; a ``(device, seq)`` that another process
stored first is skipped, never stored twice. Rows go in sorted by ``(device, seq)`` so that
two overlapping batches take their row locks in the same order and cannot deadlock. The batch
travels by binary ``COPY`` into a per-connection temporary table (the fastest way measured),
so a pooler in front of PostgreSQL must keep sessions (PgBouncer ``pool_mode = session``).

The schema is created on open (``IF NOT EXISTS``, under an advisory lock so that processes
starting together do not trip over each other). Where the PostGIS extension can be used,
devices also get a ``geography(Point, 4326)`` column with a GiST index; without PostGIS the
store works the same, with plain ``lat``/``lon`` columns.

JSON documents are kept in ``json`` (not ``jsonb``) columns: ``json`` keeps the text exactly
and accepts ``\\u0000`` and unpaired surrogate escapes, which ``jsonb`` rejects, so a value
that a device may legally send never makes a batch fail. PostgreSQL ``text`` cannot hold a NUL
character, so NULs (and unpaired surrogates) in dead letters' raw text are replaced by U+FFFD.

Every psycopg error (and a value psycopg cannot adapt) is translated to
:class:`~stadswacht.errors.StorageError` (or ``AlreadyExists``), with the original as its cause.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import ConnectionPool

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

__all__ = ["PostgresStore"]

log = logging.getLogger(__name__)

_SCHEMA_LOCK = 0x5374_6164_7377  # pg_advisory_xact_lock key: one schema migration at a time

SCHEMA = """
CREATE TABLE IF NOT EXISTS agencies (id text PRIMARY KEY, doc json NOT NULL);
CREATE TABLE IF NOT EXISTS areas (id text PRIMARY KEY, doc json NOT NULL);
CREATE TABLE IF NOT EXISTS devices (
    id text PRIMARY KEY, agency text NOT NULL, status text NOT NULL, area text,
    lat double precision NOT NULL, lon double precision NOT NULL, doc json NOT NULL);
CREATE INDEX IF NOT EXISTS devices_agency ON devices (agency, id);
CREATE TABLE IF NOT EXISTS users (
    name text PRIMARY KEY, agency text NOT NULL, role text NOT NULL, doc json NOT NULL);
CREATE TABLE IF NOT EXISTS readings (
    id bigserial PRIMARY KEY,
    device text NOT NULL, seq bigint NOT NULL, time text NOT NULL, time_us bigint NOT NULL,
    kind text NOT NULL, vals json NOT NULL, agency text NOT NULL, area text,
    sig text NOT NULL, received_us bigint NOT NULL,
    UNIQUE (device, seq));
CREATE INDEX IF NOT EXISTS readings_time ON readings (time_us);
CREATE INDEX IF NOT EXISTS readings_kind_time ON readings (kind, time_us);
CREATE INDEX IF NOT EXISTS readings_area_time ON readings (area, time_us);
CREATE TABLE IF NOT EXISTS dead_letters (
    id bigserial PRIMARY KEY,
    received_us bigint NOT NULL, reason text NOT NULL, message text NOT NULL,
    device text, seq bigint, transport text NOT NULL, source text, payload text NOT NULL);
CREATE INDEX IF NOT EXISTS dead_letters_device ON dead_letters (device, id);
CREATE INDEX IF NOT EXISTS dead_letters_reason ON dead_letters (reason, id);
CREATE TABLE IF NOT EXISTS detections (
    id text PRIMARY KEY, kind text NOT NULL, agency text NOT NULL, area text,
    time_us bigint NOT NULL, version integer NOT NULL, doc json NOT NULL);
CREATE INDEX IF NOT EXISTS detections_time ON detections (time_us);
CREATE TABLE IF NOT EXISTS cap_alerts (
    identifier text PRIMARY KEY, sent_us bigint NOT NULL, detection text NOT NULL,
    version integer NOT NULL, msg_type text NOT NULL, area text, xml bytea NOT NULL);
CREATE INDEX IF NOT EXISTS cap_alerts_sent ON cap_alerts (sent_us);
CREATE INDEX IF NOT EXISTS cap_alerts_detection ON cap_alerts (detection, version);
CREATE TABLE IF NOT EXISTS incidents (
    id text PRIMARY KEY, kind text NOT NULL, status text NOT NULL, is_open boolean NOT NULL,
    agency text NOT NULL, area text, first_us bigint NOT NULL, last_us bigint NOT NULL,
    version integer NOT NULL, doc json NOT NULL);
CREATE INDEX IF NOT EXISTS incidents_open ON incidents (is_open, last_us);
CREATE INDEX IF NOT EXISTS incidents_last ON incidents (last_us);
CREATE TABLE IF NOT EXISTS incident_evidence (
    detection text PRIMARY KEY, incident text NOT NULL REFERENCES incidents (id));
CREATE TABLE IF NOT EXISTS forecast_runs (
    id text PRIMARY KEY, model text NOT NULL, agency text NOT NULL, day text NOT NULL,
    created_us bigint NOT NULL, doc json NOT NULL);
CREATE INDEX IF NOT EXISTS forecast_runs_newest ON forecast_runs (agency, model, day, created_us);
CREATE TABLE IF NOT EXISTS posts (
    id text PRIMARY KEY, source text NOT NULL, agency text NOT NULL, area text,
    time_us bigint NOT NULL, received_us bigint NOT NULL, author text NOT NULL,
    relevant boolean NOT NULL, info_type text NOT NULL, doc json NOT NULL);
CREATE INDEX IF NOT EXISTS posts_time ON posts (time_us);
CREATE INDEX IF NOT EXISTS posts_area_time ON posts (area, time_us);
"""

_ALERT_COLUMNS = "identifier, sent_us, detection, version, msg_type, area, xml"
_INCIDENT_COLUMNS = "id, kind, status, is_open, agency, area, first_us, last_us, version, doc"
_INCIDENT_SELECT = (
    "SELECT id, kind, status, is_open, agency, area, first_us, last_us, version, doc::text "
    "FROM incidents"
)
_RUN_SELECT = "SELECT id, model, agency, day, created_us, doc::text FROM forecast_runs"
_POST_COLUMNS = "id, source, agency, area, time_us, received_us, author, relevant, info_type, doc"
_POST_SELECT = (
    "SELECT id, source, agency, area, time_us, received_us, author, relevant, info_type, "
    "doc::text FROM posts"
)
_INCIDENT_LOCK = 0x5374_6164_7377 + 7  # pg_advisory_xact_lock key: one incident writer at a time


def _alert_from_row(row: Any) -> StoredAlert:
    return StoredAlert(row[0], int(row[1]), row[2], int(row[3]), row[4], row[5], bytes(row[6]))


SPATIAL_SCHEMA = """
ALTER TABLE devices ADD COLUMN IF NOT EXISTS position geography(Point, 4326);
UPDATE devices SET position = ST_SetSRID(ST_MakePoint(lon, lat), 4326)::geography
    WHERE position IS NULL;
CREATE INDEX IF NOT EXISTS devices_position ON devices USING gist (position);
"""

_READING_COLS = "id, device, seq, time, time_us, kind, vals::text, agency, area, sig, received_us"

# A batch is COPYed (binary) into a per-connection temporary table and moved from there with
# one INSERT ... SELECT: measured faster than a multi-row VALUES, executemany, or unnest()
# arrays. The temporary table is made once per pooled connection and emptied at every commit.
_BATCH_TABLE = """
CREATE TEMPORARY TABLE IF NOT EXISTS reading_batch (
    device text, seq int8, time text, time_us int8, kind text, vals text, agency text,
    area text, sig text, received_us int8) ON COMMIT DELETE ROWS
"""
_BATCH_TYPES = ["text", "int8", "text", "int8", "text", "text", "text", "text", "text", "int8"]
_COPY_BATCH = (
    "COPY reading_batch (device, seq, time, time_us, kind, vals, agency, area, sig, received_us) "
    "FROM STDIN (FORMAT BINARY)"
)
# ORDER BY: every writer takes its row locks in (device, seq) order, so two processes
# committing overlapping batches wait for each other instead of deadlocking.
_INSERT_BATCH = """
INSERT INTO readings (device, seq, time, time_us, kind, vals, agency, area, sig, received_us)
SELECT device, seq, time, time_us, kind, vals::json, agency, area, sig, received_us
FROM reading_batch ORDER BY device, seq
ON CONFLICT (device, seq) DO NOTHING
RETURNING id, device, seq
"""

_INSERT_DEAD_LETTERS = """
INSERT INTO dead_letters (received_us, reason, message, device, seq, transport, source, payload)
SELECT * FROM unnest(%s::int8[], %s::text[], %s::text[], %s::text[], %s::int8[], %s::text[],
                     %s::text[], %s::text[])
"""

_json = json.JSONEncoder(separators=(",", ":")).encode  # one encoder, not one per reading

_UNREPRESENTABLE = re.compile("[\x00\ud800-\udfff]")


def _text(value: str) -> str:
    """``value`` without what a PostgreSQL ``text`` cannot hold (NUL, unpaired surrogates)."""
    return _UNREPRESENTABLE.sub("\ufffd", value)


def _opt_text(value: str | None) -> str | None:
    return None if value is None else _text(value)


def _reading_from_row(row: Sequence[Any]) -> StoredReading:
    return StoredReading(
        id=row[0], device=row[1], seq=row[2], time=row[3], time_us=row[4], kind=row[5],
        values=json.loads(row[6]), agency=row[7], area=row[8], sig=row[9], received_us=row[10],
    )  # fmt: skip


def _dead_letter_from_row(row: Sequence[Any]) -> DeadLetter:
    return DeadLetter(
        id=row[0], received_us=row[1], reason=row[2], message=row[3], device=row[4], seq=row[5],
        transport=row[6], source=row[7], payload=row[8],
    )  # fmt: skip


def _configure(conn: psycopg.Connection[tuple[Any, ...]]) -> None:
    """Prepare a new pooled connection: its batch table for :meth:`PostgresStore.commit`."""
    conn.execute(_BATCH_TABLE)
    conn.commit()


def describe_url(url: str) -> str:
    """``url`` without its password, for messages and logs.

    >>> describe_url("postgresql://app:secret@db.example:5433/stadswacht")
    'postgresql://app@db.example:5433/stadswacht'
    """
    try:
        params = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "postgresql://(unparsable URL)"
    user = f"{params['user']}@" if params.get("user") else ""
    port = f":{params['port']}" if params.get("port") else ""
    return f"postgresql://{user}{params.get('host', '')}{port}/{params.get('dbname', '')}"


PING_TIMEOUT_S = 2.0
"""How long :meth:`PostgresStore.ping` waits for a connection [s]."""


class PostgresStore(Store):
    """A :class:`Store` in a PostgreSQL database, PostGIS used where present.

    ``url`` is a libpq URL (``postgresql://user:password@host:5432/dbname``); the database
    must exist and the user may create tables in it. ``spatial=False`` leaves PostGIS alone
    even where it is available. ``pool_size`` bounds the connections this store holds; a call
    waits at most ``pool_timeout_s`` for one (also while the server is unreachable: ingest then
    spools within that time, see docs/degraded-mode.md); :meth:`ping` at most
    :data:`PING_TIMEOUT_S`.

    >>> PostgresStore("postgresql://nobody@127.0.0.1:1/none")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    stadswacht.errors.StorageError: cannot open the PostgreSQL store at postgresql://nobody@127...
    """

    def __init__(
        self,
        url: str,
        *,
        spatial: bool = True,
        pool_size: int = 10,
        pool_timeout_s: float = 5.0,
        connect_timeout_s: int = 10,
    ) -> None:
        self.url = describe_url(url)
        self._lock = threading.Lock()
        self._closed = False
        self.postgis = False
        """Whether devices' positions are also kept as a PostGIS geography with a GiST index."""
        try:
            # One plain connection first: a wrong URL or a server that is down fails here at
            # once with libpq's own explanation, not after the pool's retry timeout.
            with psycopg.connect(url, connect_timeout=connect_timeout_s) as conn:
                self.postgis = self._create_schema(conn, spatial)
            self._pool: ConnectionPool[psycopg.Connection[tuple[Any, ...]]] = ConnectionPool(
                url,
                min_size=1,
                max_size=max(1, pool_size),
                kwargs={"connect_timeout": connect_timeout_s},
                configure=_configure,
                check=ConnectionPool.check_connection,
                name="stadswacht-store",
                timeout=pool_timeout_s,
                open=False,
            )
            try:
                self._pool.open(wait=True, timeout=float(connect_timeout_s))
            except BaseException:
                self._pool.close()
                raise
        except psycopg.Error as exc:
            raise StorageError(
                f"cannot open the PostgreSQL store at {self.url}: {exc}; check that the server "
                "runs, the database exists and the user may create tables in it"
            ) from exc

    def _create_schema(self, conn: psycopg.Connection[tuple[Any, ...]], spatial: bool) -> bool:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
            conn.execute(SCHEMA)
            if not spatial:
                return False
            if not self._enable_postgis(conn):
                return False
            conn.execute(SPATIAL_SCHEMA)
            return True

    def _enable_postgis(self, conn: psycopg.Connection[tuple[Any, ...]]) -> bool:
        if conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'postgis'").fetchone():
            return True
        try:
            with conn.transaction():  # a savepoint: a refusal must not abort the schema
                conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        except psycopg.Error as exc:
            log.info(
                "PostGIS is not available in %s (%s); device positions are kept as lat/lon "
                "only", self.url, str(exc).strip(),
            )  # fmt: skip
            return False
        return True

    @contextmanager
    def _connection(
        self, action: str, timeout: float | None = None
    ) -> Iterator[psycopg.Connection[tuple[Any, ...]]]:
        """A pooled connection in a transaction (waiting at most ``timeout`` [s] for one, the
        pool's timeout by default); psycopg errors become ``StorageError``."""
        if self._closed:
            raise StorageError(f"cannot {action}: the PostgreSQL store is closed")
        try:
            with self._pool.connection(timeout=timeout) as conn:
                yield conn
        except psycopg.Error as exc:
            raise StorageError(f"cannot {action} in PostgreSQL at {self.url}: {exc}") from exc
        except (OverflowError, UnicodeEncodeError) as exc:
            # psycopg's binary adaptation (COPY) reports these itself, before the server sees them.
            raise StorageError(
                f"cannot {action} in PostgreSQL at {self.url}: a value does not fit its column "
                f"(an integer beyond 64 bits or text that is not valid UTF-8): {exc}"
            ) from exc

    def _read(self, action: str, query: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._connection(action) as conn:
            return conn.execute(query, params).fetchall()

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._pool.close()

    def ping(self) -> None:
        # Bounded: a readiness probe must answer within a probe's timeout when the server is
        # down, not after the pool's.
        with self._connection("reach the database", timeout=PING_TIMEOUT_S) as conn:
            conn.execute("SELECT 1")

    # --- agencies and areas ---------------------------------------------------------------
    def put_agency(self, agency: Agency) -> None:
        with self._connection(f"store agency {agency.id!r}") as conn:
            conn.execute(
                "INSERT INTO agencies (id, doc) VALUES (%s, %s) "
                "ON CONFLICT (id) DO UPDATE SET doc = excluded.doc",
                (agency.id, agency.model_dump_json()),
            )

    def list_agencies(self) -> list[Agency]:
        rows = self._read("list agencies", "SELECT doc::text FROM agencies ORDER BY id")
        return [Agency.model_validate_json(r[0]) for r in rows]

    def put_area(self, area: Area) -> None:
        with self._connection(f"store area {area.id!r}") as conn:
            conn.execute(
                "INSERT INTO areas (id, doc) VALUES (%s, %s) "
                "ON CONFLICT (id) DO UPDATE SET doc = excluded.doc",
                (area.id, area.model_dump_json()),
            )

    def list_areas(self) -> list[Area]:
        rows = self._read("list areas", "SELECT doc::text FROM areas ORDER BY id")
        return [Area.model_validate_json(r[0]) for r in rows]

    # --- devices --------------------------------------------------------------------------
    def _device_params(self, device: Device) -> dict[str, Any]:
        return {
            "id": device.id, "agency": device.agency, "status": device.status.value,
            "area": device.area, "lat": device.position.lat, "lon": device.position.lon,
            "doc": device.model_dump_json(),
        }  # fmt: skip

    def add_device(self, device: Device) -> None:
        position = (
            ", position) VALUES (%(id)s, %(agency)s, %(status)s, %(area)s, %(lat)s, %(lon)s, "
            "%(doc)s, ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326)::geography)"
            if self.postgis
            else ") VALUES (%(id)s, %(agency)s, %(status)s, %(area)s, %(lat)s, %(lon)s, %(doc)s)"
        )
        with self._connection(f"add device {device.id!r}") as conn:
            try:
                conn.execute(
                    "INSERT INTO devices (id, agency, status, area, lat, lon, doc" + position,
                    self._device_params(device),
                )
            except pg_errors.UniqueViolation as exc:
                raise AlreadyExists(
                    f"device {device.id!r} is already registered; update it instead"
                ) from exc

    def update_device(self, device: Device) -> None:
        position = (
            ", position = ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326)::geography"
            if self.postgis
            else ""
        )
        with self._connection(f"update device {device.id!r}") as conn:
            cur = conn.execute(
                "UPDATE devices SET agency = %(agency)s, status = %(status)s, area = %(area)s, "  # noqa: S608
                "lat = %(lat)s, lon = %(lon)s, doc = %(doc)s" + position + " WHERE id = %(id)s",
                self._device_params(device),
            )
            if cur.rowcount == 0:
                raise UnknownDevice(f"device {device.id!r} is not registered")

    def get_device(self, device_id: str) -> Device:
        rows = self._read(
            f"read device {device_id!r}",
            "SELECT doc::text FROM devices WHERE id = %s",
            (device_id,),
        )
        if not rows:
            raise UnknownDevice(f"device {device_id!r} is not registered")
        return Device.model_validate_json(rows[0][0])

    def list_devices(self, agency: str | None = None) -> list[Device]:
        if agency is None:
            rows = self._read("list devices", "SELECT doc::text FROM devices ORDER BY id")
        else:
            rows = self._read(
                f"list the devices of {agency!r}",
                "SELECT doc::text FROM devices WHERE agency = %s ORDER BY id",
                (agency,),
            )
        return [Device.model_validate_json(r[0]) for r in rows]

    # --- users ----------------------------------------------------------------------------
    def add_user(self, user: User) -> None:
        with self._connection(f"add user {user.name!r}") as conn:
            try:
                conn.execute(
                    "INSERT INTO users (name, agency, role, doc) VALUES (%s, %s, %s, %s)",
                    (user.name, user.agency, user.role.value, user.model_dump_json()),
                )
            except pg_errors.UniqueViolation as exc:
                raise AlreadyExists(
                    f"user {user.name!r} already exists; choose another name"
                ) from exc

    def get_user(self, name: str) -> User:
        rows = self._read(
            f"read user {name!r}", "SELECT doc::text FROM users WHERE name = %s", (name,)
        )
        if not rows:
            raise UnknownUser(f"user {name!r} does not exist")
        return User.model_validate_json(rows[0][0])

    def list_users(self) -> list[User]:
        rows = self._read("list users", "SELECT doc::text FROM users ORDER BY name")
        return [User.model_validate_json(r[0]) for r in rows]

    # --- readings -------------------------------------------------------------------------
    def existing(self, keys: Sequence[tuple[str, int]]) -> dict[tuple[str, int], ExistingReading]:
        if not keys:
            return {}
        rows = self._read(
            f"look up {len(keys)} reading keys",
            "SELECT r.device, r.seq, r.sig, r.received_us FROM readings r "
            "JOIN unnest(%s::text[], %s::int8[]) AS k(device, seq) "
            "ON r.device = k.device AND r.seq = k.seq",
            ([k[0] for k in keys], [k[1] for k in keys]),
        )
        return {(d, s): ExistingReading(sig, received) for d, s, sig, received in rows}

    def commit(
        self, readings: Sequence[StoredReading], dead_letters: Sequence[DeadLetter]
    ) -> list[StoredReading]:
        # Within a batch the first reading of a key wins, as in SQLite.
        batch: dict[tuple[str, int], StoredReading] = {}
        for r in readings:
            batch.setdefault((r.device, r.seq), r)
        inserted: list[StoredReading] = []
        with self._connection(f"store a batch of {len(readings)} readings") as conn:
            if batch:
                with conn.cursor() as cur:
                    with cur.copy(_COPY_BATCH) as copy:
                        copy.set_types(_BATCH_TYPES)
                        for r in batch.values():
                            copy.write_row(
                                (r.device, r.seq, r.time, r.time_us, r.kind,
                                 _json(r.values), r.agency, r.area,
                                 r.sig, r.received_us)
                            )  # fmt: skip
                    cur.execute(_INSERT_BATCH)
                    for row_id, device, seq in cur.fetchall():
                        inserted.append(dataclasses.replace(batch[(device, seq)], id=row_id))
            if dead_letters:
                conn.execute(
                    _INSERT_DEAD_LETTERS,
                    (
                        [d.received_us for d in dead_letters],
                        [_text(d.reason) for d in dead_letters],
                        [_text(d.message) for d in dead_letters],
                        [_opt_text(d.device) for d in dead_letters],
                        [d.seq for d in dead_letters],
                        [d.transport for d in dead_letters],
                        [_opt_text(d.source) for d in dead_letters],
                        [_text(d.payload) for d in dead_letters],
                    ),
                )
        inserted.sort(key=lambda r: r.id or 0)
        return inserted

    def query_readings(self, query: ReadingQuery) -> list[StoredReading]:
        where = reading_where(query, "%s", arrays=True)
        if where is None:
            return []
        rows = self._read(
            "query readings",
            f"SELECT {_READING_COLS} FROM readings WHERE {where.sql} "  # noqa: S608
            "ORDER BY id LIMIT %s",
            [*where.params, query.limit],
        )
        return [_reading_from_row(r) for r in rows]

    def count_readings(self) -> int:
        return int(self._read("count readings", "SELECT count(*) FROM readings")[0][0])

    def list_dead_letters(
        self,
        *,
        device: str | None = None,
        reason: str | None = None,
        devices: frozenset[str] | None = None,
        after_id: int = 0,
        limit: int = 1000,
    ) -> list[DeadLetter]:
        # Dead letters were stored with unrepresentable text replaced: look them up the same way.
        where = Where("%s", arrays=True).compare("id", ">", after_id)
        where.equal("device", None if device is None else _text(device))
        where.equal("reason", None if reason is None else _text(reason))
        if not where.within("device", None if devices is None else frozenset(map(_text, devices))):
            return []
        rows = self._read(
            "list dead letters",
            "SELECT id, received_us, reason, message, device, seq, transport, source, payload "  # noqa: S608
            f"FROM dead_letters WHERE {where.sql} ORDER BY id LIMIT %s",
            [*where.params, limit],
        )
        return [_dead_letter_from_row(r) for r in rows]

    # --- detections -------------------------------------------------------------------------
    def put_detection(self, detection: Detection) -> None:
        d = detection
        with self._connection(f"store detection {d.id!r}") as conn:
            # An older version never overwrites a newer one (redelivered bus messages).
            conn.execute(
                "INSERT INTO detections (id, kind, agency, area, time_us, version, doc) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO UPDATE SET "
                "kind = excluded.kind, agency = excluded.agency, area = excluded.area, "
                "time_us = excluded.time_us, version = excluded.version, doc = excluded.doc "
                "WHERE excluded.version >= detections.version",
                (d.id, d.kind, d.agency, d.area, d.time_us, d.version, d.model_dump_json()),
            )

    def get_detection(self, detection_id: str) -> Detection:
        rows = self._read(
            "read a detection", "SELECT doc::text FROM detections WHERE id = %s", (detection_id,)
        )
        if not rows:
            raise NotFound(f"no detection {detection_id!r}")
        return Detection.model_validate_json(rows[0][0])

    def list_detections(self, query: DetectionQuery) -> list[Detection]:
        where = detection_where(query, "%s", arrays=True)
        if where is None:
            return []
        order = "DESC" if query.newest_first else "ASC"
        rows = self._read(
            "list detections",
            f"SELECT doc::text FROM detections WHERE {where.sql} "  # noqa: S608
            f"ORDER BY time_us {order}, id {order} LIMIT %s",
            [*where.params, query.limit],
        )
        return [Detection.model_validate_json(r[0]) for r in rows]

    # --- CAP alerts ---------------------------------------------------------------------------
    def put_alert(self, alert: StoredAlert) -> bool:
        a = alert
        with self._connection(f"store CAP alert {a.identifier!r}") as conn:
            cur = conn.execute(
                "INSERT INTO cap_alerts (identifier, sent_us, detection, version, msg_type, "
                "area, xml) VALUES (%s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (identifier) DO NOTHING",
                (a.identifier, a.sent_us, a.detection, a.version, a.msg_type, a.area, a.xml),
            )
            return cur.rowcount == 1

    def get_alert(self, identifier: str) -> StoredAlert:
        rows = self._read(
            "read a CAP alert",
            f"SELECT {_ALERT_COLUMNS} FROM cap_alerts WHERE identifier = %s",  # noqa: S608
            (identifier,),
        )
        if not rows:
            raise NotFound(f"no CAP alert {identifier!r}")
        return _alert_from_row(rows[0])

    def list_alerts(
        self, *, detection: str | None = None, since_us: int | None = None, limit: int = 100
    ) -> list[StoredAlert]:
        sql = f"SELECT {_ALERT_COLUMNS} FROM cap_alerts WHERE true"  # noqa: S608
        params: list[Any] = []
        if detection is not None:
            sql += " AND detection = %s"
            params.append(detection)
        if since_us is not None:
            sql += " AND sent_us > %s"
            params.append(since_us)
        rows = self._read(
            "list CAP alerts",
            sql + " ORDER BY sent_us DESC, version DESC LIMIT %s",
            [*params, limit],
        )
        return [_alert_from_row(r) for r in rows]

    # --- incidents (fusion, #7) ---------------------------------------------------------------
    # Every incident write first takes one transaction-scoped advisory lock: writers of every
    # process queue there, and under READ COMMITTED each statement after the lock sees what the
    # writer before committed. Fusion handles detections (a few per second), not readings, so
    # one lock for all incidents costs nothing that matters and cannot deadlock.
    def fuse_incident(
        self, detection: str, since_us: int, decide: FuseDecision
    ) -> StoredIncident | None:
        with self._connection(f"fuse detection {detection!r}") as conn:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_INCIDENT_LOCK,))
            row = conn.execute(
                f"{_INCIDENT_SELECT} WHERE id = "  # noqa: S608
                "(SELECT incident FROM incident_evidence WHERE detection = %s)",
                (detection,),
            ).fetchone()
            attached = None if row is None else _incident_from_row(row)
            rows = conn.execute(
                f"{_INCIDENT_SELECT} WHERE is_open AND last_us >= %s ORDER BY last_us DESC, id",
                (since_us,),
            ).fetchall()
            result = decide(attached, [_incident_from_row(r) for r in rows])
            if result is None:
                return None
            _put_incident(conn, result)
            conn.execute(
                "INSERT INTO incident_evidence (detection, incident) VALUES (%s, %s) "
                "ON CONFLICT (detection) DO UPDATE SET incident = excluded.incident",
                (detection, result.id),
            )
            return result

    def update_incident(self, incident_id: str, change: IncidentChange) -> StoredIncident:
        with self._connection(f"update incident {incident_id!r}") as conn:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_INCIDENT_LOCK,))
            row = conn.execute(
                f"{_INCIDENT_SELECT} WHERE id = %s",
                (incident_id,),
            ).fetchone()
            if row is None:
                raise NotFound(f"no incident {incident_id!r}")
            current = _incident_from_row(row)
            result = change(current)
            if result is None:
                return current
            _put_incident(conn, result)
            return result

    def get_incident(self, incident_id: str) -> StoredIncident:
        rows = self._read(
            "read an incident",
            f"{_INCIDENT_SELECT} WHERE id = %s",
            (incident_id,),
        )
        if not rows:
            raise NotFound(f"no incident {incident_id!r}")
        return _incident_from_row(rows[0])

    def list_incidents(self, query: IncidentQuery) -> list[StoredIncident]:
        where = incident_where(query, "%s", arrays=True)
        if where is None:
            return []
        rows = self._read(
            "list incidents",
            f"{_INCIDENT_SELECT} WHERE {where.sql} ORDER BY last_us DESC, id LIMIT %s",
            [*where.params, query.limit],
        )
        return [_incident_from_row(r) for r in rows]

    def incident_of(self, detection: str) -> str | None:
        rows = self._read(
            "look up a detection's incident",
            "SELECT incident FROM incident_evidence WHERE detection = %s",
            (detection,),
        )
        return str(rows[0][0]) if rows else None

    # --- retention (privacy, #7) -----------------------------------------------------------
    def purge_readings(self, kind: str | None, before_us: int) -> int:
        if kind is None:
            return self._purge("readings", "time_us < %s", (before_us,))
        return self._purge("readings", "kind = %s AND time_us < %s", (kind, before_us))

    def purge_dead_letters(self, before_us: int) -> int:
        return self._purge("dead_letters", "received_us < %s", (before_us,))

    def purge_detections(self, before_us: int) -> int:
        return self._purge("detections", "time_us < %s", (before_us,))

    def purge_alerts(self, before_us: int) -> int:
        return self._purge("cap_alerts", "sent_us < %s", (before_us,))

    def purge_incidents(self, before_us: int) -> int:
        closed = "SELECT id FROM incidents WHERE NOT is_open AND last_us < %s"
        with self._connection("purge incidents") as conn:
            conn.execute(
                f"DELETE FROM incident_evidence WHERE incident IN ({closed})",  # noqa: S608
                (before_us,),
            )
            cur = conn.execute(f"DELETE FROM incidents WHERE id IN ({closed})", (before_us,))  # noqa: S608
            return cur.rowcount

    # --- forecast runs (hotspots, #8) ----------------------------------------------------------
    def put_forecast_run(self, run: StoredForecastRun) -> None:
        r = run
        with self._connection(f"store forecast run {r.id!r}") as conn:
            try:
                conn.execute(
                    "INSERT INTO forecast_runs (id, model, agency, day, created_us, doc) "
                    "VALUES (%s, %s, %s, %s, %s, %s)",
                    (r.id, r.model, r.agency, r.day, r.created_us, r.doc),
                )
            except pg_errors.UniqueViolation as exc:
                raise AlreadyExists(f"forecast run {r.id!r} exists already") from exc

    def get_forecast_run(self, run_id: str) -> StoredForecastRun:
        rows = self._read("read a forecast run", f"{_RUN_SELECT} WHERE id = %s", (run_id,))
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
        where = forecast_run_where(agencies, model, "%s", arrays=True)
        if where is None:
            return []
        rows = self._read(
            "list forecast runs",
            f"{_RUN_SELECT} WHERE {where.sql} ORDER BY day DESC, created_us DESC, id LIMIT %s",
            [*where.params, limit],
        )
        return [StoredForecastRun(*r) for r in rows]

    # --- posts (web signals, #10) --------------------------------------------------------------
    def put_posts(self, posts: Sequence[StoredPost]) -> int:
        if not posts:
            return 0
        rows = [
            (p.id, p.source, p.agency, p.area, p.time_us, p.received_us, p.author, p.relevant,
             p.info_type, p.doc)
            for p in posts
        ]  # fmt: skip
        with self._connection(f"store {len(rows)} posts") as conn, conn.transaction():
            new = 0
            with conn.cursor() as cur:
                for row in rows:
                    cur.execute(
                        f"INSERT INTO posts ({_POST_COLUMNS}) "  # noqa: S608
                        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
                        "ON CONFLICT (id) DO NOTHING",
                        row,
                    )
                    new += cur.rowcount
            return new

    def list_posts(self, query: PostQuery) -> list[StoredPost]:
        where = post_where(query, "%s", arrays=True)
        if where is None:
            return []
        order = "DESC" if query.newest_first else "ASC"
        rows = self._read(
            "list posts",
            f"{_POST_SELECT} WHERE {where.sql} ORDER BY time_us {order}, id {order} LIMIT %s",
            [*where.params, query.limit],
        )
        return [
            StoredPost(r[0], r[1], r[2], r[3], int(r[4]), int(r[5]), r[6], bool(r[7]), r[8], r[9])
            for r in rows
        ]

    def purge_posts(self, before_us: int) -> int:
        # On the earlier of posted and received: a post dated in the future is not kept longer.
        return self._purge("posts", "time_us < %s OR received_us < %s", (before_us, before_us))

    def _purge(self, table: str, where: str, params: tuple[Any, ...]) -> int:
        # Batches of purge_batch rows, one transaction each, found by ctid (a TID scan), so
        # a large purge holds its row locks briefly and never the whole table.
        sql = (
            f"DELETE FROM {table} WHERE ctid = ANY(ARRAY("  # noqa: S608
            f"SELECT ctid FROM {table} WHERE {where} LIMIT %s))"
        )
        total = 0
        while True:
            with self._connection(f"purge {table}") as conn:
                n = conn.execute(sql, (*params, self.purge_batch)).rowcount
            total += n
            if n < self.purge_batch:
                return total


def _incident_from_row(row: Sequence[Any]) -> StoredIncident:
    return StoredIncident(
        id=row[0], kind=row[1], status=row[2], open=bool(row[3]), agency=row[4], area=row[5],
        first_us=int(row[6]), last_us=int(row[7]), version=int(row[8]), doc=row[9],
    )  # fmt: skip


def _put_incident(conn: psycopg.Connection[tuple[Any, ...]], i: StoredIncident) -> None:
    """Insert a new incident (version 1) or replace the stored one (the version before)."""
    if i.version == 1:
        conn.execute(
            f"INSERT INTO incidents ({_INCIDENT_COLUMNS}) "  # noqa: S608
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (i.id, i.kind, i.status, i.open, i.agency, i.area, i.first_us, i.last_us,
             i.version, i.doc),
        )  # fmt: skip
        return
    cur = conn.execute(
        "UPDATE incidents SET kind = %s, status = %s, is_open = %s, agency = %s, area = %s, "
        "first_us = %s, last_us = %s, version = %s, doc = %s WHERE id = %s AND version = %s",
        (i.kind, i.status, i.open, i.agency, i.area, i.first_us, i.last_us, i.version,
         i.doc, i.id, i.version - 1),
    )  # fmt: skip
    if cur.rowcount != 1:
        raise StorageError(
            f"incident {i.id!r} version {i.version} does not follow the stored version; "
            "read it again and retry"
        )

"""The one repository interface every store implements (SQLite embedded, PostgreSQL scaled out).

A store is synchronous and thread-safe; the API calls it from a worker thread. ``commit``
is the only write path for readings: accepted readings and dead letters of one batch go in one
transaction, and a reading whose ``(device, seq)`` is already stored is never stored twice.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from stadswacht.model import Agency, Area, DeadLetter, Detection, Device, StoredReading, User

__all__ = [
    "DetectionQuery",
    "ExistingReading",
    "FuseDecision",
    "IncidentChange",
    "IncidentQuery",
    "PostQuery",
    "ReadingQuery",
    "Store",
    "StoredForecastRun",
    "StoredIncident",
    "StoredPost",
    "Where",
    "detection_where",
    "forecast_run_where",
    "incident_where",
    "post_where",
    "reading_where",
]


@dataclass(frozen=True, slots=True)
class ExistingReading:
    """What the store knows of an already stored ``(device, seq)``: to tell a duplicate from a
    replay."""

    sig: str
    received_us: int


@dataclass(frozen=True, slots=True)
class ReadingQuery:
    """Filters for listing readings; every field narrows the result.

    ``agencies`` limits the result to readings owned by those agencies (``None``: all).
    Pages run in ``id`` order: pass the last id seen as ``after_id`` for the next page.
    """

    device: str | None = None
    kind: str | None = None
    area: str | None = None
    since_us: int | None = None
    until_us: int | None = None
    agencies: frozenset[str] | None = None
    after_id: int = 0
    limit: int = 1000


@dataclass(frozen=True, slots=True)
class DetectionQuery:
    """Filters for listing detections; every field narrows the result.

    ``since_us``/``until_us`` bound the detection's ``time``; ``agencies`` limits the result to
    detections owned by those agencies (``None``: all). Results run in ``time`` order, oldest
    first, or newest first with ``newest_first`` (then ``limit`` keeps the newest).
    """

    kind: str | None = None
    area: str | None = None
    since_us: int | None = None
    until_us: int | None = None
    agencies: frozenset[str] | None = None
    limit: int = 1000
    newest_first: bool = False


class Where:
    """A ``WHERE`` clause built from optional filters, for any DB-API placeholder style.

    >>> w = Where("?").compare("id", ">", 5).equal("kind", None).equal("device", "d1")
    >>> w.within("agency", frozenset({"police"}))
    True
    >>> w.sql, w.params
    ('id > ? AND device = ? AND agency IN (?)', [5, 'd1', 'police'])
    """

    def __init__(self, mark: str, *, arrays: bool = False) -> None:
        self.mark = mark
        self.arrays = arrays
        """Pass a set as one array parameter (PostgreSQL ``= ANY``), not one mark per member."""
        self.terms: list[str] = []
        self.params: list[Any] = []

    def compare(self, column: str, op: str, value: Any) -> Where:
        """Add ``column <op> value`` unless ``value`` is None."""
        if value is not None:
            self.terms.append(f"{column} {op} {self.mark}")
            self.params.append(value)
        return self

    def equal(self, column: str, value: Any) -> Where:
        """Add ``column = value`` unless ``value`` is None."""
        return self.compare(column, "=", value)

    def within(self, column: str, values: frozenset[str] | None) -> bool:
        """Add ``column IN values`` (None: no limit); False if ``values`` is empty, so the
        query can answer nothing without asking the database."""
        if values is None:
            return True
        if not values:
            return False
        if self.arrays:
            self.terms.append(f"{column} = ANY({self.mark})")
            self.params.append(sorted(values))
        else:
            self.terms.append(f"{column} IN ({','.join([self.mark] * len(values))})")
            self.params.extend(sorted(values))
        return True

    @property
    def sql(self) -> str:
        """The conditions joined with ``AND``."""
        return " AND ".join(self.terms) or "TRUE"


def reading_where(query: ReadingQuery, mark: str, *, arrays: bool = False) -> Where | None:
    """The conditions of a :class:`ReadingQuery`; None when it can match nothing."""
    w = (
        Where(mark, arrays=arrays)
        .compare("id", ">", query.after_id)
        .equal("device", query.device)
        .equal("kind", query.kind)
        .equal("area", query.area)
        .compare("time_us", ">=", query.since_us)
        .compare("time_us", "<", query.until_us)
    )
    return w if w.within("agency", query.agencies) else None


def detection_where(query: DetectionQuery, mark: str, *, arrays: bool = False) -> Where | None:
    """The ``WHERE`` clause of a detection query; ``None`` when it cannot match anything."""
    where = Where(mark, arrays=arrays).equal("kind", query.kind).equal("area", query.area)
    where.compare("time_us", ">=", query.since_us).compare("time_us", "<", query.until_us)
    if not where.within("agency", query.agencies):
        return None
    return where


@dataclass(frozen=True)
class StoredAlert:
    """A CAP alert as issued: its identifier, when it was sent [µs since the Unix epoch], the
    detection (warning) and version it was made from, the message type, and the XML exactly as
    it left."""

    identifier: str
    sent_us: int
    detection: str
    version: int
    msg_type: str
    area: str | None
    xml: bytes


class Store(ABC):
    """Durable storage of devices, users, areas, agencies, readings and dead letters."""

    # --- schema and life cycle -------------------------------------------------------------
    @abstractmethod
    def close(self) -> None:
        """Release connections; the store is unusable afterwards."""

    @abstractmethod
    def ping(self) -> None:
        """Raise :class:`~stadswacht.errors.StorageError` if the store cannot be reached."""

    # --- agencies and areas ---------------------------------------------------------------
    @abstractmethod
    def put_agency(self, agency: Agency) -> None:
        """Create or replace an agency."""

    @abstractmethod
    def list_agencies(self) -> list[Agency]:
        """All agencies, by id."""

    @abstractmethod
    def put_area(self, area: Area) -> None:
        """Create or replace an area."""

    @abstractmethod
    def list_areas(self) -> list[Area]:
        """All areas, by id."""

    # --- devices --------------------------------------------------------------------------
    @abstractmethod
    def add_device(self, device: Device) -> None:
        """Register a device; raise ``AlreadyExists`` if its id is taken."""

    @abstractmethod
    def update_device(self, device: Device) -> None:
        """Replace a registered device (status, key, area ...); raise ``UnknownDevice``."""

    @abstractmethod
    def get_device(self, device_id: str) -> Device:
        """The device, or raise ``UnknownDevice``."""

    @abstractmethod
    def list_devices(self, agency: str | None = None) -> list[Device]:
        """Registered devices (decommissioned ones too), by id; optionally of one agency."""

    # --- users ----------------------------------------------------------------------------
    @abstractmethod
    def add_user(self, user: User) -> None:
        """Create a user; raise ``AlreadyExists`` if the name is taken."""

    @abstractmethod
    def get_user(self, name: str) -> User:
        """The user, or raise ``UnknownUser``."""

    @abstractmethod
    def list_users(self) -> list[User]:
        """All users, by name."""

    # --- readings -------------------------------------------------------------------------
    @abstractmethod
    def existing(self, keys: Sequence[tuple[str, int]]) -> dict[tuple[str, int], ExistingReading]:
        """Of the given ``(device, seq)`` keys, those already stored."""

    @abstractmethod
    def commit(
        self, readings: Sequence[StoredReading], dead_letters: Sequence[DeadLetter]
    ) -> list[StoredReading]:
        """Store a batch in one durable transaction; return the readings inserted, with ids.

        A reading whose ``(device, seq)`` is already stored is skipped (not returned), so a
        redelivered batch is stored once. When this returns, the batch survives a crash.
        """

    @abstractmethod
    def query_readings(self, query: ReadingQuery) -> list[StoredReading]:
        """Readings matching ``query``, in id order, at most ``query.limit``."""

    @abstractmethod
    def count_readings(self) -> int:
        """How many readings are stored."""

    @abstractmethod
    def list_dead_letters(
        self,
        *,
        device: str | None = None,
        reason: str | None = None,
        devices: frozenset[str] | None = None,
        after_id: int = 0,
        limit: int = 1000,
    ) -> list[DeadLetter]:
        """Dead letters in id order; ``devices`` limits them to those devices' ids."""

    # --- detections -------------------------------------------------------------------------
    @abstractmethod
    def put_detection(self, detection: Detection) -> None:
        """Store a detection, replacing an earlier version with the same id."""

    @abstractmethod
    def get_detection(self, detection_id: str) -> Detection:
        """The detection with this id; raises :class:`~stadswacht.errors.NotFound`."""

    @abstractmethod
    def list_detections(self, query: DetectionQuery) -> list[Detection]:
        """Detections matching ``query``, in ``time`` order, at most ``query.limit``."""

    # --- CAP alerts ---------------------------------------------------------------------------
    @abstractmethod
    def put_alert(self, alert: StoredAlert) -> bool:
        """Store an issued CAP alert; ``False`` (and nothing changed) when an alert with this
        identifier exists already (a redelivered warning is not issued twice)."""

    @abstractmethod
    def get_alert(self, identifier: str) -> StoredAlert:
        """The alert with this identifier; raises :class:`~stadswacht.errors.NotFound`."""

    @abstractmethod
    def list_alerts(
        self, *, detection: str | None = None, since_us: int | None = None, limit: int = 100
    ) -> list[StoredAlert]:
        """Alerts, newest ``sent`` first: all, or those of one detection (its whole chain), or
        those sent after ``since_us`` [µs since the Unix epoch]."""

    # --- incidents (fusion, #7) ------------------------------------------------------------
    # Both writes run with every other incident write of every process excluded (SQLite:
    # BEGIN IMMEDIATE; PostgreSQL: one transaction-scoped advisory lock), so what a decision
    # reads is what it writes over: two workers that receive detections of one event at the
    # same moment make one incident, and a transition never overwrites another one.
    @abstractmethod
    def fuse_incident(
        self, detection: str, since_us: int, decide: FuseDecision
    ) -> StoredIncident | None:
        """Join detection ``detection`` to an incident or open one for it, atomically.

        ``decide(attached, candidates)`` gets the incident that already holds this detection
        (``None`` if none does) and the open incidents whose ``last_us >= since_us``; it returns
        the incident to store (a new one, or one of those with ``version`` one higher), or
        ``None`` to change nothing. The store records the detection as evidence of what it
        stored. ``decide`` must be quick and do no I/O; its exceptions roll everything back.

        Returns:
            What was stored, or ``None`` when ``decide`` changed nothing.
        """

    @abstractmethod
    def update_incident(self, incident_id: str, change: IncidentChange) -> StoredIncident:
        """Apply ``change`` to the current incident atomically and store its result.

        ``change(current)`` returns the incident with ``version`` one higher, or ``None`` to
        leave it as it is; its exceptions (a transition not allowed) roll back and propagate.

        Returns:
            The incident as stored now.

        Raises:
            NotFound: no incident with this id.
        """

    @abstractmethod
    def get_incident(self, incident_id: str) -> StoredIncident:
        """The incident with this id; raises :class:`~stadswacht.errors.NotFound`."""

    @abstractmethod
    def list_incidents(self, query: IncidentQuery) -> list[StoredIncident]:
        """Incidents matching ``query``, newest ``last_us`` first, at most ``query.limit``."""

    @abstractmethod
    def incident_of(self, detection: str) -> str | None:
        """The id of the incident that holds this detection as evidence, if any."""

    # --- retention (privacy, #7) -----------------------------------------------------------
    # Each purge deletes in batches, one transaction each, so a large purge never holds the
    # writer for long; what it has deleted stays deleted if a later batch fails.
    purge_batch: int = 10_000
    """Rows deleted per transaction by the ``purge_*`` methods."""

    @abstractmethod
    def purge_readings(self, kind: str | None, before_us: int) -> int:
        """Delete readings of ``kind`` (``None``: every kind) whose ``time`` is before
        ``before_us`` [µs since the Unix epoch]; return how many went."""

    @abstractmethod
    def purge_dead_letters(self, before_us: int) -> int:
        """Delete dead letters received before ``before_us`` [µs]; return how many went."""

    @abstractmethod
    def purge_detections(self, before_us: int) -> int:
        """Delete detections whose ``time`` is before ``before_us`` [µs]; return how many went."""

    @abstractmethod
    def purge_alerts(self, before_us: int) -> int:
        """Delete CAP alerts sent before ``before_us`` [µs]; return how many went."""

    @abstractmethod
    def purge_incidents(self, before_us: int) -> int:
        """Delete closed incidents whose last activity is before ``before_us`` [µs], with
        their evidence links; open incidents are never deleted. Return how many went."""

    # --- forecast runs (hotspots, #8) ----------------------------------------------------------
    # Every hotspot forecast made is kept, with its inputs' hash, parameters and who ran it
    # (stadswacht.forecast.hotspots.runs). Newest first means: latest day forecast, then
    # latest made.
    @abstractmethod
    def put_forecast_run(self, run: StoredForecastRun) -> None:
        """Store a forecast run; raise ``AlreadyExists`` if its id is taken (runs are never
        replaced)."""

    @abstractmethod
    def get_forecast_run(self, run_id: str) -> StoredForecastRun:
        """The run with this id; raises :class:`~stadswacht.errors.NotFound`."""

    @abstractmethod
    def list_forecast_runs(
        self,
        *,
        agencies: frozenset[str] | None = None,
        model: str | None = None,
        limit: int = 100,
    ) -> list[StoredForecastRun]:
        """Runs newest first (``day``, then ``created_us``, descending), of those agencies
        (``None``: all) and that model (``None``: every model)."""

    # --- posts (web signals, #10) --------------------------------------------------------------
    # Posts arrive pseudonymised (stadswacht.detect.websignal.post): the store never sees a
    # handle. They are kept for the posts retention only (7 days by default).
    @abstractmethod
    def put_posts(self, posts: Sequence[StoredPost]) -> int:
        """Store posts in one transaction; a post whose id is stored already is skipped.
        Return how many were new."""

    @abstractmethod
    def list_posts(self, query: PostQuery) -> list[StoredPost]:
        """Posts matching ``query``, in ``time`` order (or newest first), at most
        ``query.limit``."""

    @abstractmethod
    def purge_posts(self, before_us: int) -> int:
        """Delete posts posted or received before ``before_us`` [µs] (whichever is earlier, so
        a post dated in the future cannot outlive its retention); return how many went."""

    def latest_forecast_run(
        self, agency: str | None = None, model: str | None = None
    ) -> StoredForecastRun | None:
        """The newest run (see :meth:`list_forecast_runs`) of an agency and model, if any."""
        agencies = None if agency is None else frozenset({agency})
        runs = self.list_forecast_runs(agencies=agencies, model=model, limit=1)
        return runs[0] if runs else None


# --- forecast runs (hotspots, #8) --------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class StoredForecastRun:
    """A forecast run as the store keeps it: the columns it is found by, and the whole document.

    ``doc`` is the JSON of a :class:`stadswacht.forecast.hotspots.runs.ForecastRun`, which the
    store does not interpret. ``day`` is the ISO date forecast; ``created_us`` when the run was
    made [µs since the Unix epoch].
    """

    id: str
    model: str
    agency: str
    day: str
    created_us: int
    doc: str


def forecast_run_where(
    agencies: frozenset[str] | None, model: str | None, mark: str, *, arrays: bool = False
) -> Where | None:
    """The ``WHERE`` clause of a forecast-run listing; ``None`` when it cannot match anything."""
    where = Where(mark, arrays=arrays).equal("model", model)
    return where if where.within("agency", agencies) else None


# --- posts (web signals, #10) ------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class StoredPost:
    """A post as the store keeps it: the columns it is found by, and the whole document (the
    JSON of a :class:`stadswacht.detect.websignal.post.Post`, which the store does not
    interpret). ``author`` is a pseudonym; times in µs since the Unix epoch."""

    id: str
    source: str
    agency: str
    area: str | None
    time_us: int
    received_us: int
    author: str
    relevant: bool
    info_type: str
    doc: str


@dataclass(frozen=True, slots=True)
class PostQuery:
    """Filters for listing posts; every field narrows the result. ``since_us``/``until_us``
    bound the post's time; ``agencies`` limits the result to posts owned by those agencies
    (``None``: all)."""

    area: str | None = None
    source: str | None = None
    info_type: str | None = None
    relevant_only: bool = False
    since_us: int | None = None
    until_us: int | None = None
    agencies: frozenset[str] | None = None
    limit: int = 1000
    newest_first: bool = False


def post_where(query: PostQuery, mark: str, *, arrays: bool = False) -> Where | None:
    """The ``WHERE`` clause of a post query; ``None`` when it cannot match anything."""
    where = Where(mark, arrays=arrays).equal("area", query.area).equal("source", query.source)
    where.equal("info_type", query.info_type)
    where.compare("time_us", ">=", query.since_us).compare("time_us", "<", query.until_us)
    if query.relevant_only:
        where.terms.append("relevant = 1" if mark == "?" else "relevant")
    return where if where.within("agency", query.agencies) else None


# --- incidents (fusion, #7): the records the methods above take and give ---------------------
@dataclass(frozen=True, slots=True)
class StoredIncident:
    """An incident as the store keeps it: the columns it is found by, and the whole document.

    The store does not interpret ``doc`` (the JSON of a
    :class:`stadswacht.fusion.incident.Incident`); fusion makes and reads it. ``open`` is false
    once the incident is resolved or a false alarm. Times in µs since the Unix epoch.
    """

    id: str
    kind: str
    status: str
    open: bool
    agency: str
    area: str | None
    first_us: int
    last_us: int
    version: int
    doc: str


@dataclass(frozen=True, slots=True)
class IncidentQuery:
    """Filters for listing incidents; every field narrows the result.

    ``statuses`` limits the result to those statuses and ``open_only`` to open incidents;
    ``since_us`` keeps incidents whose last detection is at or after it; ``agencies`` limits
    the result to incidents owned by those agencies (``None``: all). Newest ``last_us`` first.
    """

    statuses: frozenset[str] | None = None
    open_only: bool = False
    area: str | None = None
    agencies: frozenset[str] | None = None
    since_us: int | None = None
    limit: int = 1000


def incident_where(query: IncidentQuery, mark: str, *, arrays: bool = False) -> Where | None:
    """The ``WHERE`` clause of an incident query; ``None`` when it cannot match anything."""
    where = Where(mark, arrays=arrays).equal("area", query.area)
    where.compare("last_us", ">=", query.since_us)
    if query.open_only:
        where.terms.append("is_open = 1" if mark == "?" else "is_open")
    if not where.within("status", query.statuses) or not where.within("agency", query.agencies):
        return None
    return where


FuseDecision = Callable[[StoredIncident | None, list[StoredIncident]], StoredIncident | None]
"""``decide(attached, candidates)`` of :meth:`Store.fuse_incident`."""

IncidentChange = Callable[[StoredIncident], StoredIncident | None]
"""``change(current)`` of :meth:`Store.update_incident`."""

"""The fusion service: detections from the bus in, incidents to the store and the bus out.

Every detection (each version of it) on ``stadswacht.detections.>`` goes through the pure
correlator (:func:`~stadswacht.fusion.correlator.fuse`) inside the store's atomic
:meth:`~stadswacht.store.base.Store.fuse_incident`, so any number of workers, in one process
or many, on SQLite or PostgreSQL, make exactly one incident of one event. Each stored change is
published on ``stadswacht.incidents.<area>`` (``_`` without an area), message id
``<incident>:<version>``. A timer escalates incidents nobody responded to in time.

People change incidents through :func:`change_status` and :func:`change_step` (the API calls
them), which are atomic in the same way and publish the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from stadswacht.bus import Bus
from stadswacht.bus.base import DETECTIONS_PREFIX, Subscription
from stadswacht.config import Settings
from stadswacht.errors import StorageError
from stadswacht.fusion.correlator import fuse
from stadswacht.fusion.incident import Incident, Status, transition
from stadswacht.fusion.rules import DEFAULT_RULES, RuleSet, read_rules
from stadswacht.fusion.sop import DEFAULT_SOPS, Sop, escalate, mark_step, overdue, read_sops
from stadswacht.model import Detection, Role
from stadswacht.store import Store
from stadswacht.store.base import IncidentQuery, StoredIncident

__all__ = [
    "INCIDENTS_PREFIX",
    "FusionService",
    "change_status",
    "change_step",
    "from_stored",
    "incident_subject",
    "publish_incident",
    "to_stored",
]

log = logging.getLogger(__name__)

INCIDENTS_PREFIX = "stadswacht.incidents"
"""Bus subjects of incidents, each new version: ``stadswacht.incidents.<area or _>``."""

Clock = Callable[[], datetime]


def _utcnow() -> datetime:
    return datetime.now(UTC)


def incident_subject(area: str | None) -> str:
    """The subject an incident's versions are published on.

    >>> incident_subject("international-zone"), incident_subject(None)
    ('stadswacht.incidents.international-zone', 'stadswacht.incidents._')
    """
    return f"{INCIDENTS_PREFIX}.{area or '_'}"


def to_stored(incident: Incident) -> StoredIncident:
    """The store's record of an incident."""
    return StoredIncident(
        id=incident.id,
        kind=incident.kind,
        status=incident.status.value,
        open=incident.open,
        agency=incident.agency,
        area=incident.area,
        first_us=incident.first_us,
        last_us=incident.last_us,
        version=incident.version,
        doc=incident.model_dump_json(),
    )


def from_stored(stored: StoredIncident) -> Incident:
    """The incident of a store's record."""
    return Incident.model_validate_json(stored.doc)


def publish_incident(bus: Bus, incident: Incident) -> None:
    """Publish this version of the incident; blocking."""
    bus.publish(
        [
            (
                incident_subject(incident.area),
                incident.model_dump_json().encode(),
                f"{incident.id}:{incident.version}",
            )
        ]
    )


def change_status(
    store: Store,
    bus: Bus | None,
    incident_id: str,
    to: Status | str,
    *,
    by: str,
    role: Role | str,
    why: str,
    at: datetime,
) -> Incident:
    """Move an incident to status ``to`` atomically, record who/when/why, and publish it.

    Raises:
        NotFound: no such incident.
        TransitionNotAllowed, TransitionDenied, IncidentError: see
            :func:`~stadswacht.fusion.incident.transition`; nothing is changed.
    """

    def change(current: StoredIncident) -> StoredIncident:
        return to_stored(transition(from_stored(current), to, by=by, role=role, why=why, at=at))

    incident = from_stored(store.update_incident(incident_id, change))
    if bus is not None:
        publish_incident(bus, incident)
    return incident


def change_step(
    store: Store,
    bus: Bus | None,
    incident_id: str,
    step: str,
    *,
    done: bool,
    by: str,
    role: Role | str,
    note: str,
    at: datetime,
) -> Incident:
    """Mark a procedure step done (or not) atomically, record it, and publish the incident.

    Raises:
        NotFound: no such incident.
        IncidentError: no such step, or the incident is closed.
    """

    def change(current: StoredIncident) -> StoredIncident:
        incident = mark_step(
            from_stored(current), step, done=done, by=by, role=role, note=note, at=at
        )
        return to_stored(incident)

    incident = from_stored(store.update_incident(incident_id, change))
    if bus is not None:
        publish_incident(bus, incident)
    return incident


class FusionService:
    """Fuses the detections on one process's bus into incidents, and escalates late ones.

    Several may run (one per worker): they share the detections through the durable
    consumer ``durable`` (``None``: each sees every detection, which is still correct, only
    more work), and the store makes each decision atomic.

    Args:
        settings: ``fusion_rules_file`` and ``fusion_sops_file`` (YAML) are used when the
            settings have them; ``rules``/``sops`` given here take precedence.
        clock: the platform clock (opening times, response deadlines).
        tick_s: how often overdue incidents are looked for [s].
    """

    def __init__(
        self,
        store: Store,
        bus: Bus,
        settings: Settings,
        *,
        rules: RuleSet | None = None,
        sops: Mapping[str, Sop] | None = None,
        clock: Clock = _utcnow,
        tick_s: float = 1.0,
        durable: str | None = "fusion",
    ) -> None:
        self.store = store
        self.bus = bus
        self.settings = settings
        rules_file: str | None = getattr(settings, "fusion_rules_file", None)
        sops_file: str | None = getattr(settings, "fusion_sops_file", None)
        self.rules = rules or (read_rules(rules_file) if rules_file else DEFAULT_RULES)
        self.sops = dict(sops or (read_sops(sops_file) if sops_file else DEFAULT_SOPS))
        self.clock = clock
        self.tick_s = tick_s
        self.durable = durable
        self.changed = 0
        """How many incident versions this service stored (opened, joined or escalated)."""
        self._tasks: list[asyncio.Task[None]] = []

    # --- the blocking core, callable from any thread ------------------------------------------
    def handle(self, detection: Detection) -> Incident | None:
        """Fuse one detection atomically and publish the incident it changed; blocking.

        Returns:
            The incident as stored, or ``None`` when nothing changed (a repeated or older
            version, or an ignored kind).
        """
        now = self.clock()
        since_us = detection.time_us - int(self.rules.max_window_s * 1_000_000)

        def decide(
            attached: StoredIncident | None, candidates: list[StoredIncident]
        ) -> StoredIncident | None:
            result = fuse(
                detection,
                None if attached is None else from_stored(attached),
                [from_stored(c) for c in candidates],
                now=now,
                rules=self.rules,
                sops=self.sops,
            )
            return None if result is None else to_stored(result)

        stored = self.store.fuse_incident(detection.id, since_us, decide)
        if stored is None:
            return None
        incident = from_stored(stored)
        self.changed += 1
        publish_incident(self.bus, incident)
        log.info(
            "incident %s v%d (%s, severity %d): %s %s v%d",
            incident.id,
            incident.version,
            incident.kind,
            incident.severity,
            "opened by" if incident.version == 1 else "holds",
            detection.id,
            detection.version,
        )
        return incident

    def escalate_overdue(self) -> list[Incident]:
        """Escalate every new incident past its response deadline; blocking.

        Returns:
            The incidents escalated now (another worker's escalation is not repeated).
        """
        now = self.clock()
        new = self.store.list_incidents(IncidentQuery(statuses=frozenset({Status.NEW.value})))
        escalated: list[Incident] = []
        for stored in new:
            if not overdue(from_stored(stored), now):
                continue
            incident = self._escalate(stored.id, now)
            if incident is None:
                continue
            self.changed += 1
            publish_incident(self.bus, incident)
            log.warning(
                "incident %s not responded to by %s: escalated to the %s",
                incident.id,
                incident.respond_by,
                (incident.escalate_to or Role.SUPERVISOR).value,
            )
            escalated.append(incident)
        return escalated

    def _escalate(self, incident_id: str, now: datetime) -> Incident | None:
        done: list[Incident] = []

        def change(current: StoredIncident) -> StoredIncident | None:
            result = escalate(from_stored(current), now)  # still overdue, under the lock?
            if result is None:
                return None
            done.append(result)
            return to_stored(result)

        self.store.update_incident(incident_id, change)
        return done[0] if done else None

    # --- the asyncio service ----------------------------------------------------------------
    async def start(self) -> None:
        """Subscribe to the detections and start fusing; returns once subscribed."""
        sub = await self.bus.subscribe(f"{DETECTIONS_PREFIX}.>", durable=self.durable)
        self._tasks = [
            asyncio.create_task(self._consume(sub), name="fusion-consume"),
            asyncio.create_task(self._tick(), name="fusion-escalate"),
        ]

    async def stop(self) -> None:
        """Stop fusing; what was stored stays. Tasks of an event loop that has ended are let
        go."""
        tasks, self._tasks = self._tasks, []
        loop = asyncio.get_running_loop()
        mine = [t for t in tasks if t.get_loop() is loop]
        for task in mine:
            task.cancel()
        for task in mine:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _consume(self, sub: Subscription) -> None:
        try:
            async for msg in sub:
                try:
                    detection = Detection.model_validate_json(msg.data)
                    await asyncio.to_thread(self.handle, detection)
                except StorageError as exc:  # not acknowledged: the bus delivers it again
                    log.error("fusing detection %s failed, will retry: %s", msg.msg_id, exc)
                    continue
                except Exception:  # one bad detection must not stop fusion
                    log.exception("fusing detection %s failed", msg.msg_id)
                await msg.ack()
        finally:
            await sub.close()

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self.tick_s)
            try:
                await asyncio.to_thread(self.escalate_overdue)
            except Exception:
                log.exception("looking for overdue incidents failed")

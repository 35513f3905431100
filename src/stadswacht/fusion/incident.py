"""Incidents: what a person works on, with its evidence, its lifecycle and its procedure.

An incident is one event in the world, however many detections (of however many kinds and
agencies) report it. It carries every detection as evidence (id and version), a status that
only people change, along the transitions of :data:`TRANSITIONS`, and the state of the steps
of its standard operating procedure (:mod:`stadswacht.fusion.sop`). Every change is on its
``timeline``: who, when, from which status to which, and why.

>>> from datetime import UTC, datetime
>>> i = Incident(id="inc-g1", kind="gunshot", title="gunshot", severity=3, agency="police",
...              first_time="2026-11-25T02:13:07.120000Z", last_time="2026-11-25T02:13:07.120000Z",
...              opened_at="2026-11-25T02:13:08.000000Z")
>>> at = datetime(2026, 11, 25, 2, 14, tzinfo=UTC)
>>> i = transition(i, "acknowledged", by="ops", role="operator", why="on screen", at=at)
>>> i.status, i.version, i.timeline[-1].from_status
(<Status.ACKNOWLEDGED: 'acknowledged'>, 2, <Status.NEW: 'new'>)
>>> transition(i, "resolved", by="ops", role="operator", why="done", at=at)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
stadswacht.errors.TransitionDenied: an operator may not move incident inc-g1 ...
"""

from __future__ import annotations

from datetime import datetime
from enum import IntEnum, StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from stadswacht.errors import IncidentError, TransitionDenied, TransitionNotAllowed
from stadswacht.model import Position, Role, format_time
from stadswacht.model.area import AgencyId, AreaId
from stadswacht.model.reading import parse_time_ns
from stadswacht.sharing.model import Classification

__all__ = [
    "OPEN_STATUSES",
    "TRANSITIONS",
    "Evidence",
    "Incident",
    "IncidentError",
    "IncidentId",
    "Severity",
    "Status",
    "StepState",
    "TimelineEntry",
    "TransitionDenied",
    "TransitionNotAllowed",
    "transition",
]

IncidentId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,159}$")]
"""An incident id: ``inc-`` and the id of the detection that opened it."""


class Status(StrEnum):
    """Where an incident is in its lifecycle."""

    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    DISPATCHED = "dispatched"
    RESOLVED = "resolved"
    FALSE_ALARM = "false_alarm"


OPEN_STATUSES = frozenset({Status.NEW, Status.ACKNOWLEDGED, Status.DISPATCHED})
"""Statuses in which an incident takes new evidence and its procedure runs."""


class Severity(IntEnum):
    """How bad: 1 (minor) to 5 (extreme). CAP 1.2 has four; ``serious`` sits between."""

    MINOR = 1
    MODERATE = 2
    SERIOUS = 3
    SEVERE = 4
    EXTREME = 5


_OPS = frozenset({Role.OPERATOR, Role.SUPERVISOR, Role.ADMIN})
_SUP = frozenset({Role.SUPERVISOR, Role.ADMIN})

TRANSITIONS: dict[tuple[Status, Status], frozenset[Role]] = {
    (Status.NEW, Status.ACKNOWLEDGED): _OPS,
    (Status.NEW, Status.DISPATCHED): _OPS,
    (Status.NEW, Status.FALSE_ALARM): _OPS,
    (Status.NEW, Status.RESOLVED): _SUP,
    (Status.ACKNOWLEDGED, Status.DISPATCHED): _OPS,
    (Status.ACKNOWLEDGED, Status.FALSE_ALARM): _OPS,
    (Status.ACKNOWLEDGED, Status.RESOLVED): _SUP,
    (Status.DISPATCHED, Status.FALSE_ALARM): _OPS,
    (Status.DISPATCHED, Status.RESOLVED): _SUP,
    (Status.RESOLVED, Status.ACKNOWLEDGED): _SUP,  # reopen
    (Status.FALSE_ALARM, Status.ACKNOWLEDGED): _SUP,  # reopen
}
"""Allowed status changes and the roles that may make each. Resolving and reopening are a
supervisor's; everything else an operator's too. Resolving also needs every mandatory
procedure step done."""


class Evidence(BaseModel):
    """One detection an incident rests on, at the version last seen."""

    model_config = ConfigDict(frozen=True)

    detection: str
    version: int = Field(ge=1)
    kind: str
    agency: AgencyId
    area: AreaId | None = None
    time: str
    position: Position | None = None
    probability: float = Field(ge=0, le=1)
    severity: int = Field(ge=1, le=5, description="What this detection alone is worth")
    keys: dict[str, str] = Field(default_factory=dict, description="Correlation keys")


class TimelineEntry(BaseModel):
    """One change: who made it, when, from which status to which, and why.

    ``event`` is ``transition`` for a status change, ``escalation`` when the response time ran
    out, ``step`` for a procedure step, ``evidence`` when fusion changed the incident's kind.
    """

    model_config = ConfigDict(frozen=True)

    event: Literal["opened", "transition", "escalation", "step", "evidence"]
    at: str
    by: str
    role: str
    from_status: Status | None = None
    to_status: Status
    why: str = ""


class StepState(BaseModel):
    """The state of one procedure step of one incident."""

    model_config = ConfigDict(frozen=True)

    id: str
    text: str
    mandatory: bool
    done: bool = False
    by: str | None = None
    at: str | None = None
    note: str = ""


class Incident(BaseModel):
    """One event, its evidence, its lifecycle and its procedure.

    ``first_time``/``last_time`` are the times of the earliest and latest detection (event
    time); ``opened_at`` is when the platform opened it, and ``respond_by`` when someone must
    have acknowledged or dispatched it before it escalates to ``escalate_to``.
    """

    model_config = ConfigDict(frozen=True)

    id: IncidentId
    kind: str = Field(min_length=1, max_length=64)
    title: str = Field(min_length=1, max_length=300)
    status: Status = Status.NEW
    severity: Severity
    agency: AgencyId = Field(description="Owner: the agency of the leading detection")
    classification: Classification = Classification.AMBER
    area: AreaId | None = None
    position: Position | None = None
    first_time: str
    last_time: str
    opened_at: str
    rule: str | None = Field(default=None, description="The correlation rule that joined")
    detections: list[Evidence] = Field(default_factory=list)
    timeline: list[TimelineEntry] = Field(default_factory=list)
    sop: str | None = Field(default=None, description="Kind of the procedure followed")
    steps: list[StepState] = Field(default_factory=list)
    respond_by: str | None = None
    escalated: bool = False
    escalate_to: Role | None = None
    version: int = Field(default=1, ge=1)

    @property
    def open(self) -> bool:
        """Whether the incident is still being worked (new, acknowledged or dispatched)."""
        return self.status in OPEN_STATUSES

    @property
    def kinds(self) -> frozenset[str]:
        """The kinds of its evidence."""
        return frozenset(e.kind for e in self.detections)

    @property
    def first_us(self) -> int:
        """``first_time`` in µs since the Unix epoch."""
        return parse_time_ns(self.first_time) // 1000

    @property
    def last_us(self) -> int:
        """``last_time`` in µs since the Unix epoch."""
        return parse_time_ns(self.last_time) // 1000

    def open_mandatory_steps(self) -> list[str]:
        """Ids of mandatory procedure steps not done yet, in procedure order."""
        return [s.id for s in self.steps if s.mandatory and not s.done]


def _article(role: str) -> str:
    return "an" if role[:1] in "aeiou" else "a"


def transition(
    incident: Incident,
    to: Status | str,
    *,
    by: str,
    role: Role | str,
    why: str,
    at: datetime,
) -> Incident:
    """The incident moved to status ``to`` by user ``by`` (of ``role``), with the reason.

    Returns a new version; the original is unchanged.

    Raises:
        TransitionNotAllowed: ``to`` cannot follow the current status, or resolving while a
            mandatory procedure step is open (the message names the steps).
        TransitionDenied: the role may not make this change (a subclass of
            :class:`~stadswacht.errors.PermissionDenied`).
    """
    target = Status(to)
    role = Role(role)
    key = (incident.status, target)
    if key not in TRANSITIONS:
        allowed = sorted(t.value for f, t in TRANSITIONS if f is incident.status)
        raise TransitionNotAllowed(
            f"incident {incident.id} cannot go from {incident.status.value} to "
            f"{target.value}; from {incident.status.value} it can go to "
            f"{', '.join(allowed) or 'nothing'}"
        )
    if role not in TRANSITIONS[key]:
        raise TransitionDenied(
            f"{_article(role.value)} {role.value} may not move incident {incident.id} from "
            f"{incident.status.value} to {target.value}; ask a supervisor"
        )
    if target is Status.RESOLVED and (missing := incident.open_mandatory_steps()):
        raise TransitionNotAllowed(
            f"incident {incident.id} cannot be resolved: mandatory procedure steps not done: "
            f"{', '.join(missing)}; mark them done first (POST .../steps/<step>)"
        )
    if not why.strip():
        raise IncidentError(f"say why incident {incident.id} goes to {target.value}")
    entry = TimelineEntry(
        event="transition",
        at=format_time(at),
        by=by,
        role=role.value,
        from_status=incident.status,
        to_status=target,
        why=why,
    )
    return incident.model_copy(
        update={
            "status": target,
            "timeline": [*incident.timeline, entry],
            "version": incident.version + 1,
        }
    )

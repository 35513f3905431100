"""Standard operating procedures: per incident kind, ordered steps and a response-time limit.

A procedure lists what an operator does for an incident of its kind, in order; steps marked
``mandatory`` must be done before the incident may be resolved. If nobody acknowledges or
dispatches the incident within ``response_s`` of its opening, it escalates to
``escalate_to`` (a supervisor): :func:`overdue` tells, :func:`escalate` records it.

Procedures come from :data:`DEFAULT_SOPS` or a YAML file (:func:`read_sops`)::

    gunshot:
      title: Shots fired
      response_s: 60
      steps:
        - {id: verify, text: Check the sensors and cameras near the location, mandatory: true}
        - {id: dispatch, text: Send the nearest unit, mandatory: true}
        - {id: inform, text: Inform the duty officer}

>>> from datetime import UTC, datetime
>>> sop = DEFAULT_SOPS["gunshot"]
>>> [s.id for s in sop.steps if s.mandatory]
['verify', 'dispatch', 'report']
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from stadswacht.errors import ConfigurationError
from stadswacht.fusion.incident import Incident, IncidentError, Status, StepState, TimelineEntry
from stadswacht.model import Role, format_time, parse_time

__all__ = [
    "DEFAULT_SOP",
    "DEFAULT_SOPS",
    "Sop",
    "SopStep",
    "apply_sop",
    "escalate",
    "mark_step",
    "overdue",
    "read_sops",
    "sop_for",
    "sops_from_dict",
]


class SopStep(BaseModel):
    """One step of a procedure."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    text: str = Field(min_length=1, max_length=500)
    mandatory: bool = False


class Sop(BaseModel):
    """The procedure for one kind of incident.

    ``response_s`` [s]: time from opening within which someone must acknowledge or dispatch
    the incident, or it escalates to ``escalate_to``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: str
    title: str = ""
    steps: tuple[SopStep, ...] = ()
    response_s: float = Field(default=300.0, gt=0)
    escalate_to: Role = Role.SUPERVISOR


def _steps(*steps: tuple[str, str, bool]) -> tuple[SopStep, ...]:
    return tuple(SopStep(id=i, text=t, mandatory=m) for i, t, m in steps)


DEFAULT_SOP = Sop(
    kind="*",
    title="Any incident",
    response_s=600,
    steps=_steps(
        ("assess", "Assess the evidence and decide whether to act", True),
        ("report", "Write what was done and why", True),
    ),
)
"""The procedure for a kind that has none of its own."""

DEFAULT_SOPS: dict[str, Sop] = {
    "gunshot": Sop(
        kind="gunshot",
        title="Shots fired",
        response_s=60,
        steps=_steps(
            ("verify", "Check the sensors and cameras near the location", True),
            ("dispatch", "Send the nearest unit; give the location and its uncertainty", True),
            ("inform", "Inform the duty officer and agencies in the zone", False),
            ("report", "Write the incident report", True),
        ),
    ),
    "crowd": Sop(
        kind="crowd",
        title="Crowd density warning",
        response_s=120,
        steps=_steps(
            ("verify", "Check the zone's cameras and counters", True),
            ("security-lead", "Call the event's security lead", True),
            ("gates", "Open extra gates or stop the inflow as the gate plan says", False),
            ("report", "Record what was done", True),
        ),
    ),
    "hazard": Sop(
        kind="hazard",
        title="Hazard warning",
        response_s=900,
        steps=_steps(
            ("confirm", "Confirm the warning with the forecast and the gauge", True),
            ("alert", "Check the CAP alert went out to every channel", True),
            ("report", "Record the decisions", False),
        ),
    ),
}
"""Procedures per incident kind, used where no file is configured."""


def sops_from_dict(doc: Mapping[str, Any]) -> dict[str, Sop]:
    """Procedures from a mapping ``kind -> {title, response_s, steps, escalate_to}``.

    Raises:
        ConfigurationError: a procedure is malformed; the message names the kind and field.
    """
    out: dict[str, Sop] = {}
    for kind, body in doc.items():
        if not isinstance(body, Mapping):
            raise ConfigurationError(f"procedure {kind!r}: expected a mapping, got {body!r}")
        try:
            sop = Sop.model_validate({"kind": str(kind), **body})
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()
            )
            raise ConfigurationError(f"procedure {kind!r}: {problems}") from exc
        ids = [s.id for s in sop.steps]
        if len(set(ids)) != len(ids):
            raise ConfigurationError(f"procedure {kind!r}: step ids repeat: {ids}")
        out[str(kind)] = sop
    return out


def read_sops(path: str | Path) -> dict[str, Sop]:
    """Procedures from a YAML file (see the module docstring).

    Raises:
        ConfigurationError: the file cannot be read or a procedure is malformed.
    """
    try:
        doc = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigurationError(f"cannot read procedures from {path}: {exc}") from exc
    if not isinstance(doc, Mapping):
        raise ConfigurationError(f"{path}: expected a mapping of incident kind to procedure")
    return sops_from_dict(doc)


def sop_for(kind: str, sops: Mapping[str, Sop]) -> Sop:
    """The procedure for ``kind``; :data:`DEFAULT_SOP` if there is none."""
    return sops.get(kind) or sops.get("*") or DEFAULT_SOP


def apply_sop(incident: Incident, sops: Mapping[str, Sop]) -> Incident:
    """The incident with the procedure of its kind; steps already done stay done, and the
    response deadline runs from the opening. A no-op when the procedure is the one it has."""
    sop = sop_for(incident.kind, sops)
    if incident.sop == sop.kind and incident.steps:
        return incident
    done = {s.id: s for s in incident.steps if s.done}
    steps = [
        done[s.id].model_copy(update={"text": s.text, "mandatory": s.mandatory})
        if s.id in done
        else StepState(id=s.id, text=s.text, mandatory=s.mandatory)
        for s in sop.steps
    ]
    respond_by = parse_time(incident.opened_at) + timedelta(seconds=sop.response_s)
    return incident.model_copy(
        update={
            "sop": sop.kind,
            "steps": steps,
            "respond_by": format_time(respond_by),
            "escalate_to": sop.escalate_to,
        }
    )


def overdue(incident: Incident, now: datetime) -> bool:
    """Whether the incident is still new past its response deadline and not yet escalated.

    >>> from datetime import UTC, datetime
    >>> i = Incident(id="inc-1", kind="gunshot", title="t", severity=3, agency="police",
    ...              first_time="2026-11-25T02:13:07Z", last_time="2026-11-25T02:13:07Z",
    ...              opened_at="2026-11-25T02:13:08Z")
    >>> i = apply_sop(i, DEFAULT_SOPS)
    >>> overdue(i, datetime(2026, 11, 25, 2, 14, 7, tzinfo=UTC))
    False
    >>> overdue(i, datetime(2026, 11, 25, 2, 14, 9, tzinfo=UTC))
    True
    """
    if incident.status is not Status.NEW or incident.escalated or incident.respond_by is None:
        return False
    return now > parse_time(incident.respond_by)


def escalate(incident: Incident, now: datetime) -> Incident | None:
    """The incident escalated (recorded on its timeline), or ``None`` if it is not overdue."""
    if not overdue(incident, now):
        return None
    target = incident.escalate_to or Role.SUPERVISOR
    entry = TimelineEntry(
        event="escalation",
        at=format_time(now),
        by="stadswacht",
        role="system",
        from_status=incident.status,
        to_status=incident.status,
        why=f"not acknowledged or dispatched by {incident.respond_by}: escalated to the "
        f"{target.value}",
    )
    return incident.model_copy(
        update={
            "escalated": True,
            "timeline": [*incident.timeline, entry],
            "version": incident.version + 1,
        }
    )


def mark_step(
    incident: Incident, step: str, *, done: bool, by: str, role: Role | str, note: str, at: datetime
) -> Incident:
    """The incident with procedure step ``step`` marked done (or not done), recorded.

    Raises:
        IncidentError: no such step, or the incident is closed.
    """
    if not incident.open:
        raise IncidentError(
            f"incident {incident.id} is {incident.status.value}; reopen it before changing steps"
        )
    ids = [s.id for s in incident.steps]
    if step not in ids:
        raise IncidentError(
            f"incident {incident.id} has no procedure step {step!r}; its steps are "
            f"{', '.join(ids) or 'none'}"
        )
    stamp = format_time(at)
    steps = [
        s.model_copy(update={"done": done, "by": by, "at": stamp, "note": note})
        if s.id == step
        else s
        for s in incident.steps
    ]
    entry = TimelineEntry(
        event="step",
        at=stamp,
        by=by,
        role=Role(role).value,
        from_status=incident.status,
        to_status=incident.status,
        why=f"step {step} {'done' if done else 'not done'}" + (f": {note}" if note else ""),
    )
    return incident.model_copy(
        update={
            "steps": steps,
            "timeline": [*incident.timeline, entry],
            "version": incident.version + 1,
        }
    )

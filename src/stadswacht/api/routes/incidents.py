"""Incidents: list and read them, move them along their lifecycle, tick off procedure steps.

An agency sees its own incidents (administrators: all) and other agencies' under a sharing
agreement for the stated purpose or an emergency release, through the one policy decision
point (:mod:`stadswacht.api.policy`), redacted to the fields shared. Operators acknowledge,
dispatch and call false alarms; supervisors also resolve and reopen
(:data:`~stadswacht.fusion.incident.TRANSITIONS`), and may release an incident to another
agency in an emergency (written reason, time-limited, flagged for review). Every change records
who, when and why, is published on ``stadswacht.incidents.<area>`` and, being a person's
decision on what the detectors raised, goes to the audit log.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, HTTPException, Query, Request, status
from pydantic import BaseModel, Field

from stadswacht.api.auth import Principal
from stadswacht.api.deps import CurrentUser, PlatformDep, epoch_us
from stadswacht.api.policy import gate
from stadswacht.errors import NotFound, PermissionDenied
from stadswacht.fusion.incident import Incident, IncidentError, Status
from stadswacht.fusion.service import change_status, change_step, from_stored
from stadswacht.model import Role
from stadswacht.pipeline import Platform
from stadswacht.sharing.agreements import EmergencyRelease
from stadswacht.sharing.model import Action, ObjectKind
from stadswacht.store.base import IncidentQuery

router = APIRouter(tags=["incidents"])

READERS = frozenset({Role.OPERATOR, Role.SUPERVISOR, Role.ANALYST, Role.ADMIN})
"""Roles that see incidents (need-to-know: not integrators, information managers, auditors)."""

WORKERS = frozenset({Role.OPERATOR, Role.SUPERVISOR, Role.ADMIN})
"""Roles that act on incidents."""


class TransitionRequest(BaseModel):
    """A status change and why."""

    to: Status
    why: str = Field(min_length=1, max_length=2000)


class StepRequest(BaseModel):
    """A procedure step done (or undone), with a note."""

    done: bool = True
    note: str = Field(default="", max_length=2000)


def _require(user: Principal, roles: frozenset[Role], what: str) -> None:
    if user.role not in roles:
        raise PermissionDenied(
            f"a user with role {user.role.value} may not {what}; roles that may: "
            f"{', '.join(sorted(r.value for r in roles))}"
        )


def _own(platform: Platform, user: Principal, incident_id: str) -> Incident:
    incident = from_stored(platform.store.get_incident(incident_id))
    agencies = user.agencies()
    if agencies is not None and incident.agency not in agencies:
        raise NotFound(f"no incident {incident_id!r}")
    return incident


def _conflict(exc: IncidentError) -> HTTPException:
    return HTTPException(status.HTTP_409_CONFLICT, str(exc))


@router.get("/v1/incidents")
async def list_incidents(
    request: Request,
    user: CurrentUser,
    platform: PlatformDep,
    status_: Annotated[
        list[Status] | None, Query(alias="status", description="Only these statuses")
    ] = None,
    open_only: Annotated[bool, Query(alias="open", description="Only open incidents")] = False,
    area: str | None = None,
    since: Annotated[
        datetime | None, Query(description="Last detection at or after (RFC 3339)")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 500,
) -> list[dict[str, Any]]:
    """Incidents the caller may see, latest activity first: their agency's, and other
    agencies' under an agreement (``X-Purpose``) or an emergency release, redacted to the
    fields shared (``_withheld`` names the rest)."""
    _require(user, READERS, "read incidents")
    g = gate(request, user)
    q = IncidentQuery(
        statuses=None if status_ is None else frozenset(s.value for s in status_),
        open_only=open_only,
        area=area,
        agencies=g.agencies(ObjectKind.INCIDENT),
        since_us=epoch_us(since),
        limit=limit,
    )
    found = await anyio.to_thread.run_sync(platform.store.list_incidents, q)
    docs = (from_stored(s).model_dump(mode="json") for s in found)
    return g.filter(Action.LIST, ObjectKind.INCIDENT, docs)


@router.get("/v1/incidents/{incident_id}")
async def get_incident(
    request: Request, user: CurrentUser, platform: PlatformDep, incident_id: str
) -> dict[str, Any]:
    """One incident with its evidence, timeline and procedure, if the caller may read it
    (otherwise: not found, so ids of other agencies are not disclosed)."""
    _require(user, READERS, "read incidents")
    stored = await anyio.to_thread.run_sync(platform.store.get_incident, incident_id)
    doc = from_stored(stored).model_dump(mode="json")
    return gate(request, user).one(Action.READ, ObjectKind.INCIDENT, doc)


class ReleaseRequest(BaseModel):
    """An emergency release of an incident to another agency."""

    to_agency: str = Field(min_length=1, max_length=64)
    reason: str = Field(min_length=10, max_length=2000, description="Why, in writing")
    hours: float = Field(default=4.0, gt=0, le=24, description="How long it lasts [h]")


@router.post("/v1/incidents/{incident_id}/release", status_code=status.HTTP_201_CREATED)
async def release_incident(
    user: CurrentUser, platform: PlatformDep, incident_id: str, body: ReleaseRequest
) -> dict[str, Any]:
    """Open this incident of the caller's agency to ``to_agency`` for ``hours`` (supervisors
    only): read, list and live stream, every field. The release is flagged for review and
    written to the audit log."""
    incident = await anyio.to_thread.run_sync(_own, platform, user, incident_id)
    now = datetime.now(UTC)
    try:
        release = EmergencyRelease.grant(
            user, incident.id, body.to_agency, body.reason, now, timedelta(hours=body.hours)
        )
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    platform.policy.add_release(release)
    _audit(platform, user, "emergency_release", incident, "allow", "emergency-release",
           to_agency=release.to_agency, why=release.reason, expires=release.expires_at.isoformat(),
           flagged_for_review=True)  # fmt: skip
    return release.model_dump(mode="json")


@router.get("/v1/releases")
async def list_releases(user: CurrentUser, platform: PlatformDep) -> list[dict[str, Any]]:
    """Emergency releases from or to the caller's agency (all for auditors' and admins'
    review), newest first; each is flagged for review."""
    _require(
        user,
        frozenset({Role.SUPERVISOR, Role.INFORMATION_MANAGER, Role.AUDITOR, Role.ADMIN}),
        "review emergency releases",
    )
    mine = [
        r
        for r in platform.policy.releases
        if user.is_admin or user.role is Role.AUDITOR or user.agency in (r.from_agency, r.to_agency)
    ]
    return [
        r.model_dump(mode="json") for r in sorted(mine, key=lambda r: r.granted_at, reverse=True)
    ]


def _audit(
    platform: Platform,
    user: Principal,
    action: str,
    incident: Incident,
    outcome: str,
    reason: str,
    **details: Any,
) -> None:
    platform.record_access(
        [
            {
                "actor": user.name,
                "actor_agency": user.agency,
                "actor_role": user.role.value,
                "action": action,
                "object_kind": "incident",
                "object_id": incident.id,
                "owner": incident.agency,
                "purpose": None,
                "outcome": outcome,
                "reason": reason,
                "detections": [e.detection for e in incident.detections][:50],
                **details,
            }
        ]
    )


@router.post("/v1/incidents/{incident_id}/transition", response_model=Incident)
async def transition_incident(
    user: CurrentUser, platform: PlatformDep, incident_id: str, body: TransitionRequest
) -> Incident:
    """Move the incident to status ``to``: 403 when the role may not, 409 when the lifecycle
    does not allow it from the current status or mandatory procedure steps are open."""
    _require(user, WORKERS, "act on incidents")

    def run() -> Incident:
        _own(platform, user, incident_id)
        changed = change_status(
            platform.store,
            platform.bus,
            incident_id,
            body.to,
            by=user.name,
            role=user.role,
            why=body.why,
            at=datetime.now(UTC),
        )
        _audit(platform, user, "decision", changed, "allow", f"status:{body.to.value}",
               why=body.why)  # fmt: skip
        return changed

    try:
        return await anyio.to_thread.run_sync(run)
    except IncidentError as exc:
        raise _conflict(exc) from exc


@router.post("/v1/incidents/{incident_id}/steps/{step}", response_model=Incident)
async def mark_incident_step(
    user: CurrentUser, platform: PlatformDep, incident_id: str, step: str, body: StepRequest
) -> Incident:
    """Mark procedure step ``step`` done (or not done) with a note; 409 for a step the
    incident's procedure does not have or a closed incident."""
    _require(user, WORKERS, "act on incidents")

    def run() -> Incident:
        _own(platform, user, incident_id)
        changed = change_step(
            platform.store,
            platform.bus,
            incident_id,
            step,
            done=body.done,
            by=user.name,
            role=user.role,
            note=body.note,
            at=datetime.now(UTC),
        )
        _audit(platform, user, "decision", changed, "allow", f"step:{step}:{body.done}",
               note=body.note)  # fmt: skip
        return changed

    try:
        return await anyio.to_thread.run_sync(run)
    except IncidentError as exc:
        raise _conflict(exc) from exc

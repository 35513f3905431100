"""Incidents: list and read them, move them along their lifecycle, tick off procedure steps.

An agency sees its own incidents (administrators: all); the sharing policy will put other
agencies' incidents in front of this. Operators acknowledge, dispatch and call false alarms;
supervisors also resolve and reopen (:data:`~stadswacht.fusion.incident.TRANSITIONS`). Every
change records who, when and why, and is published on ``stadswacht.incidents.<area>``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import anyio
from fastapi import APIRouter, HTTPException, Query, status
from pydantic import BaseModel, Field

from stadswacht.api.auth import Principal
from stadswacht.api.deps import CurrentUser, PlatformDep, epoch_us
from stadswacht.errors import NotFound, PermissionDenied
from stadswacht.fusion.incident import Incident, IncidentError, Status
from stadswacht.fusion.service import change_status, change_step, from_stored
from stadswacht.model import Role
from stadswacht.pipeline import Platform
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


@router.get("/v1/incidents", response_model=list[Incident])
async def list_incidents(
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
) -> list[Incident]:
    """Incidents of the caller's agency (administrators: all), latest activity first."""
    _require(user, READERS, "read incidents")
    q = IncidentQuery(
        statuses=None if status_ is None else frozenset(s.value for s in status_),
        open_only=open_only,
        area=area,
        agencies=user.agencies(),
        since_us=epoch_us(since),
        limit=limit,
    )
    found = await anyio.to_thread.run_sync(platform.store.list_incidents, q)
    return [from_stored(s) for s in found]


@router.get("/v1/incidents/{incident_id}", response_model=Incident)
async def get_incident(user: CurrentUser, platform: PlatformDep, incident_id: str) -> Incident:
    """One incident with its evidence, timeline and procedure, if the caller's agency owns it
    (otherwise: not found)."""
    _require(user, READERS, "read incidents")
    return await anyio.to_thread.run_sync(_own, platform, user, incident_id)


@router.post("/v1/incidents/{incident_id}/transition", response_model=Incident)
async def transition_incident(
    user: CurrentUser, platform: PlatformDep, incident_id: str, body: TransitionRequest
) -> Incident:
    """Move the incident to status ``to``: 403 when the role may not, 409 when the lifecycle
    does not allow it from the current status or mandatory procedure steps are open."""
    _require(user, WORKERS, "act on incidents")

    def run() -> Incident:
        _own(platform, user, incident_id)
        return change_status(
            platform.store,
            platform.bus,
            incident_id,
            body.to,
            by=user.name,
            role=user.role,
            why=body.why,
            at=datetime.now(UTC),
        )

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
        return change_step(
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

    try:
        return await anyio.to_thread.run_sync(run)
    except IncidentError as exc:
        raise _conflict(exc) from exc

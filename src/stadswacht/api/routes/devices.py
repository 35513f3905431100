"""Devices: register, list, show, rotate a key, quarantine and clear, decommission.

Integrators manage the devices of their own agency; administrators those of every agency.
Everyone may list the devices of their own agency, and other agencies' under a sharing
agreement (:mod:`stadswacht.api.policy`).
"""

from __future__ import annotations

from typing import Any

import anyio
from fastapi import APIRouter, HTTPException, Request, status
from pydantic import BaseModel, Field

from stadswacht.api.auth import Principal, require
from stadswacht.api.deps import CurrentUser, PlatformDep
from stadswacht.api.policy import gate
from stadswacht.errors import (
    AlreadyExists,
    DeviceStateError,
    NotFound,
    PermissionDenied,
    UnknownDevice,
)
from stadswacht.model import Device, DeviceKind, Position, Role
from stadswacht.sharing.model import Action, ObjectKind

router = APIRouter(tags=["devices"])


class NewDevice(BaseModel):
    """A device to register. Without ``public_key`` the platform makes a key pair and returns
    the private key once."""

    id: str
    kind: DeviceKind
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    agency: str | None = Field(default=None, description="Default: the caller's agency")
    area: str | None = None
    public_key: str | None = Field(default=None, description="Ed25519 public key, base64url")
    gateway_for: list[str] = Field(default_factory=list)


class Registered(BaseModel):
    """A registered device; ``private_key`` is shown only when the platform made it."""

    device: Device
    private_key: str | None = None


class QuarantineDecision(BaseModel):
    """A person's decision on a quarantined device, with the reason kept on the audit log."""

    note: str = Field(min_length=3, max_length=2000, description="Why; kept on the audit log")


class NewKey(BaseModel):
    """A new public key, or none to have the platform make one."""

    public_key: str | None = None


def _own(user: Principal, device: Device) -> None:
    if not user.is_admin and device.agency != user.agency:
        # Same answer as for a missing device: ids of other agencies are not disclosed.
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"device {device.id!r} is not registered")


async def _get(platform: PlatformDep, device_id: str) -> Device:
    try:
        return await anyio.to_thread.run_sync(platform.store.get_device, device_id)
    except UnknownDevice as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc


@router.get("/v1/devices")
async def list_devices(
    request: Request, user: CurrentUser, platform: PlatformDep
) -> list[dict[str, Any]]:
    """Devices the caller may see: their agency's (administrators: all) and other agencies'
    under a sharing agreement for the stated purpose (redacted to its fields)."""
    g = gate(request, user)
    agencies = g.agencies(ObjectKind.DEVICE)
    found = await anyio.to_thread.run_sync(platform.registry.list, None)
    docs = (d.model_dump(mode="json") for d in found if agencies is None or d.agency in agencies)
    return g.filter(Action.LIST, ObjectKind.DEVICE, docs)


@router.post("/v1/devices", response_model=Registered, status_code=status.HTTP_201_CREATED)
async def add_device(body: NewDevice, user: CurrentUser, platform: PlatformDep) -> Registered:
    """Register a device of the caller's agency."""
    require(user, Role.INTEGRATOR)
    agency = body.agency or user.agency
    if agency != user.agency and not user.is_admin:
        raise PermissionDenied(f"you may register devices of agency {user.agency!r} only")

    def register() -> Registered:
        reg = platform.registry.register(
            body.id,
            kind=body.kind,
            position=Position(lat=body.lat, lon=body.lon),
            agency=agency,
            area=body.area,
            public_key=body.public_key,
            gateway_for=body.gateway_for,
        )
        return Registered(device=reg.device, private_key=reg.private_key)

    try:
        return await anyio.to_thread.run_sync(register)
    except AlreadyExists as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc


@router.get("/v1/devices/{device_id}")
async def get_device(
    request: Request, device_id: str, user: CurrentUser, platform: PlatformDep
) -> dict[str, Any]:
    """One device, if the caller may read it (else: not registered, as for a missing one)."""
    device = await _get(platform, device_id)
    try:
        return gate(request, user).one(
            Action.READ, ObjectKind.DEVICE, device.model_dump(mode="json")
        )
    except NotFound as exc:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"device {device_id!r} is not registered"
        ) from exc


@router.post("/v1/devices/{device_id}/rotate-key", response_model=Registered)
async def rotate_key(
    device_id: str, body: NewKey, user: CurrentUser, platform: PlatformDep
) -> Registered:
    """Give a device a new key; readings signed with the old one are refused from now on."""
    require(user, Role.INTEGRATOR)
    _own(user, await _get(platform, device_id))
    reg = await anyio.to_thread.run_sync(platform.registry.rotate_key, device_id, body.public_key)
    return Registered(device=reg.device, private_key=reg.private_key)


@router.delete("/v1/devices/{device_id}", response_model=Device)
async def decommission(device_id: str, user: CurrentUser, platform: PlatformDep) -> Device:
    """Decommission a device: it stays listed, its readings are refused."""
    require(user, Role.INTEGRATOR)
    _own(user, await _get(platform, device_id))
    return await anyio.to_thread.run_sync(platform.registry.decommission, device_id)


QUARANTINE_ROLES = (Role.INTEGRATOR, Role.SUPERVISOR)
"""Who may put a device of their agency in quarantine or clear it (administrators too): the
integrator who knows the device, and the supervisor who answers for what the detectors use."""


def _quarantine_audit(
    platform: PlatformDep, user: Principal, device: Device, what: str, note: str
) -> None:
    platform.record_access(
        [
            {
                "actor": user.name,
                "actor_agency": user.agency,
                "action": "decision",
                "object_kind": ObjectKind.DEVICE.value,
                "object_id": device.id,
                "owner": device.agency,
                "purpose": None,
                "outcome": "allow",
                "reason": what,
                "note": note,
            }
        ]
    )


@router.post("/v1/devices/{device_id}/quarantine", response_model=Device)
async def quarantine_device(
    device_id: str, body: QuarantineDecision, user: CurrentUser, platform: PlatformDep
) -> Device:
    """Quarantine a device by hand: its readings are still stored, the detectors leave them
    out until a person clears it. The decision goes on the audit log."""
    require(user, *QUARANTINE_ROLES)
    _own(user, await _get(platform, device_id))

    def act() -> Device:
        updated = platform.registry.quarantine(device_id, check="manual", reason=body.note)
        if updated is None:
            current = platform.store.get_device(device_id)
            raise DeviceStateError(
                f"device {device_id!r} is {current.status.value}; only an active device can "
                "be quarantined"
            )
        _quarantine_audit(platform, user, updated, "quarantine", body.note)
        return updated

    try:
        return await anyio.to_thread.run_sync(act)
    except DeviceStateError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc


@router.post("/v1/devices/{device_id}/clear", response_model=Device)
async def clear_device(
    device_id: str, body: QuarantineDecision, user: CurrentUser, platform: PlatformDep
) -> Device:
    """Lift a device's quarantine: a person checked it and trusts its readings again. The
    detectors use its new readings from now on; the decision goes on the audit log."""
    require(user, *QUARANTINE_ROLES)
    _own(user, await _get(platform, device_id))

    def act() -> Device:
        updated = platform.registry.clear(device_id)
        _quarantine_audit(platform, user, updated, "clear_quarantine", body.note)
        return updated

    try:
        cleared = await anyio.to_thread.run_sync(act)
    except DeviceStateError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    await platform.device_cleared(device_id)
    return cleared

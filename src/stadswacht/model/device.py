"""Devices: sensors and gateways registered by an agency, each with its own Ed25519 key.

>>> d = Device(id="iz-ac-01", kind="acoustic", position=Position(lat=52.09, lon=4.28),
...            agency="police", public_key="11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")
>>> d.status
<DeviceStatus.ACTIVE: 'active'>
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from stadswacht.model.area import AgencyId, AreaId, Position

__all__ = ["Device", "DeviceId", "DeviceKind", "DeviceStatus", "Quarantine", "decode_b64url"]

DeviceId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")]
"""A device id: letters, digits and ``_ . : -``, at most 64; never MQTT wildcards or ``/``."""


class DeviceKind(StrEnum):
    """What a device is; a gateway forwards and may batch-sign the readings of other devices."""

    ACOUSTIC = "acoustic"
    PEOPLE_COUNTER = "people_counter"
    WATER_GAUGE = "water_gauge"
    RAIN_GAUGE = "rain_gauge"
    WEATHER = "weather"
    POWER_MONITOR = "power_monitor"
    CAMERA_COUNTER = "camera_counter"
    GATEWAY = "gateway"
    OTHER = "other"


class DeviceStatus(StrEnum):
    """Life cycle of a device.

    A decommissioned device's readings are rejected. A quarantined device is suspected of
    lying (stuck, spoofed, replayed, out of range, at odds with its neighbours): its readings
    are still accepted and stored, but the detectors do not use them until a person clears it.
    """

    ACTIVE = "active"
    QUARANTINED = "quarantined"
    DECOMMISSIONED = "decommissioned"


class Quarantine(BaseModel):
    """Why and since when a device is quarantined (``Device.quarantine``)."""

    model_config = ConfigDict(frozen=True)

    since: datetime
    check: str = Field(description="The health check that failed, e.g. stuck, spoofed")
    reason: str = Field(description="What the check saw, for the person who clears it")
    detection: str | None = Field(default=None, description="Id of the infra detection")


def decode_b64url(text: str) -> bytes:
    """Decode base64url with or without padding.

    >>> decode_b64url("AAE")
    b'\\x00\\x01'
    """
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Device(BaseModel):
    """A registered device and its current public key."""

    model_config = ConfigDict(frozen=True)

    id: DeviceId
    kind: DeviceKind
    position: Position
    agency: AgencyId
    area: AreaId | None = None
    status: DeviceStatus = DeviceStatus.ACTIVE
    public_key: str = Field(description="Ed25519 public key, 32 bytes, base64url")
    key_version: int = Field(default=1, ge=1)
    gateway_for: tuple[DeviceId, ...] = Field(
        default=(), description="Devices whose readings this gateway may sign as a batch"
    )
    broker_username: str | None = Field(
        default=None, description="MQTT user name of this device on the broker"
    )
    created: datetime = Field(default_factory=lambda: datetime.now(UTC))
    quarantine: Quarantine | None = Field(
        default=None, description="Set while the device is quarantined"
    )

    @field_validator("public_key")
    @classmethod
    def _check_key(cls, key: str) -> str:
        try:
            raw = decode_b64url(key)
        except ValueError as exc:
            raise ValueError("public_key is not base64url") from exc
        if len(raw) != 32:
            raise ValueError(f"public_key must be 32 bytes (Ed25519), got {len(raw)}")
        return key

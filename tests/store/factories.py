"""Small builders of valid domain objects for the store tests."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

from stadswacht.model import (
    Agency,
    Area,
    DeadLetter,
    Device,
    DeviceKind,
    Position,
    Role,
    StoredReading,
    User,
    format_time,
)

KEY_A = base64.urlsafe_b64encode(bytes(range(32))).rstrip(b"=").decode()
KEY_B = base64.urlsafe_b64encode(bytes(range(32, 64))).rstrip(b"=").decode()
T0_US = 1_795_000_000_000_000
"""2026-11-18T11:06:40Z [µs since the epoch]: the time of the first test reading."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def device(
    device_id: str = "iz-ac-01",
    *,
    agency: str = "police",
    area: str | None = "international-zone",
    lat: float = 52.0951,
    lon: float = 4.2831,
    **kw: Any,
) -> Device:
    return Device(
        id=device_id, kind=kw.pop("kind", DeviceKind.ACOUSTIC), position=Position(lat=lat, lon=lon),
        agency=agency, area=area, public_key=kw.pop("public_key", KEY_A), **kw,
    )  # fmt: skip


def user(name: str = "anna", *, agency: str = "police", role: Role = Role.OPERATOR) -> User:
    return User(
        name=name, agency=agency, role=role, password_hash="$argon2id$v=19$m=65536,t=3,p=4$x",
        created=datetime(2026, 11, 1, 8, 30, 15, 123456, tzinfo=UTC),
    )  # fmt: skip


def agency(agency_id: str = "police", name: str = "Politie Haaglanden") -> Agency:
    return Agency(id=agency_id, name=name)


def area(area_id: str = "international-zone", name: str = "International Zone") -> Area:
    return Area(
        id=area_id, name=name, polygon=((4.28, 52.09), (4.30, 52.09), (4.30, 52.10), (4.28, 52.10))
    )


def reading(
    device_id: str = "iz-ac-01",
    seq: int = 1,
    *,
    kind: str = "temperature",
    values: dict[str, Any] | None = None,
    agency: str = "police",
    area: str | None = "international-zone",
    time_us: int | None = None,
    sig: str | None = None,
    received_us: int | None = None,
) -> StoredReading:
    """A reading taken ``seq`` seconds after :data:`T0_US` unless ``time_us`` says otherwise."""
    time_us = T0_US + seq * 1_000_000 if time_us is None else time_us
    return StoredReading(
        device=device_id, seq=seq, time=format_time(_EPOCH + timedelta(microseconds=time_us)),
        time_us=time_us, kind=kind,
        values={"temperature_c": 8.5 + seq % 10} if values is None else values,
        agency=agency, area=area, sig=sig if sig is not None else f"sig-{device_id}-{seq}",
        received_us=time_us + 250_000 if received_us is None else received_us,
    )  # fmt: skip


def dead_letter(
    reason: str = "bad_signature",
    *,
    device_id: str | None = "iz-ac-01",
    seq: int | None = 7,
    payload: str = '{"device":"iz-ac-01","seq":7}',
    received_us: int = T0_US,
    message: str = "signature does not verify",
) -> DeadLetter:
    return DeadLetter(
        received_us=received_us, reason=reason, message=message, device=device_id, seq=seq,
        transport="http", source="192.0.2.10", payload=payload,
    )  # fmt: skip

"""Domain types shared by every capability: devices, readings, detections, areas, agencies,
users.

Every type is a validated pydantic model; identifiers and positions are checked when made, so
code that holds one never needs to check it again.
"""

from __future__ import annotations

from stadswacht.model.area import Agency, Area, Position
from stadswacht.model.detection import DETECTION_KINDS, Detection, Ellipse
from stadswacht.model.device import Device, DeviceId, DeviceKind, DeviceStatus, Quarantine
from stadswacht.model.reading import (
    READING_KINDS,
    AcousticImpulse,
    DeadLetter,
    Heartbeat,
    PeopleCount,
    Power,
    Rain,
    Reading,
    ReadingKind,
    StoredReading,
    Temperature,
    WaterLevel,
    Wind,
    format_time,
    parse_time,
)
from stadswacht.model.user import Role, User

__all__ = [
    "DETECTION_KINDS",
    "READING_KINDS",
    "AcousticImpulse",
    "Agency",
    "Area",
    "DeadLetter",
    "Detection",
    "Device",
    "DeviceId",
    "DeviceKind",
    "DeviceStatus",
    "Ellipse",
    "Heartbeat",
    "PeopleCount",
    "Position",
    "Power",
    "Quarantine",
    "Rain",
    "Reading",
    "ReadingKind",
    "Role",
    "StoredReading",
    "Temperature",
    "User",
    "WaterLevel",
    "Wind",
    "format_time",
    "parse_time",
]

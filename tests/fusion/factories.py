"""Detections of one made-up evening in the International Zone, for the fusion tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from stadswacht.model import Detection, Position, format_time

T0 = datetime(2026, 11, 25, 2, 13, 7, tzinfo=UTC)
"""When the shots are fired."""

PLACE = Position(lat=52.0915, lon=4.2925)
"""Where (near the Peace Palace)."""

AGENCY = {"gunshot": "police", "crowd": "municipality", "websignal": "police"}


def moved(p: Position, east_m: float = 0.0, north_m: float = 0.0) -> Position:
    """``p`` moved by metres east and north (flat Earth: fine over a few km)."""
    return Position(lat=p.lat + north_m / 111_195.0, lon=p.lon + east_m / (111_195.0 * 0.6149))


def detection(
    id: str,
    kind: str = "gunshot",
    *,
    after_s: float = 0.0,
    position: Position | None = PLACE,
    area: str | None = "iz",
    version: int = 1,
    **kw: Any,
) -> Detection:
    """A detection of ``kind`` ``after_s`` seconds after :data:`T0`."""
    t = format_time(T0 + timedelta(seconds=after_s))
    base: dict[str, Any] = {
        "id": id, "kind": kind, "detector": kind, "agency": AGENCY.get(kind, "safety-region"),
        "area": area, "time": t, "detected_at": t, "version": version, "position": position,
        "probability": 0.9,
    }  # fmt: skip
    return Detection(**{**base, **kw})

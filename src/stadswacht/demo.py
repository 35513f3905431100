"""A small demo district for ``stadswacht demo`` (``make run``) until the living lab (#3)
replaces it: The Hague's International Zone, a few agencies, and devices that send signed
readings through the real HTTP ingest path every second.
"""

from __future__ import annotations

import logging
import math
import random
import threading
from datetime import UTC, datetime
from typing import Any

import httpx

from stadswacht.errors import AlreadyExists
from stadswacht.model import Agency, Area, DeviceKind, Position, format_time
from stadswacht.model.signing import load_private_key, sign_reading
from stadswacht.pipeline import Platform

__all__ = ["DEMO_AREA", "seed_demo", "stream_demo"]

log = logging.getLogger(__name__)

DEMO_AREA = Area(
    id="international-zone",
    name="Internationale Zone, Den Haag",
    polygon=(
        (4.2770, 52.0890),
        (4.2990, 52.0870),
        (4.3080, 52.0960),
        (4.2990, 52.1060),
        (4.2800, 52.1030),
    ),
)
"""A rough outline of The Hague's International Zone (Peace Palace to World Forum)."""

_AGENCIES = (
    Agency(id="municipality", name="Gemeente Den Haag"),
    Agency(id="police", name="Politie Eenheid Den Haag"),
    Agency(id="safety-region", name="Veiligheidsregio Haaglanden"),
    Agency(id="water-board", name="Hoogheemraadschap van Delfland"),
)

_KINDS: tuple[tuple[DeviceKind, str, str], ...] = (
    (DeviceKind.WEATHER, "temperature", "municipality"),
    (DeviceKind.PEOPLE_COUNTER, "people_count", "municipality"),
    (DeviceKind.WATER_GAUGE, "water_level", "water-board"),
    (DeviceKind.POWER_MONITOR, "power", "safety-region"),
    (DeviceKind.RAIN_GAUGE, "rain", "water-board"),
    (DeviceKind.ACOUSTIC, "heartbeat", "police"),
)


def seed_demo(platform: Platform, n: int) -> list[tuple[str, str, str]]:
    """Create the demo area, agencies and ``n`` devices; return (device, reading kind, key)."""
    store = platform.store
    for agency in _AGENCIES:
        store.put_agency(agency)
    store.put_area(DEMO_AREA)
    rng = random.Random(7)
    out: list[tuple[str, str, str]] = []
    for i in range(n):
        kind, reading_kind, owner = _KINDS[i % len(_KINDS)]
        device_id = f"iz-demo-{i + 1:02d}"
        pos = Position(lat=52.090 + rng.random() * 0.012, lon=4.282 + rng.random() * 0.020)
        try:
            reg = platform.registry.register(
                device_id, kind=kind, position=pos, agency=owner, area=DEMO_AREA.id
            )
        except AlreadyExists:
            # Keys are shown once; on a second run give the demo device a fresh one.
            reg = platform.registry.rotate_key(device_id)
        assert reg.private_key is not None
        out.append((device_id, reading_kind, reg.private_key))
    return out


def _values(kind: str, t: float, rng: random.Random) -> dict[str, Any]:
    day = math.sin(2 * math.pi * (t % 86400) / 86400)
    if kind == "temperature":
        return {"temperature_c": round(8 + 4 * day + rng.gauss(0, 0.2), 2)}
    if kind == "people_count":
        return {"in": rng.randint(0, 30), "out": rng.randint(0, 30), "interval_s": 1.0}
    if kind == "water_level":
        return {"level_cm_nap": round(60 * math.sin(2 * math.pi * t / 44_712) + rng.gauss(0, 1), 1)}
    if kind == "power":
        return {"on": True, "voltage_v": round(230 + rng.gauss(0, 1), 1)}
    if kind == "rain":
        return {"rain_mm": max(0.0, round(rng.gauss(0, 0.1), 2)), "interval_s": 1.0}
    return {"battery_pct": round(90 - (t % 3600) / 360, 1)}


def stream_demo(url: str, devices: list[tuple[str, str, str]], stop: threading.Event) -> None:
    """Send one signed reading per device per second to ``url`` until ``stop`` is set."""
    rng = random.Random()
    keys = {d: load_private_key(k) for d, _, k in devices}
    seq = {d: int(datetime.now(UTC).timestamp() * 1000) for d, _, _ in devices}
    with httpx.Client(base_url=url, timeout=5.0) as http:
        while not stop.wait(1.0):
            now = datetime.now(UTC)
            batch = []
            for device_id, kind, _ in devices:
                seq[device_id] += 1
                reading = {
                    "device": device_id,
                    "seq": seq[device_id],
                    "time": format_time(now),
                    "kind": kind,
                    "values": _values(kind, now.timestamp(), rng),
                }
                batch.append(sign_reading(keys[device_id], reading))
            try:
                http.post("/v1/readings", json={"readings": batch})
            except httpx.HTTPError as exc:
                log.debug("demo devices cannot reach %s: %s", url, exc)

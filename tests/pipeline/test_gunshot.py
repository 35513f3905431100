"""The gunshot stage and the live detector worker: impulse reports in, detections out.

Arrivals are computed from the physics (distance / speed of sound) for sensors registered on a
real platform, so the stage's frame conversion, device lookups and evidence are all exercised.
"""

from __future__ import annotations

import asyncio
import math
import time
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from stadswacht.api import create_app
from stadswacht.api.auth import create_user
from stadswacht.model import DeviceKind, Position, Role, format_time
from stadswacht.model.geo import LocalFrame, speed_of_sound
from stadswacht.model.signing import load_private_key, sign_reading
from stadswacht.pipeline import Platform
from stadswacht.pipeline.gunshot import GunshotStage
from stadswacht.pipeline.offline import detect_recorded

ORIGIN = (4.2925, 52.0915)
FRAME = LocalFrame(*ORIGIN)
# Six sensors on a ring of 250 m around the origin, one weather station in the middle.
SENSORS = {
    f"ac-{k}": (250 * math.cos(k * math.pi / 3 + 0.3), 250 * math.sin(k * math.pi / 3 + 0.3))
    for k in range(6)
}
GUNSHOT = {"gunshot": 0.9, "fireworks": 0.05, "impulsive_other": 0.04, "background": 0.01}
FIREWORKS = {"gunshot": 0.1, "fireworks": 0.85, "impulsive_other": 0.04, "background": 0.01}


@pytest.fixture
def keys(platform: Platform) -> dict[str, Any]:
    out = {}
    for sid, (x, y) in SENSORS.items():
        lon, lat = FRAME.to_lonlat(x, y)
        reg = platform.registry.register(
            sid, kind=DeviceKind.ACOUSTIC, position=Position(lat=lat, lon=lon), agency="police",
            area="international-zone",
        )  # fmt: skip
        out[sid] = load_private_key(reg.private_key or "")
    reg = platform.registry.register(
        "wx-1", kind=DeviceKind.WEATHER, position=Position(lat=ORIGIN[1], lon=ORIGIN[0]),
        agency="municipality",
    )  # fmt: skip
    out["wx-1"] = load_private_key(reg.private_key or "")
    return out


def _stamp(seconds: float) -> str:
    whole = math.floor(seconds)
    micros = min(round((seconds - whole) * 1e6), 999_999)
    return format_time(datetime.fromtimestamp(whole, UTC).replace(microsecond=micros))


def shot(
    source_xy: tuple[float, float],
    t0: float,
    *,
    rounds: int = 1,
    interval_s: float = 0.7,
    classes: dict[str, float] = GUNSHOT,
    temperature_c: float = 10.0,
    seq0: int = 1,
) -> list[tuple[float, dict[str, Any]]]:
    """``(received_s, reading)`` pairs of every sensor hearing every round, received 0.3 s
    after the arrival, as the bus would carry them."""
    c = speed_of_sound(temperature_c)
    out = []
    for k in range(rounds):
        for n, (sid, (x, y)) in enumerate(SENSORS.items()):
            arrival = t0 + k * interval_s + math.hypot(x - source_xy[0], y - source_xy[1]) / c
            values = {"arrival_time": _stamp(arrival), "peak_db": 95.0, "classes": classes}
            reading = {
                "device": sid, "seq": seq0 + k * 10 + n, "time": _stamp(arrival),
                "kind": "acoustic_impulse", "values": values, "agency": "police",
                "area": "international-zone",
            }  # fmt: skip
            out.append((arrival + 0.3, reading))
    return sorted(out, key=lambda p: p[0])


def stage(platform: Platform) -> GunshotStage:
    return GunshotStage(
        device=platform.registry.get,
        acoustic_devices=lambda: [
            d for d in platform.registry.list() if d.kind is DeviceKind.ACOUSTIC
        ],
    )


def _xy(position: Position) -> np.ndarray:
    return np.array(FRAME.to_xy(position.lon, position.lat))


def test_three_rounds_become_one_located_gunshot_detection(
    platform: Platform, keys: dict[str, Any]
) -> None:
    t0 = 1_795_000_000.0
    found = detect_recorded(stage(platform), shot((40.0, -25.0), t0, rounds=3))
    assert [d.kind for d in found] == ["gunshot"]
    det = found[0]
    assert det.details["rounds"] == 3
    assert det.version >= 2  # raised after the first round, updated with the next ones
    assert det.position is not None and det.uncertainty is not None
    assert np.hypot(*(_xy(det.position) - (40.0, -25.0))) < 1.0  # noise-free arrivals
    assert det.uncertainty.semi_major_m < 5
    assert sorted(det.sensors) == sorted(SENSORS)
    assert len(det.evidence) == 18 and "ac-0:1" in det.evidence
    assert det.agency == "police" and det.area == "international-zone"
    assert det.probability > 0.8
    # Raised within 2 s of the last arrival of the first round, on the simulated clock.
    first_round_last = max(r["values"]["arrival_time"] for _, r in shot((40.0, -25.0), t0))
    raised = datetime.fromisoformat(det.detected_at).timestamp()
    last = datetime.fromisoformat(first_round_last).timestamp()
    assert 0 < raised - last <= 2.0
    # The event's time is the first round's emission: before the first arrival, by ~0.6 s here.
    first = datetime.fromisoformat(shot((40.0, -25.0), t0)[0][1]["time"]).timestamp()
    assert datetime.fromisoformat(det.time).timestamp() == pytest.approx(t0, abs=1e-3)
    assert first > t0


def test_fireworks_are_located_but_never_a_gunshot(
    platform: Platform, keys: dict[str, Any]
) -> None:
    found = detect_recorded(
        stage(platform), shot((-60.0, 80.0), 1_795_000_000.0, classes=FIREWORKS)
    )
    assert found and all(d.kind != "gunshot" for d in found)
    assert found[0].kind == "fireworks"


def test_impulses_heard_by_two_sensors_raise_nothing(
    platform: Platform, keys: dict[str, Any]
) -> None:
    pairs = [p for p in shot((0.0, 0.0), 1_795_000_000.0) if p[1]["device"] in ("ac-0", "ac-1")]
    assert detect_recorded(stage(platform), pairs) == []


def test_the_nearest_temperature_sets_the_speed_of_sound(
    platform: Platform, keys: dict[str, Any]
) -> None:
    t0 = 1_795_000_000.0
    warm = {
        "device": "wx-1", "seq": 1, "time": _stamp(t0 - 60), "kind": "temperature",
        "values": {"temperature_c": 30.0}, "agency": "municipality", "area": None,
    }  # fmt: skip
    found = detect_recorded(
        stage(platform), [(t0 - 60, warm), *shot((30.0, 30.0), t0, temperature_c=30.0)]
    )
    assert found[0].details["speed_of_sound_m_s"] == pytest.approx(speed_of_sound(30.0), abs=0.05)
    assert found[0].position is not None
    assert np.hypot(*(_xy(found[0].position) - (30.0, 30.0))) < 1.0


def test_the_live_worker_raises_stores_and_streams_a_detection(
    platform: Platform, keys: dict[str, Any]
) -> None:
    """Signed impulse reports through real ingest; the worker on the bus does the rest."""

    async def scenario() -> list[Any]:
        await platform.start_detectors()
        sub = await platform.bus.subscribe("stadswacht.detections.>")
        # A broken message on the bus (not JSON; then a reading without values) is logged and
        # skipped: the worker goes on with the next ones.
        platform.bus.publish(
            [
                ("stadswacht.readings._.acoustic_impulse", b"{not json", "bad:1"),
                ("stadswacht.readings._.acoustic_impulse", b'{"kind":"acoustic_impulse"}', "bad:2"),
            ]
        )
        t0 = time.time() - 1.0
        items = []
        for _, r in shot((-20.0, 10.0), t0, rounds=2):
            body = {k: r[k] for k in ("device", "seq", "time", "kind", "values")}
            items.append(sign_reading(keys[r["device"]], body))
        result = await asyncio.to_thread(platform.ingestor.ingest, items, transport="inproc")
        assert result.accepted == len(items)
        got = []
        async with asyncio.timeout(10):
            async for msg in sub:
                await msg.ack()
                got.append(msg)
                if b'"rounds":2' in msg.data:
                    break
        await sub.close()
        return got

    msgs = asyncio.run(scenario())
    assert msgs[0].subject == "stadswacht.detections.international-zone.gunshot"
    stored = platform.store.get_detection(msgs[-1].msg_id.rsplit(":", 1)[0])
    assert stored.details["rounds"] == 2 and stored.kind == "gunshot"


def test_detections_api_shows_an_agency_its_own_only(
    platform: Platform, keys: dict[str, Any]
) -> None:
    found = detect_recorded(stage(platform), shot((10.0, 10.0), time.time() - 30))
    for d in found:
        platform.store.put_detection(d)
    create_user(platform.store, "pol", "correct horse battery", "police", Role.OPERATOR)
    create_user(platform.store, "gem", "correct horse battery", "municipality", Role.OPERATOR)
    with TestClient(create_app(platform=platform)) as client:

        def token(user: str) -> dict[str, str]:
            r = client.post(
                "/v1/auth/token", data={"username": user, "password": "correct horse battery"}
            )
            return {"Authorization": f"Bearer {r.json()['access_token']}"}

        assert client.get("/v1/detections").status_code == 401
        police = client.get("/v1/detections", headers=token("pol")).json()
        assert [d["id"] for d in police] == [found[0].id]
        assert police[0]["uncertainty"]["semi_major_m"] > 0
        assert client.get("/v1/detections", headers=token("gem")).json() == []
        one = client.get(f"/v1/detections/{found[0].id}", headers=token("gem"))
        assert one.status_code == 404
        geo = client.get("/v1/detections.geojson", headers=token("pol")).json()
        assert geo["features"][0]["geometry"]["type"] == "Point"
        assert geo["features"][0]["properties"]["kind"] == "gunshot"


def test_a_sensor_clock_running_fast_does_not_rush_the_decision(
    platform: Platform, keys: dict[str, Any]
) -> None:
    """A weather station 100 s ahead must not move event time past the shot's arrivals."""
    t0 = 1_795_000_000.0
    fast = {
        "device": "wx-1", "seq": 1, "time": _stamp(t0 + 100), "kind": "temperature",
        "values": {"temperature_c": 10.0}, "agency": "municipality", "area": None,
    }  # fmt: skip
    found = detect_recorded(stage(platform), [(t0 - 1, fast), *shot((40.0, -25.0), t0)])
    assert [d.kind for d in found] == ["gunshot"]
    assert len(found[0].sensors) == len(SENSORS)


def test_a_late_clock_shows_in_the_residuals_and_the_infra_stage_flags_it(
    platform: Platform, keys: dict[str, Any]
) -> None:
    """Every localisation carries each sensor's arrival residual; fed to the infra stage (as
    the live worker does), a sensor whose clock runs 4 ms late is flagged and quarantined after
    a handful of shots, and no other sensor is."""
    from stadswacht.pipeline.infra import InfraStage
    from stadswacht.pipeline.quarantine import Quarantining

    infra = Quarantining(
        InfraStage(device=platform.registry.get, devices=platform.registry.list),
        platform.registry,
    )
    t0 = 1_795_000_000.0
    found = []
    sources = [(40.0, -25.0), (-60.0, 30.0), (10.0, 90.0), (-30.0, -80.0), (70.0, 40.0),
               (-90.0, -10.0), (0.0, 0.0), (50.0, -70.0)]  # fmt: skip
    for k, source in enumerate(sources):
        pairs = shot(source, t0 + 600 * k, seq0=1 + 100 * k)
        for _, r in pairs:
            if r["device"] == "ac-0":  # its clock stamps arrivals 4 ms late
                late = datetime.fromisoformat(r["values"]["arrival_time"]).timestamp() + 0.004
                r["values"]["arrival_time"] = r["time"] = _stamp(late)
        for det in detect_recorded(stage(platform), pairs):
            residuals = det.details["residuals_s"]
            assert set(residuals) == set(SENSORS)
            found += infra.handle_localisation(
                residuals, datetime.fromisoformat(det.time).timestamp(), t0 + 600 * k + 5
            )
    clocks = [d for d in found if d.details.get("check") == "tdoa_clock"]
    assert [d.details["device"] for d in clocks] == ["ac-0"]
    assert clocks[0].details["bias_s"] > 0.001
    assert infra.quarantined == ["ac-0"]

"""/v1/zones: the crowd state of each zone, with small counts published coarsened."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from stadswacht.api import create_app
from stadswacht.api.auth import create_user
from stadswacht.model import Area, DeviceKind, Position, Role, format_time
from stadswacht.model.signing import load_private_key, sign_reading
from stadswacht.pipeline import Platform

PASSWORD = "correct horse battery"


def _zones(client: TestClient, headers: dict[str, str], until: Any) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 10
    while True:
        zones = client.get("/v1/zones", headers=headers).json()
        if until(zones) or time.monotonic() > deadline:
            return zones
        time.sleep(0.05)


def test_zone_state_publishes_a_handful_of_people_only_coarsened(platform: Platform) -> None:
    platform.store.put_area(
        Area(
            id="koekamp", name="Koekamp",
            polygon=((4.3192, 52.0835), (4.3218, 52.0835), (4.3218, 52.0878)),
            walkable_area_m2=8000, gates={"station": 8.0}, agency="municipality",
        )
    )  # fmt: skip
    reg = platform.registry.register(
        "kk-occ", kind=DeviceKind.PEOPLE_COUNTER, position=Position(lat=52.0858, lon=4.3205),
        agency="municipality", area="koekamp",
    )  # fmt: skip
    key = load_private_key(reg.private_key or "")
    create_user(platform.store, "ops", PASSWORD, "municipality", Role.OPERATOR)

    def count(seq: int, occupancy: int) -> dict[str, Any]:
        body = {
            "device": "kk-occ", "seq": seq, "time": format_time(datetime.now(UTC)),
            "kind": "people_count", "values": {"occupancy": occupancy},
        }  # fmt: skip
        return sign_reading(key, body)

    with TestClient(create_app(platform=platform)) as client:
        token = client.post("/v1/auth/token", data={"username": "ops", "password": PASSWORD})
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        assert client.get("/v1/zones").status_code == 401
        assert client.post("/v1/readings", json={"readings": [count(1, 3)]}).json()["accepted"]
        (zone,) = _zones(client, headers, lambda z: z and z[0]["updated"])
        assert zone["zone"] == "koekamp" and zone["name"] == "Koekamp"
        assert zone["occupancy"] is None and zone["density"] is None
        assert zone["occupancy_coarse"] == "<5"
        assert client.post("/v1/readings", json={"readings": [count(2, 4000)]}).json()["accepted"]
        (zone,) = _zones(client, headers, lambda z: z and z[0]["occupancy"])
        assert zone["density"] == 0.5 and zone["los"] in "ABCDEF"
        assert "occupancy_coarse" not in zone


def test_zone_forecast_says_what_it_rests_on_and_invents_no_long_horizon(
    platform: Platform,
) -> None:
    platform.store.put_area(
        Area(
            id="koekamp", name="Koekamp",
            polygon=((4.3192, 52.0835), (4.3218, 52.0835), (4.3218, 52.0878)),
            walkable_area_m2=8000, gates={"station": 8.0}, agency="municipality",
        )
    )  # fmt: skip
    reg = platform.registry.register(
        "kk-occ", kind=DeviceKind.PEOPLE_COUNTER, position=Position(lat=52.0858, lon=4.3205),
        agency="municipality", area="koekamp",
    )  # fmt: skip
    key = load_private_key(reg.private_key or "")
    create_user(platform.store, "ops", PASSWORD, "municipality", Role.OPERATOR)
    now = datetime.now(UTC).replace(microsecond=0)
    readings = [
        sign_reading(
            key,
            {
                "device": "kk-occ",
                "seq": k + 1,
                "time": format_time(now - timedelta(minutes=10 - k)),
                "kind": "people_count",
                "values": {"occupancy": 8000 + 800 * k},
            },
        )
        for k in range(11)
    ]  # the zone fills from 1 to 2 persons/m² in ten minutes; it has no history
    with TestClient(create_app(platform=platform)) as client:
        token = client.post("/v1/auth/token", data={"username": "ops", "password": PASSWORD})
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        assert client.post("/v1/readings", json={"readings": readings}).json()["accepted"] == 11
        (zone,) = _zones(client, headers, lambda z: z and z[0]["forecast"])
    assert zone["forecast_basis"] == "trend"
    points = zone["forecast"]
    assert [p["horizon_min"] for p in points] == [5, 10, 15, 20, 25, 30]  # not a 3-h line
    assert all(p["low"] <= p["density"] <= p["high"] for p in points)
    assert points[-1]["density"] > zone["density"] + 2  # it keeps rising: about 0.1 a minute
    assert set(points[0]) == {"time", "horizon_min", "density", "low", "high"}

"""Quarantine: a suspected device's readings are stored but the detectors leave them out until a
person clears it; every decision is audited."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest
from fastapi.testclient import TestClient

from stadswacht.api import create_app
from stadswacht.api.auth import create_user
from stadswacht.model import Detection, DeviceKind, DeviceStatus, Role
from stadswacht.pipeline import Platform
from stadswacht.pipeline.offline import detect_recorded
from stadswacht.pipeline.quarantine import Quarantining, SkipQuarantined
from tests.conftest import FakeDevice

PASSWORD = "correct horse battery"


class Recorder:
    """A detector stage that records the readings it is given."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.watermark = float("-inf")

    def handle(self, reading: Mapping[str, Any], at_s: float | None = None) -> list[Detection]:
        self.seen.append(f"{reading['device']}:{reading['seq']}")
        return []

    def advance(self, now_s: float, at_s: float | None = None) -> list[Detection]:
        return []


class StuckAfterThree:
    """An infra stage stand-in: the third reading of ``bad`` gets it quarantined."""

    def __init__(self, bad: str) -> None:
        self.bad = bad
        self.count = 0
        self.watermark = float("-inf")
        self.seen = 0

    def handle(self, reading: Mapping[str, Any], at_s: float | None = None) -> list[Detection]:
        self.seen += 1
        if reading["device"] != self.bad:
            return []
        self.count += 1
        if self.count != 3:
            return []
        return [
            Detection(
                id=f"infra-{self.bad}",
                kind="infra",
                detector="test",
                agency="municipality",
                time="2026-11-26T03:00:00Z",
                detected_at="2026-11-26T03:00:01Z",
                probability=0.9,
                details={"type": "sensor_failure", "check": "stuck", "device": self.bad,
                         "quarantine": True},
            )
        ]  # fmt: skip

    def advance(self, now_s: float, at_s: float | None = None) -> list[Detection]:
        return []

    def handle_rejection(
        self, rejection: Mapping[str, Any], at_s: float | None = None
    ) -> list[Detection]:
        return []

    def handle_localisation(
        self, residuals: Mapping[str, float], time_s: float, at_s: float | None = None
    ) -> list[Detection]:
        return []

    def clear(self, device_id: str, at_s: float) -> list[Detection]:
        return []


def _readings(devices: list[str], n: int) -> list[tuple[float, dict[str, Any]]]:
    return [
        (1_700_000_000.0 + i, {"device": d, "seq": i, "kind": "people_count"})
        for i in range(n)
        for d in devices
    ]


def test_readings_of_a_quarantined_device_skip_the_detectors_until_cleared(
    platform: Platform, make_device: Callable[..., FakeDevice]
) -> None:
    make_device("pc-1", DeviceKind.PEOPLE_COUNTER)
    make_device("pc-2", DeviceKind.PEOPLE_COUNTER)
    audited: list[dict[str, Any]] = []
    infra = Quarantining(StuckAfterThree("pc-1"), platform.registry, audited.extend)
    crowd = Recorder()
    detect_recorded(
        [infra, SkipQuarantined(crowd, platform.registry.quarantined)],
        _readings(["pc-1", "pc-2"], 6),
    )
    # The infra stage saw all twelve; the crowd stage pc-1's first two, then pc-2 only.
    assert infra.stage.seen == 12
    assert [s for s in crowd.seen if s.startswith("pc-1")] == ["pc-1:0", "pc-1:1"]
    assert len([s for s in crowd.seen if s.startswith("pc-2")]) == 6
    device = platform.registry.get("pc-1")
    assert device.status is DeviceStatus.QUARANTINED
    assert device.quarantine is not None and device.quarantine.check == "stuck"
    assert device.quarantine.detection == "infra-pc-1"
    assert infra.quarantined == ["pc-1"]
    assert [(e["object_id"], e["reason"], e["actor"]) for e in audited] == [
        ("pc-1", "quarantine", "system")
    ]
    # Cleared by a person: its readings reach the detectors again.
    platform.registry.clear("pc-1")
    crowd.seen.clear()
    SkipQuarantined(crowd, platform.registry.quarantined).handle({"device": "pc-1", "seq": 99})
    assert crowd.seen == ["pc-1:99"]


def test_a_quarantined_device_still_delivers_and_its_readings_are_stored(
    platform: Platform, make_device: Callable[..., FakeDevice]
) -> None:
    dev = make_device("pc-1", DeviceKind.PEOPLE_COUNTER)
    platform.registry.quarantine("pc-1", check="manual", reason="test")
    result = platform.ingestor.ingest([dev.reading()], transport="http")
    assert result.accepted == 1 and not result.rejected
    # A second quarantine of the same device changes nothing.
    assert platform.registry.quarantine("pc-1", check="stuck", reason="again") is None


@pytest.fixture
def client(platform: Platform) -> Iterator[TestClient]:
    for name, agency, role in [
        ("ivo", "municipality", Role.INTEGRATOR),
        ("sara", "municipality", Role.SUPERVISOR),
        ("olga", "municipality", Role.OPERATOR),
        ("piet", "police", Role.INTEGRATOR),
    ]:
        create_user(platform.store, name, PASSWORD, agency, role)
    with TestClient(create_app(platform=platform)) as c:
        yield c


def _login(client: TestClient, name: str) -> dict[str, str]:
    r = client.post("/v1/auth/token", data={"username": name, "password": PASSWORD})
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_people_quarantine_and_clear_over_the_api_and_it_is_audited(
    client: TestClient, platform: Platform, make_device: Callable[..., FakeDevice]
) -> None:
    make_device("pc-1", DeviceKind.PEOPLE_COUNTER)
    note = {"note": "counter reports crowds nobody else sees"}
    url = "/v1/devices/pc-1"
    # An operator may not; an integrator of another agency does not even see the device.
    assert (
        client.post(f"{url}/quarantine", headers=_login(client, "olga"), json=note).status_code
        == 403
    )
    assert (
        client.post(f"{url}/quarantine", headers=_login(client, "piet"), json=note).status_code
        == 404
    )
    assert (
        client.post(
            f"{url}/quarantine", headers=_login(client, "ivo"), json={"note": ""}
        ).status_code
        == 422
    )
    before = platform.audit.size if platform.audit else 0
    r = client.post(f"{url}/quarantine", headers=_login(client, "ivo"), json=note)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "quarantined"
    assert r.json()["quarantine"]["check"] == "manual"
    # Twice is a conflict with a clear message.
    again = client.post(f"{url}/quarantine", headers=_login(client, "ivo"), json=note)
    assert again.status_code == 409 and "quarantined" in again.text
    r = client.post(f"{url}/clear", headers=_login(client, "sara"), json={"note": "recalibrated"})
    assert r.status_code == 200 and r.json()["status"] == "active"
    assert r.json()["quarantine"] is None
    assert client.post(f"{url}/clear", headers=_login(client, "sara"), json=note).status_code == 409
    assert platform.audit is not None
    entries = [json.loads(e) for e in platform.audit.entries(before, platform.audit.size)]
    assert [(e["actor"], e["reason"]) for e in entries] == [
        ("ivo", "quarantine"),
        ("sara", "clear_quarantine"),
    ]
    assert entries[1]["details"]["note"] == "recalibrated"

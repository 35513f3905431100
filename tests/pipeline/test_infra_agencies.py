"""An infra finding that spans agencies: one detection per agency, each about its own devices
(need-to-know), all under one group id; a quarantine points at the device's own agency's share."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from stadswacht.api import create_app
from stadswacht.api.auth import create_user
from stadswacht.model import Area, Detection, DeviceKind, Role
from stadswacht.model.reading import format_epoch
from stadswacht.pipeline import Platform
from stadswacht.pipeline.detectors import publish_detections
from stadswacht.pipeline.infra import InfraStage, group_of, recorded_stream
from stadswacht.pipeline.offline import detect_recorded
from stadswacht.pipeline.quarantine import Quarantining
from tests.conftest import FakeDevice

T0 = float(int(time.time()) // 3600 * 3600 - 86400)  # within every retention period
PASSWORD = "correct horse battery"
OWNERS = {
    "iz-pc-01": "police",
    "iz-pc-02": "police",
    "iz-pc-03": "municipality",
    "iz-wx-01": "municipality",
    "iz-pc-04": "safety-region",
    "iz-pm-01": "police",
}
BOSJES = Area(
    id="bosjes",
    name="Scheveningse Bosjes",
    polygon=((4.27, 52.08), (4.30, 52.08), (4.30, 52.10), (4.27, 52.10)),
)


def _reading(d: str, seq: int, t: float, kind: str, values: dict[str, Any]) -> dict[str, Any]:
    return {"device": d, "seq": seq, "time": format_epoch(t), "kind": kind, "values": values}


def _night() -> list[tuple[float, dict[str, Any]]]:
    """Two hours, one reading a minute per device; all power lost from 1 h to 1.5 h."""
    rng = np.random.default_rng(3)
    out = []
    for k in range(1, 120):
        t = T0 + 60.0 * k
        cut = T0 + 3600.0 <= t < T0 + 5400.0
        for d in OWNERS:
            if d.startswith("iz-pm"):
                power = {"on": not cut, "voltage_v": 0.0 if cut else round(230 + rng.normal(), 1)}
                out.append((t, _reading(d, k, t, "power", power)))
            elif d.startswith("iz-wx") and not cut:
                temp = {"air_temperature_c": round(8 + rng.normal(0, 0.3), 2)}
                out.append((t, _reading(d, k, t, "temperature", temp)))
            elif not cut:
                n_in, n_out = (int(v) for v in rng.poisson(3.0, 2))
                values = {"in": n_in, "out": n_out, "interval_s": 60.0}
                out.append((t, _reading(d, k, t, "people_count", values)))
    return out


def _forged() -> list[tuple[float, dict[str, Any]]]:
    """Forged readings claiming to be the municipality's weather station and a police
    counter, during the cut."""
    return [
        (T0 + 4000.0 + k, {"device": d, "seq": 9000 + k, "reason": "bad_signature",
                           "message": "signature does not verify", "transport": "http",
                           "source": "src-1", "received_us": 0})
        for k, d in enumerate(["iz-wx-01", "iz-pc-01", "iz-wx-01"])
    ]  # fmt: skip


class Tap:
    """Passes a stage through, keeping every version of every detection it raises."""

    def __init__(self, stage: Quarantining) -> None:
        self.stage = stage
        self.all: list[Detection] = []

    @property
    def watermark(self) -> float:
        return self.stage.watermark

    def handle(self, reading: Mapping[str, Any], at_s: float | None = None) -> list[Detection]:
        found = self.stage.handle(reading, at_s)
        self.all += found
        return found

    def advance(self, now_s: float, at_s: float | None = None) -> list[Detection]:
        found = self.stage.advance(now_s, at_s)
        self.all += found
        return found


@pytest.fixture
def world(
    platform: Platform, make_device: Callable[..., FakeDevice]
) -> tuple[Quarantining, list[Detection]]:
    kinds = {"pc": DeviceKind.PEOPLE_COUNTER, "wx": DeviceKind.WEATHER,
             "pm": DeviceKind.POWER_MONITOR}  # fmt: skip
    for d, agency in OWNERS.items():
        make_device(d, kinds[d.split("-")[1]], agency=agency, area="bosjes")
    stage = InfraStage(
        device=platform.registry.get, devices=platform.registry.list, areas=lambda: [BOSJES]
    )
    infra = Quarantining(stage, platform.registry)
    tap = Tap(infra)
    detect_recorded([tap], recorded_stream(_night(), _forged()), tick_s=1.0)
    return infra, tap.all


def _latest(found: list[Detection]) -> dict[str, Detection]:
    out: dict[str, Detection] = {}
    for d in found:
        if d.id not in out or d.version > out[d.id].version:
            out[d.id] = d
    return out


def test_an_outage_over_three_agencies_is_one_group_reported_to_each_of_them(
    world: tuple[Quarantining, list[Detection]],
) -> None:
    _, found = world
    latest = _latest(found)
    outages = [d for d in latest.values() if d.details["check"] == "outage"]
    assert sorted(d.agency for d in outages) == ["municipality", "police", "safety-region"]
    groups = {d.details["group"] for d in outages}
    assert len(groups) == 1 and {d.details["outage"] for d in outages} == groups
    (group,) = groups
    for d in outages:
        assert d.id == f"{group}:{d.agency}" and group_of(d.id) == (group, d.agency)
        assert d.details["type"] == "power_cut"
        own = sorted(k for k, a in OWNERS.items() if a == d.agency)
        # Only the agency's own devices, anywhere in the detection.
        named = d.details.get("devices") or [d.details["device"]]
        assert sorted(named) == sorted(d.sensors) == own
        assert d.details["agency_devices"] == len(own)
        assert d.details["total_devices"] == len(OWNERS)
        others = set(OWNERS) - set(own)
        assert not others & set(d.evidence)
        text = json.dumps(d.details)
        assert not [o for o in others if f'"{o}"' in text]
        assert d.area == "bosjes" and d.position is not None
        assert d.summary_en().startswith("power cut in Scheveningse Bosjes: over")
        assert d.details["summary_nl"].startswith("stroomstoring in Scheveningse Bosjes")
    # While it lasted, each agency's line counted its own devices.
    police = [d for d in found if d.details["check"] == "outage" and d.agency == "police"]
    assert [d.version for d in police] == list(range(1, len(police) + 1))
    assert police[0].details["summary_en"] == (
        "power cut in Scheveningse Bosjes: 1 reporting no power"  # the monitor, at once
    )
    lasting = [d.details for d in police if d.details["ended"] is None]
    assert lasting[-1]["summary_en"] == (
        "power cut in Scheveningse Bosjes: 2 silent, 1 reporting no power"
        " (6 devices of all agencies)"
    )
    assert lasting[-1]["summary_nl"] == (
        "stroomstoring in Scheveningse Bosjes: 2 stil, 1 meldt geen stroom"
        " (6 apparaten van alle organisaties)"
    )
    # A silent device's own detection, taken into the outage, points at its agency's share.
    superseded = [d for d in latest.values() if d.details.get("superseded_by")]
    for d in superseded:
        assert d.details["superseded_by"] == f"{group}:{OWNERS[d.details['device']]}"


def test_a_quarantine_points_at_the_detection_of_the_devices_own_agency(
    world: tuple[Quarantining, list[Detection]], platform: Platform
) -> None:
    infra, found = world
    attacks = _latest([d for d in found if d.details["check"] == "signature_failures"])
    assert sorted(d.agency for d in attacks.values()) == ["municipality", "police"]
    assert len({d.details["group"] for d in attacks.values()}) == 1
    by_agency = {d.agency: d for d in attacks.values()}
    assert by_agency["municipality"].details["device"] == "iz-wx-01"
    assert by_agency["police"].details["device"] == "iz-pc-01"
    assert all(e.startswith("iz-wx-01:") for e in by_agency["municipality"].evidence)
    assert sorted(infra.quarantined) == ["iz-pc-01", "iz-wx-01"]
    wx = platform.registry.get("iz-wx-01")
    assert wx.quarantine is not None
    assert wx.quarantine.detection == by_agency["municipality"].id
    pc = platform.registry.get("iz-pc-01")
    assert pc.quarantine is not None and pc.quarantine.detection == by_agency["police"].id
    # The municipality clears its station: its share is over; the police's counter stays
    # under suspicion until the police clear it.
    stage = infra.stage
    assert isinstance(stage, InfraStage)
    cleared = {d.agency: d for d in stage.clear("iz-wx-01", T0 + 6000.0)}
    assert cleared["municipality"].details["ended"] is not None
    assert cleared["municipality"].details["quarantine"] is False
    assert cleared["municipality"].summary_en().endswith("iz-wx-01; cleared by a person")
    assert cleared["police"].details["ended"] is None
    assert cleared["police"].details["quarantine"] is True
    assert "cleared" not in cleared["police"].details
    assert stage.quarantined() == {"iz-pc-01"}
    last = {d.agency: d for d in stage.clear("iz-pc-01", T0 + 6100.0)}
    assert last["police"].details["ended"] is not None and stage.quarantined() == set()
    assert last["municipality"].details["ended"] == cleared["municipality"].details["ended"]


def test_a_municipality_operator_reads_the_detections_about_its_devices(
    world: tuple[Quarantining, list[Detection]], platform: Platform
) -> None:
    _, found = world
    publish_detections(platform.store, platform.bus, list(_latest(found).values()))
    create_user(platform.store, "olga", PASSWORD, "municipality", Role.OPERATOR)
    with TestClient(create_app(platform=platform)) as client:
        token = client.post(
            "/v1/auth/token", data={"username": "olga", "password": PASSWORD}
        ).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        device = client.get("/v1/devices/iz-wx-01", headers=auth).json()
        pointed = device["quarantine"]["detection"]
        r = client.get(f"/v1/detections/{pointed}", headers=auth)
        assert r.status_code == 200, r.text
        assert r.json()["details"]["device"] == "iz-wx-01"
        outage = next(d for d in found if d.details["check"] == "outage")
        group = outage.details["group"]
        assert client.get(f"/v1/detections/{group}:municipality", headers=auth).status_code == 200
        # The police's share names only police devices: not hers to read.
        assert client.get(f"/v1/detections/{group}:police", headers=auth).status_code == 404

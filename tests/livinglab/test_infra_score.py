"""Infrastructure scoring: the score card's figures, and the International Zone night through
the infrastructure stage (readings at their simulated receive time, every attack reading as
the rejection ingest answers it with)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from stadswacht.livinglab.evaluate import score, score_infra
from stadswacht.livinglab.runner import ReplayReport
from stadswacht.livinglab.scenario import read_scenario
from stadswacht.livinglab.simulator import ATTACK_REASON, TruthEvent, simulate
from stadswacht.model import Device
from stadswacht.pipeline.infra import InfraStage, recorded_stream
from stadswacht.pipeline.offline import detect_recorded

SCENARIO = Path(__file__).parents[2] / "scenarios" / "international_zone.yaml"
KEY = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
DUPLICATE_WINDOW_S = 900.0  # the platform's default duplicate_window_s

CUT = TruthEvent("cut", "power_cut", "2026-11-25T02:30:00Z", "2026-11-25T03:15:00Z",
                 details={"sensors": ["a", "b", "c"]})  # fmt: skip
ATTACK = TruthEvent("spoof", "cyber_attack", "2026-11-25T02:34:00Z", "2026-11-25T02:35:00Z",
                    details={"mode": "spoofed", "devices": ["a"]})  # fmt: skip


def det(type_: str, devices: list[str], time: str, raised: str, id_: str) -> dict[str, Any]:
    return {"id": id_, "type": type_, "devices": devices, "time": time, "detected_at": raised}


def test_one_detection_per_outage_an_attack_in_it_apart_and_false_alarms_per_device_day() -> None:
    dets = [
        det("power_cut", ["a", "b", "c"], "2026-11-25T02:30:00Z", "2026-11-25T02:30:00Z", "o"),
        det("cyber_attack", ["a"], "2026-11-25T02:34:10Z", "2026-11-25T02:34:20Z", "x"),
        det("sensor_failure", ["z"], "2026-11-25T05:00:00Z", "2026-11-25T05:00:00Z", "f"),
    ]
    card = score_infra(dets, [CUT, ATTACK], {}, 86400.0, {d: 60.0 for d in "abcdz"})
    assert card["detection_rate"] == 1.0
    assert card["detections_per_outage"] == {"cut": 1}
    assert card["by_event"]["spoof"]["time_to_detection_s"] == 20.0
    assert card["false_alarms"] == 1
    assert card["false_alarms_per_device_per_day"] == 0.2
    # A silent-device detection of a device in the cut is a second detection of the outage.
    extra = det("sensor_failure", ["b"], "2026-11-25T02:31:00Z", "2026-11-25T02:32:00Z", "s")
    card = score_infra([*dets, extra], [CUT, ATTACK], {}, 86400.0, {d: 60.0 for d in "abcdz"})
    assert card["detections_per_outage"] == {"cut": 2} and card["false_alarms"] == 1


def test_an_outage_reported_to_each_agency_is_one_detection_per_outage() -> None:
    shares = [
        det("power_cut", ["a"], "2026-11-25T02:30:00Z", "2026-11-25T02:30:00Z", "o1:police"),
        det("power_cut", ["b", "c"], "2026-11-25T02:30:00Z", "2026-11-25T02:31:00Z",
            "o1:municipality"),
    ]  # fmt: skip
    card = score_infra(shares, [CUT], {}, 86400.0, {d: 60.0 for d in "abc"})
    assert card["detections_per_outage"] == {"cut": 1}
    assert card["detections_per_outage_per_agency"] == {"cut": {"municipality": 1, "police": 1}}
    # A second group about the same outage counts, for the agency that got it twice.
    again = det("power_cut", ["c"], "2026-11-25T02:40:00Z", "2026-11-25T02:41:00Z", "o2")
    twice = {**again, "group": "o2", "agency": "municipality"}
    card = score_infra([*shares, twice], [CUT], {}, 86400.0, {d: 60.0 for d in "abc"})
    assert card["detections_per_outage"] == {"cut": 2}
    assert card["detections_per_outage_per_agency"]["cut"] == {"municipality": 2, "police": 1}


def test_a_detection_of_the_wrong_type_does_not_detect() -> None:
    wrong = det("network_outage", ["a"], "2026-11-25T02:30:00Z", "2026-11-25T02:31:00Z", "n")
    card = score_infra([wrong], [CUT], {}, 86400.0, {"a": 60.0})
    assert card["detected"] == 0 and card["missed"] == ["cut"] and card["false_alarms"] == 0


def replay_infra(path: Path, start: datetime) -> tuple[Any, list[dict[str, Any]]]:
    sc = read_scenario(path)
    sim = simulate(sc, start)
    start = sim.start.timestamp()
    devices = {
        s.id: Device(id=s.id, kind=s.kind, position=s.position, agency=s.agency, area=s.zone,
                     public_key=KEY)
        for s in sc.sensors
    }  # fmt: skip
    first = {(e.reading["device"], e.reading["seq"]): e.send_s for e in sim.genuine()}
    readings = [(start + e.send_s, dict(e.reading)) for e in sim.genuine()]
    rejections = []
    for e in sim.attacks():
        reason = ATTACK_REASON[str(e.attack)]
        r: dict[str, Any] = {"device": e.reading["device"], "seq": e.reading["seq"]}
        if e.attack == "replayed":
            age = e.send_s - first[(e.reading["device"], e.reading["seq"])]
            if age <= DUPLICATE_WINDOW_S:
                reason = "duplicate"
            r["original_age_s"] = age
        rejections.append((start + e.send_s, r | {"reason": reason}))
    stage = InfraStage(device=devices.__getitem__)
    found = detect_recorded([stage], recorded_stream(readings, rejections), tick_s=1.0)
    dets = [
        {"id": d.id, "type": d.details["type"], "check": d.details["check"],
         "devices": d.sensors, "time": d.time, "detected_at": d.detected_at}
        for d in found
    ]  # fmt: skip
    return sim, dets


@pytest.fixture(scope="module")
def night() -> tuple[Any, list[dict[str, Any]]]:
    return replay_infra(SCENARIO, datetime(2026, 11, 24, 23, 0, tzinfo=UTC))


def _card(sim: Any, dets: list[dict[str, Any]]) -> dict[str, Any]:
    sc = sim.scenario
    intervals = {
        s.id: float(sc.heartbeat_s if s.group == "acoustic" else sc.interval_s) for s in sc.sensors
    }
    return score_infra(dets, sim.truth, sc.section("tolerances"), sc.duration_s, intervals)


def test_the_malieveld_concert_a_silent_gate_counter_within_two_intervals() -> None:
    sim, dets = replay_infra(SCENARIO.with_name("malieveld_event.yaml"),
                             datetime(2026, 11, 20, 18, 0, tzinfo=UTC))  # fmt: skip
    card = _card(sim, dets)
    assert card["missed"] == [] and card["false_alarms"] == 0
    assert 0 < card["silent_detection_intervals"]["gate-counter-silent"] <= 2.0


def test_the_international_zone_night_every_failure_and_attack_caught_once(
    night: tuple[Any, list[dict[str, Any]]],
) -> None:
    sim, dets = night
    card = _card(sim, dets)
    assert card["missed"] == [] and card["detection_rate"] == 1.0
    assert card["false_alarms"] == 0
    assert card["detections_per_outage"] == {"dark-bosjes": 1}
    # The dark district holds devices of several agencies: each told once, of its own.
    per_agency = card["detections_per_outage_per_agency"]["dark-bosjes"]
    assert len(per_agency) >= 2 and set(per_agency.values()) == {1}
    assert card["by_event"]["dark-bosjes"]["time_to_detection_s"] <= 60.0
    for attack in ("spoof-silent", "replay-counter", "forged-weather"):
        assert card["by_event"][attack]["time_to_detection_s"] <= 60.0
    assert {c for e in card["by_event"].values() for c in e["checks"]} == {
        "stuck", "outage", "signature_failures", "replayed", "clock_drift",
    }  # fmt: skip


def test_replays_answered_as_duplicates_count_as_refused(
    night: tuple[Any, list[dict[str, Any]]],
) -> None:
    sim, _ = night
    report = ReplayReport(sim, attacks=Counter({("replayed", "duplicate"): 3}))
    replayed = score(report, {})["ingest"]["attacks"]["replayed"]
    assert replayed["refused_as_expected"] == 3 and replayed["stored"] == 0

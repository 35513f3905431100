from __future__ import annotations

import math

import pytest

from stadswacht.detect.crowd import (
    CrowdDetector,
    CrowdWarning,
    NormalBand,
    ZoneThresholds,
)
from stadswacht.errors import UnknownDevice
from stadswacht.model.reading import PeopleCount

AREA = 100.0


def zone_detector(**kw: object) -> CrowdDetector:
    det = CrowdDetector(security_lead="event-security", learn=False)
    det.add_zone(
        "square",
        AREA,
        gates={"north": 4.0, "south": 2.0},
        agency="police",
        **kw,  # type: ignore[arg-type]
    )
    det.add_counter("cam-1", "square", kind="occupancy")
    det.add_counter("cnt-n", "square", gate="north")
    det.add_counter("cnt-s", "square", gate="south", inward="out")
    return det


def feed(
    det: CrowdDetector, densities: list[float], start: float = 0.0, step: float = 60.0
) -> list[CrowdWarning]:
    out: list[CrowdWarning] = []
    for k, d in enumerate(densities):
        t = start + k * step
        det.add_count("cam-1", {"occupancy": round(d * AREA)}, t)
        out += det.advance(t)
    return out


def test_no_flapping_on_a_density_oscillating_around_the_threshold() -> None:
    det = zone_detector()
    wobble = [1.5, 1.9] + [2.1, 1.9] * 30  # an hour around 2 persons/m²
    ws = feed(det, wobble)
    assert [(w.status, w.level) for w in ws] == [("raised", "warn")]
    assert det.state("square").warning == "warn"
    # Below 80 % of the threshold (1.6) for 5 minutes: cleared once, not earlier.
    calm = feed(det, [1.0] * 10, start=len(wobble) * 60.0)
    assert [w.status for w in calm] == ["cleared"]
    assert calm[0].time_s - len(wobble) * 60.0 >= 300
    assert calm[0].id == ws[0].id and calm[0].level == "none"


def test_dip_below_clear_level_that_is_too_short_does_not_clear() -> None:
    det = zone_detector()
    ws = feed(det, [2.2, 1.0, 1.0, 1.0, 2.2, 1.0, 1.0, 1.0, 1.0])  # 3-min dips
    assert [w.status for w in ws] == ["raised"]


def test_escalation_de_escalation_and_clearing_with_targets() -> None:
    det = zone_detector()
    ws = feed(det, [1.0, 2.5, 3.5, 4.2, 4.5, 3.9, 3.5] + [2.5] * 6 + [1.0] * 6)
    steps = [(w.status, w.level) for w in ws]
    assert steps == [
        ("raised", "warn"),
        ("escalated", "critical"),
        ("de-escalated", "warn"),
        ("cleared", "none"),
    ]
    raised, escalated, lowered, _cleared = ws
    assert len({w.id for w in ws}) == 1
    assert raised.escalate_to == ("police",)
    assert escalated.escalate_to == ("police", "event-security")
    assert escalated.threshold == 4.0 and escalated.density >= 4.0
    assert lowered.escalate_to == ("police",)
    # 3.9 and 3.5 are above 80 % of 4 (3.2): still critical; de-escalated only after 5 min
    # at 2.5.
    assert lowered.time_s - 7 * 60 >= 300
    # A new warning later gets a new id.
    again = feed(det, [2.5], start=10_000.0)
    assert again[0].status == "raised" and again[0].id != raised.id


def test_per_zone_thresholds() -> None:
    det = zone_detector(thresholds=ZoneThresholds(warn=1.0, critical=1.5))
    ws = feed(det, [1.2, 1.6])
    assert [(w.status, w.level, w.threshold) for w in ws] == [
        ("raised", "warn", 1.0),
        ("escalated", "critical", 1.5),
    ]


def test_forecast_raises_a_warning_before_the_threshold_is_crossed() -> None:
    det = zone_detector()

    # A linear rise of 0.05 persons/m² per minute from 1.0: crosses 2.0 at t = 20 min.
    def truth(t: float) -> float:
        return 1.0 + 0.05 * t / 60.0

    def forecast(now: float) -> list[tuple[float, float, float, float]]:
        return [
            (now + h, truth(now + h), truth(now + h) * 0.8, truth(now + h) * 1.2)
            for h in range(900, 3601, 900)
        ]

    det.set_forecast("square", forecast)
    first: CrowdWarning | None = None
    for k in range(0, 25):
        t = k * 60.0
        det.add_count("cam-1", {"occupancy": round(truth(t) * AREA)}, t)
        for w in det.advance(t):
            first = first or w
    assert first is not None
    assert first.status == "raised" and first.basis == "forecast"
    assert first.density < 2.0  # raised while the zone itself was still below the threshold
    crossing_s = 20 * 60.0
    assert crossing_s - first.time_s >= 10 * 60  # at least 10 minutes of lead
    assert first.forecast_time_s is not None and first.forecast_time_s > first.time_s
    assert first.forecast_density is not None and first.forecast_density >= 2.0


def test_forecast_as_a_list_and_update_when_the_measurement_catches_up() -> None:
    det = zone_detector()
    det.set_forecast("square", [(1200.0, 2.3, 1.9, 2.7)])
    ws = feed(det, [1.5, 1.7, 2.1], step=300.0)
    assert [(w.status, w.basis) for w in ws] == [
        ("raised", "forecast"),
        ("updated", "current"),
    ]


def test_forecast_use_high_warns_on_the_upper_band() -> None:
    det = zone_detector(thresholds=ZoneThresholds(forecast_use="high"))
    det.set_forecast("square", [(600.0, 1.7, 1.4, 2.1)])
    assert [w.basis for w in feed(det, [1.0])] == ["forecast"]


def test_state_occupancy_flows_and_counter_flow() -> None:
    det = zone_detector()
    det.add_count("cam-1", {"occupancy": 100}, 0.0)
    det.add_count("cnt-n", {"in": 240, "out": 120, "interval_s": 60}, 60.0)
    det.add_count("cnt-s", PeopleCount(count_in=20, count_out=10, interval_s=60.0), 60.0)
    s = det.state("square")
    # north: +240 -120; south is reversed: its "out" (10) comes in, its "in" (20) leaves.
    assert s.occupancy == pytest.approx(100 + 120 - 10)
    assert s.density == pytest.approx(2.1)
    assert (s.los, s.los_walkway, s.los_queuing) == ("E", "E", "D")
    north = next(g for g in s.gates if g.gate == "north")
    assert north.in_pmm == pytest.approx(60.0) and north.out_pmm == pytest.approx(30.0)
    south = next(g for g in s.gates if g.gate == "south")
    assert south.in_per_min == 10 and south.out_per_min == 20
    assert s.counter_flow is not None and s.counter_flow.flagged
    assert s.counter_flow.minor_share == pytest.approx(1 / 3)
    assert s.updated_s == 60.0 and s.occupancy_sd >= 0
    assert not math.isnan(s.density)


def test_counter_dropout_is_visible_and_never_negative() -> None:
    det = zone_detector()
    det.add_count("cnt-n", {"in": 50, "out": 0, "interval_s": 60}, 60.0)
    assert det.advance(60.0) == []
    assert det.state("square", 200.0).silent_gates == ("north",)
    det.add_count("cnt-n", {"in": 0, "out": 250, "interval_s": 60}, 240.0)  # 2 min lost
    assert det.advance(240.0) == []
    s = det.state("square")
    assert s.occupancy == 0.0 and s.dropped_s == 120.0 and s.silent_gates == ()


def test_counter_on_a_line_between_two_zones() -> None:
    det = CrowdDetector(learn=False)
    det.add_zone("a", 50.0, gates={"ab": 3.0})
    det.add_zone("b", 50.0, gates={"ab": 3.0})
    det.add_counter("line-ab", "a", gate="ab", inward="out")  # its "in" goes a -> b
    det.add_counter("line-ab", "b", gate="ab", inward="in")
    det.add_count("line-ab", {"in": 30, "out": 10, "interval_s": 60}, 60.0)
    assert det.state("b").occupancy == 20
    assert det.state("a").occupancy == 0  # it cannot go below zero


def test_several_lines_of_one_device() -> None:
    det = CrowdDetector(learn=False)
    det.add_zone("z", 10.0, gates={"east": 2.0, "west": 2.0})
    det.add_counter("dev", "z", line="e", gate="east")
    det.add_counter("dev", "z", line="w", gate="west", inward="out")
    det.add_count("dev", {"in": 5, "out": 1, "interval_s": 60, "line": "e"}, 60.0)
    det.add_count("dev", {"in": 1, "out": 3, "interval_s": 60, "line": "w"}, 60.0)
    assert det.state("z").occupancy == 4 + 2


def test_unknown_counter_and_zone_errors() -> None:
    det = zone_detector()
    with pytest.raises(UnknownDevice, match="add_counter"):
        det.add_count("nope", {"occupancy": 3}, 0.0)
    with pytest.raises(KeyError, match="add_zone"):
        det.state("nowhere")
    with pytest.raises(ValueError, match="not a gate of zone"):
        det.add_counter("x", "square", gate="east")
    with pytest.raises(ValueError, match="warn < critical"):
        ZoneThresholds(warn=4, critical=2)


def test_anomaly_against_the_normal_band_shows_in_the_state() -> None:
    normal = NormalBand(slot_s=3600)
    t = 1_700_000_000.0
    for week in range(1, 9):
        normal.add("cnt-n", t - week * 7 * 86400, 100.0 + week)
    det = CrowdDetector(normal=normal)
    det.add_zone("square", AREA, gates={"north": 4.0})
    det.add_counter("cnt-n", "square", gate="north")
    det.add_count("cnt-n", {"in": 60, "out": 44, "interval_s": 60}, t)  # 104/min: normal
    assert det.state("square").anomalies == ()
    det.add_count("cnt-n", {"in": 400, "out": 20, "interval_s": 60}, t + 60)
    (a,) = det.state("square").anomalies
    assert a.sensor == "cnt-n" and a.direction == "above" and a.value == 420

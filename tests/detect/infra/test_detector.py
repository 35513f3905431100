"""The infrastructure detector on synthetic streams: each failure caught, clean streams quiet."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from stadswacht.detect.infra import (
    DeviceInfo,
    Finding,
    InfraConfig,
    InfraDetector,
    PatternRepeat,
)

T0 = 1_764_000_000.0  # some night in November 2026 [s since the epoch]


def make(devices: list[DeviceInfo], config: InfraConfig | None = None) -> InfraDetector:
    known = {d.id: d for d in devices}
    return InfraDetector(known.get, config)


def counter(i: int, area: str = "zone-a", x: float = 0.0) -> DeviceInfo:
    return DeviceInfo(f"pc-{i}", "people_counter", x + 50.0 * i, 0.0, area)


def counts(rng: np.random.Generator, lam: float) -> dict[str, Any]:
    return {"in": int(rng.poisson(lam)), "out": int(rng.poisson(lam)), "interval_s": 60.0}


def run(
    det: InfraDetector,
    stream: Iterator[tuple[float, str, str, dict[str, Any], float]],
    tick_s: float = 5.0,
) -> list[Finding]:
    """Feed ``(at_s, device, kind, values, device_time_s)`` and tick the clock between them;
    return the last version of every finding."""
    latest: dict[str, Finding] = {}
    seqs: dict[str, int] = {}
    clock: float | None = None
    for at, device, kind, values, t in stream:
        while clock is not None and clock + tick_s <= at:
            clock += tick_s
            latest.update((f.id, f) for f in det.advance(clock))
        clock = at if clock is None else clock
        seqs[device] = seqs.get(device, 0) + 1
        latest.update((f.id, f) for f in det.reading(device, seqs[device], kind, t, values, at))
    return list(latest.values())


def periodic(
    devices: list[str],
    hours: float,
    values: Any,
    *,
    step: float = 60.0,
    silent: dict[str, tuple[float, float]] | None = None,
    clock: dict[str, float] | None = None,
) -> Iterator[tuple[float, str, str, dict[str, Any], float]]:
    """Every device reports every ``step`` s; ``silent``: device → (from, to) [s from T0];
    ``clock``: device → drift [s/h] from the middle of the stream on."""
    silent = silent or {}
    clock = clock or {}
    for k in range(1, int(hours * 3600 / step) + 1):
        t = k * step
        for d in devices:
            lo, hi = silent.get(d, (np.inf, np.inf))
            if lo <= t < hi:
                continue
            kind, v = values(d, t)
            drift = clock.get(d, 0.0) * max(0.0, t - hours * 1800) / 3600.0
            yield T0 + t, d, kind, v, T0 + t + drift


def checks(found: list[Finding]) -> list[tuple[str, str, list[str]]]:
    return sorted((f.type, f.check, f.devices) for f in found)


def test_a_clean_day_of_many_kinds_raises_nothing() -> None:
    rng = np.random.default_rng(1)
    devs = [counter(i) for i in range(4)] + [
        DeviceInfo("wx", "weather", 0, 100, "zone-a"),
        DeviceInfo("rg", "rain_gauge", 0, 120, "zone-a"),
        DeviceInfo("pm", "power_monitor", 0, 140, "zone-a"),
    ]
    wet = {"on": False}

    def values(d: str, t: float) -> tuple[str, dict[str, Any]]:
        hour = (t / 3600) % 24
        if d == "wx":
            return "temperature", {"temperature_c": round(8 + 3 * np.sin(hour / 24 * 6.28)
                                                          + rng.normal(0, 0.1), 2)}  # fmt: skip
        if d == "rg":
            if rng.random() < 0.01:
                wet["on"] = not wet["on"]
            rain = round(float(rng.gamma(0.8, 0.05)), 2) if wet["on"] else 0.0
            return "rain", {"rain_mm": rain, "interval_s": 60.0}
        if d == "pm":
            return "power", {"on": True, "voltage_v": round(230 + rng.normal(0, 1), 1)}
        night = 0.05 if hour < 6 else 1.0
        return "people_count", counts(rng, 0.5 + 3 * night)

    found = run(make(devs), periodic([d.id for d in devs], 24, values))
    assert found == []


def test_a_silent_device_is_caught_within_two_of_its_intervals() -> None:
    rng = np.random.default_rng(2)
    devs = [counter(i, area=f"z{i}", x=2000.0 * i) for i in range(3)]
    stream = periodic(
        [d.id for d in devs], 3, lambda d, t: ("people_count", counts(rng, 2)),
        silent={"pc-1": (3600.0, 5400.0)},
    )  # fmt: skip
    found = run(make(devs), stream)
    assert checks(found) == [("sensor_failure", "silent", ["pc-1"])]
    (f,) = found
    assert f.raised_s - (T0 + 3600.0) <= 2 * 60.0
    assert f.ended_s == T0 + 5400.0  # heard again: over


def test_many_devices_going_dark_in_one_district_are_one_outage() -> None:
    rng = np.random.default_rng(3)
    dark = [counter(i, area="district") for i in range(6)]
    lit = [counter(10 + i, area="elsewhere", x=3000.0) for i in range(3)]
    devs = dark + lit
    stream = periodic(
        [d.id for d in devs], 3, lambda d, t: ("people_count", counts(rng, 2)),
        silent={d.id: (3600.0, 6300.0) for d in dark},
    )  # fmt: skip
    found = run(make(devs), stream)
    outages = [f for f in found if f.check == "outage"]
    assert len(outages) == 1
    assert outages[0].devices == sorted(d.id for d in dark)
    assert outages[0].type == "network_outage"  # no power, water or gateway evidence
    assert outages[0].ended_s is not None
    # The silent-device findings raised before the cluster was clear are folded into it.
    assert all(
        f.details.get("superseded_by") == outages[0].id for f in found if f.check == "silent"
    )


def test_power_off_readings_make_it_a_power_cut_at_once() -> None:
    rng = np.random.default_rng(4)
    devs = [counter(i, area="district") for i in range(3)] + [
        DeviceInfo("pm", "power_monitor", 10, 10, "district")
    ]

    def values(d: str, t: float) -> tuple[str, dict[str, Any]]:
        if d == "pm":
            off = 3600.0 <= t < 5400.0
            return "power", {"on": not off, "voltage_v": 0.0 if off else 230.0 + rng.normal()}
        return "people_count", counts(rng, 2)

    stream = periodic(
        [d.id for d in devs], 2, values,
        silent={d.id: (3600.0, 5400.0) for d in devs if d.kind == "people_counter"},
    )  # fmt: skip
    found = run(make(devs), stream)
    assert checks(found) == [
        ("power_cut", "outage", ["pc-0", "pc-1", "pc-2", "pm"]),
    ]
    assert found[0].raised_s == T0 + 3600.0
    assert found[0].ended_s is not None


def test_a_gauge_high_nearby_makes_it_a_flood_and_one_gateway_a_network_outage() -> None:
    rng = np.random.default_rng(5)
    behind = [DeviceInfo(f"pc-{i}", "people_counter", 30.0 * i, 0, "d", "gw-1") for i in range(4)]
    gauge = DeviceInfo("wg", "water_gauge", 200, 0, None)

    def values(d: str, t: float) -> tuple[str, dict[str, Any]]:
        if d == "wg":
            return "water_level", {"level_cm_nap": round(50 + rng.normal(0, 2), 1)}
        return "people_count", counts(rng, 2)

    silent = {d.id: (3600.0, 7200.0) for d in behind}
    found = run(make([*behind, gauge]), periodic(["wg", *silent], 2.5, values, silent=silent))
    assert [(f.type, f.details["gateway"]) for f in found if f.check == "outage"] == [
        ("network_outage", "gw-1")
    ]

    def flooding(d: str, t: float) -> tuple[str, dict[str, Any]]:
        if d == "wg":
            return "water_level", {"level_cm_nap": round(150 + t / 60 + rng.normal(0, 2), 1)}
        return "people_count", counts(rng, 2)

    others = [DeviceInfo(f"pc-{i}", "people_counter", 30.0 * i, 0, "d") for i in range(4)]
    found = run(make([*others, gauge]), periodic(["wg", *silent], 2.5, flooding, silent=silent))
    (outage,) = [f for f in found if f.check == "outage"]
    assert outage.type == "flood_outage" and outage.details["flood_gauges"] == ["wg"]


def test_a_stuck_counter_is_caught_and_quarantined_but_quiet_nights_are_not_stuck() -> None:
    rng = np.random.default_rng(6)
    devs = [counter(i) for i in range(3)]
    frozen = {"in": 3, "out": 1, "interval_s": 60.0}

    def values(d: str, t: float) -> tuple[str, dict[str, Any]]:
        if d == "pc-0" and 7200.0 <= t < 10800.0:
            return "people_count", frozen
        return "people_count", counts(rng, 2.0)

    found = run(make(devs), periodic([d.id for d in devs], 4, values))
    (f,) = found
    assert (f.type, f.check, f.devices, f.quarantine) == ("sensor_failure", "stuck", ["pc-0"], True)
    assert f.time_s == T0 + 7200.0
    assert f.raised_s - f.time_s <= 20 * 60.0
    assert f.ended_s == T0 + 10800.0

    # A park closed at night: every counter reads 0 for hours. Nobody lies.
    def night(d: str, t: float) -> tuple[str, dict[str, Any]]:
        return "people_count", counts(rng, 2.0 if t < 7200 else 0.0)

    assert run(make(devs), periodic([d.id for d in devs], 6, night)) == []


def test_a_drifting_clock_is_caught_with_its_onset_and_rate() -> None:
    rng = np.random.default_rng(7)
    devs = [counter(i, area=f"z{i}", x=2000.0 * i) for i in range(2)]
    stream = periodic(
        [d.id for d in devs], 4, lambda d, t: ("people_count", counts(rng, 2)),
        clock={"pc-1": 20.0},
    )  # fmt: skip
    found = run(make(devs), stream)
    (f,) = found
    assert (f.check, f.devices, f.details["fault"]) == ("clock_drift", ["pc-1"], "clock_drift")
    assert abs(f.time_s - (T0 + 7200.0)) <= 900.0
    assert 10.0 < f.details["drift_s_per_h"] < 30.0


def test_a_jumping_clock_is_a_clock_jump() -> None:
    rng = np.random.default_rng(8)
    devs = [counter(0)]

    def jumped() -> Iterator[tuple[float, str, str, dict[str, Any], float]]:
        for at, d, kind, v, t in periodic(["pc-0"], 3, lambda d, t: ("people_count",
                                                                      counts(rng, 2))):  # fmt: skip
            yield at, d, kind, v, t + (120.0 if at >= T0 + 5400.0 else 0.0)

    (f,) = run(make(devs), jumped())
    assert (f.check, f.details["fault"]) == ("clock_drift", "clock_jump")
    assert f.details["offset_s"] == pytest.approx(120.0, abs=1.0)


def test_out_of_range_values_are_quarantined() -> None:
    devs = [DeviceInfo("wx", "weather", 0, 0, None)]

    def values(d: str, t: float) -> tuple[str, dict[str, Any]]:
        return "temperature", {"temperature_c": 58.0 if t >= 3600 else 8.0 + (t % 7) / 10}

    found = run(make(devs), periodic(["wx"], 1.5, values))
    (f,) = [f for f in found if f.check == "out_of_range"]
    assert (f.quarantine, f.details["values"], f.time_s) == (True, {"temperature_c": 58.0},
                                                              T0 + 3600)  # fmt: skip
    # The jump there is impossible too, and 58 °C repeated is stuck: all quarantine.
    assert {x.check for x in found} == {"out_of_range", "injected", "stuck"}
    assert all(x.quarantine for x in found)


def test_injected_readings_impossible_change_and_message_rate() -> None:
    rng = np.random.default_rng(9)
    devs = [DeviceInfo("wg", "water_gauge", 0, 0, None)]

    def values(d: str, t: float) -> tuple[str, dict[str, Any]]:
        level = 350.0 if 3600 <= t < 3660 else 40 + rng.normal(0, 2)
        return "water_level", {"level_cm_nap": round(level, 1)}

    found = run(make(devs), periodic(["wg"], 2, values))
    assert [(f.type, f.check, f.details["reason"]) for f in found] == [
        ("cyber_attack", "injected", "rate_of_change")
    ]
    # A water gauge warns the public: a jump flags it for a person but never silences it on
    # its own evidence (the jump may be the event itself).
    assert not found[0].quarantine and found[0].details["kept_in_use"] is True

    det = make(devs)
    for k in range(10):
        det.reading("wg", k, "water_level", T0 + 60 * k, {"level_cm_nap": 40.0 + k}, T0 + 60 * k)
    burst = []
    for k in range(30):  # 30 readings stamped within one minute from a 1-a-minute device
        t = T0 + 700 + k
        burst += det.reading("wg", 100 + k, "water_level", t, {"level_cm_nap": 41.0}, t)
    assert [(f.check, f.details["reason"]) for f in burst] == [("injected", "message_rate")]


def test_replayed_value_patterns_are_caught() -> None:
    rng = np.random.default_rng(10)
    levels = [round(40 + 10 * np.sin(k / 40) + rng.normal(0, 2), 1) for k in range(240)]
    replayed = levels[:120] + levels[30:60] + levels[150:]  # half an hour sent again
    det = make([DeviceInfo("wg", "water_gauge", 0, 0, None)])
    found = []
    for k, v in enumerate(replayed):
        t = T0 + 60 * k
        found += det.reading("wg", k, "water_level", t, {"level_cm_nap": v}, t)
    assert [(f.check, f.details["reason"]) for f in found] == [("replayed", "repeated_pattern")]
    assert found[0].time_s == T0 + 60 * 127  # the eighth value of the repeat
    assert found[0].details["repeats_from"] == T0 + 60 * 30


def test_pattern_memory_is_bounded_and_still_catches_a_recent_repeat() -> None:
    rng = np.random.default_rng(14)
    p = PatternRepeat(max_history=300)
    values = [f"{v:.1f}" for v in rng.normal(0, 5, 1000)]
    assert [p.add(v, float(k)) for k, v in enumerate(values)].count(None) == 1000
    assert len(p.values) <= 300 and len(p.seen) <= 300
    again = [p.add(v, 1000.0 + k) for k, v in enumerate(values[900:910])]
    assert again[:7] == [None] * 7 and again[7] == 900.0


def test_a_spoofed_counter_claiming_a_crowd_nobody_sees_is_quarantined() -> None:
    rng = np.random.default_rng(11)
    devs = [counter(i) for i in range(3)]

    def values(d: str, t: float) -> tuple[str, dict[str, Any]]:
        if d == "pc-2" and 7200 <= t < 7800:
            return "people_count", {"in": int(rng.integers(300, 600)), "out": 0,
                                    "interval_s": 60.0}  # fmt: skip
        return "people_count", counts(rng, 2)

    found = run(make(devs), periodic([d.id for d in devs], 3, values))
    assert [(f.check, f.devices, f.quarantine) for f in found] == [
        ("neighbour_mismatch", ["pc-2"], True)
    ]


def test_a_gauge_far_from_its_two_neighbours_is_a_mismatch() -> None:
    rng = np.random.default_rng(12)
    devs = [DeviceInfo(f"wg-{i}", "water_gauge", 1000.0 * i, 0, None) for i in range(3)]

    def values(d: str, t: float) -> tuple[str, dict[str, Any]]:
        tide = 80 * np.sin(t / 44712 * 6.283)
        off = 60.0 if d == "wg-1" and t >= 10800 else 0.0
        return "water_level", {"level_cm_nap": round(tide + off + rng.normal(0, 2), 1)}

    found = run(make(devs), periodic([d.id for d in devs], 4, values, step=300.0))
    assert [(f.check, f.devices) for f in found] == [("neighbour_mismatch", ["wg-1"])]


def test_forged_and_replayed_bursts_are_attacks_and_one_claim_on_a_silent_device_is_enough() -> (
    None
):
    devs = [counter(0), counter(1)]
    det = make(devs)
    assert det.rejection({"device": "pc-0", "reason": "bad_signature"}, T0) == []
    (f,) = det.rejection({"device": "pc-1", "reason": "bad_signature"}, T0 + 20)
    assert (f.type, f.check, f.devices, f.quarantine) == (
        "cyber_attack", "signature_failures", ["pc-0", "pc-1"], True,
    )  # fmt: skip
    assert det.quarantined() == {"pc-0", "pc-1"}
    # Cleared one by one (perhaps by two agencies): over when both are.
    (x,) = det.clear("pc-0", T0 + 60)
    assert x.ended_s is None and x.details["cleared_devices"] == {"pc-0": T0 + 60}
    assert det.quarantined() == {"pc-1"}
    assert [x.details.get("cleared") for x in det.clear("pc-1", T0 + 90)] == [True]
    assert x.ended_s == T0 + 90 and det.quarantined() == set()

    # A client retrying is not a replay; copies of hour-old readings are.
    assert det.rejection({"device": "pc-0", "reason": "duplicate", "original_age_s": 2}, T0) == []
    det.rejection({"device": "pc-0", "reason": "duplicate", "original_age_s": 1800}, T0 + 700)
    (r,) = det.rejection({"device": "pc-0", "reason": "replay"}, T0 + 720)
    assert r.check == "replayed"

    # Forged readings claiming to be a device that went silent: the first one is an attack.
    det = make(devs)
    for k in range(10):
        det.reading("pc-0", k, "heartbeat", T0 + 60 * k, {}, T0 + 60 * k)
    det.advance(T0 + 800)
    (a,) = det.rejection({"device": "pc-0", "reason": "bad_signature"}, T0 + 900)
    assert a.type == "cyber_attack"


def test_a_counter_stuck_at_zero_while_its_peers_count_people_is_caught() -> None:
    rng = np.random.default_rng(13)
    devs = [counter(i) for i in range(3)]

    def values(d: str, t: float) -> tuple[str, dict[str, Any]]:
        if d == "pc-1" and t >= 7200.0:
            return "people_count", {"in": 0, "out": 0, "interval_s": 60.0}
        return "people_count", counts(rng, 1.0)

    found = run(make(devs), periodic([d.id for d in devs], 3, values))
    (f,) = found
    assert (f.check, f.devices, f.quarantine) == ("stuck", ["pc-1"], True)
    assert f.raised_s - (T0 + 7200.0) <= 20 * 60.0

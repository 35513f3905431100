"""The simulator: arrival times and levels match the geometry; failures, cuts and attacks show;
the same seed gives the same output."""

from __future__ import annotations

import itertools
import math
from datetime import UTC, datetime

import numpy as np
import pytest

from stadswacht.livinglab import Simulation, parse_scenario, simulate
from stadswacht.livinglab.physics import LocalFrame, speed_of_sound
from stadswacht.model import Reading
from stadswacht.model.reading import parse_time_ns

START = datetime(2026, 11, 25, 0, 0, tzinfo=UTC)


@pytest.fixture
def sim(short_text: str) -> Simulation:
    return simulate(parse_scenario(short_text), START, seq_base=1000)


def _impulses(sim: Simulation, event: str) -> list[dict[str, object]]:
    return [e.reading for e in sim.emissions if e.event == event and e.attack is None]


def test_every_reading_is_valid_and_in_time_order(sim: Simulation) -> None:
    for e in sim.emissions:
        Reading.model_validate(e.reading)
    sends = [e.send_s for e in sim.emissions]
    assert sends == sorted(sends)
    by_device: dict[str, list[int]] = {}
    for e in sim.genuine():
        by_device.setdefault(e.reading["device"], []).append(e.reading["seq"])
    for seqs in by_device.values():
        assert seqs == sorted(set(seqs))
        assert seqs[0] == 1000


def test_arrival_time_differences_match_distance_differences(sim: Simulation) -> None:
    sc = sim.scenario
    shot = next(e for e in sc.events if e.id == "shot")
    frame = LocalFrame(4.29, 52.09)
    src = frame.to_xy(*shot.params["position"])
    # The temperature the simulator used is the weather station's latest report (no noise here).
    temps = [
        e.reading
        for e in sim.emissions
        if e.reading["kind"] == "temperature" and e.send_s <= shot.at_s
    ]
    c = speed_of_sound(temps[-1]["values"]["temperature_c"])
    first_round = {}
    for r in _impulses(sim, "shot"):
        first_round.setdefault(r["device"], r)
    assert set(first_round) == {"t-ac-01", "t-ac-02", "t-ac-03"}  # t-ac-far is too far
    dist = {}
    for d in first_round:
        p = sc.sensor(d).position
        x, y = frame.to_xy(p.lon, p.lat)
        dist[d] = math.hypot(x - src[0], y - src[1])
    sigma = sc.section("acoustics")["timing_noise_s"]
    residuals = []
    for a, b in itertools.combinations(sorted(first_round), 2):
        ta = parse_time_ns(first_round[a]["values"]["arrival_time"])  # type: ignore[index]
        tb = parse_time_ns(first_round[b]["values"]["arrival_time"])  # type: ignore[index]
        expected = (dist[a] - dist[b]) / c
        residuals.append((ta - tb) / 1e9 - expected)
    assert max(abs(r) for r in residuals) < 5 * sigma * math.sqrt(2)
    assert any(abs(r) > 1e-6 for r in residuals)  # the timing noise is there
    # arrival itself: emission time + distance / c
    for d, r in first_round.items():
        t = parse_time_ns(r["values"]["arrival_time"]) / 1e9 - START.timestamp()  # type: ignore[index]
        assert t - shot.at_s == pytest.approx(dist[d] / c, abs=5 * sigma)
        assert len(r["values"]["arrival_time"].split(".")[1]) == 10  # type: ignore[index]  # 9 digits + Z


def test_level_falls_with_distance(sim: Simulation) -> None:
    sc = sim.scenario
    shot = next(e for e in sc.events if e.id == "shot")
    frame = LocalFrame(4.29, 52.09)
    src = frame.to_xy(*shot.params["position"])
    first = {}
    for r in _impulses(sim, "shot"):
        first.setdefault(r["device"], r)
    rows = []
    for d, r in first.items():
        p = sc.sensor(d).position
        x, y = frame.to_xy(p.lon, p.lat)
        rows.append((math.hypot(x - src[0], y - src[1]), r["values"]["peak_db"]))  # type: ignore[index]
    rows.sort()
    levels = [lvl for _, lvl in rows]
    assert levels == sorted(levels, reverse=True)
    (r0, l0), (r1, l1) = rows[0], rows[-1]
    assert l0 - l1 == pytest.approx(20 * math.log10(r1 / r0), abs=0.15)
    probs = first["t-ac-01"]["values"]["classes"]  # type: ignore[index]
    assert max(probs, key=probs.get) == "gunshot"


def test_failures_power_cuts_and_attacks(sim: Simulation) -> None:
    start = START.timestamp()

    def times(device: str, kind: str) -> list[float]:
        return [
            parse_time_ns(e.reading["time"]) / 1e9 - start
            for e in sim.genuine()
            if e.reading["device"] == device and e.reading["kind"] == kind
        ]

    assert not [t for t in times("t-pc-01", "people_count") if 600 <= t < 900]
    assert not [t for t in times("t-wx-01", "temperature") if 2400 <= t < 2700]
    power = [e.reading for e in sim.genuine() if e.reading["device"] == "t-pm-01"]
    off = [r for r in power if r["values"]["on"] is False]
    assert len(off) == 5
    attacks = {(e.attack, e.reading["device"]) for e in sim.attacks()}
    assert attacks == {("spoofed", "t-wx-01"), ("forged", "t-ac-01"), ("replayed", "t-pc-01")}
    replayed = [e.reading for e in sim.attacks() if e.attack == "replayed"]
    originals = [e.reading for e in sim.genuine() if e.reading["device"] == "t-pc-01"]
    assert all(r in originals for r in replayed)
    truth = {t.id: t for t in sim.truth}
    assert truth["cut"].details["sensors"] == ["t-pm-01", "t-wx-01"]
    assert truth["spoof"].details["expected_reason"] == "bad_signature"
    assert truth["shot"].details["rounds"] == 2


def test_deterministic_for_a_seed(short_text: str) -> None:
    sc = parse_scenario(short_text)
    a = simulate(sc, START, seq_base=5)
    b = simulate(sc, START, seq_base=5)
    assert [e.reading for e in a.emissions] == [e.reading for e in b.emissions]
    assert [t.as_dict() for t in a.truth] == [t.as_dict() for t in b.truth]
    other = simulate(parse_scenario(short_text.replace("seed: 7", "seed: 8")), START, seq_base=5)
    assert [e.reading for e in a.emissions] != [e.reading for e in other.emissions]


def test_crowd_surge_counts_follow_the_flow(short_text: str) -> None:
    text = short_text.replace(
        "events:\n",
        "events:\n  - {type: crowd_surge, id: surge, at: 20m, zone: plaza, build_up: 10m,"
        " peak_density: 3, hold: 5m, release: 10m}\n",
    )
    sim = simulate(parse_scenario(text), START)
    counts = [
        (e.send_s, e.reading["values"]) for e in sim.genuine() if e.reading["device"] == "t-pc-01"
    ]
    inflow = sum(v["in"] - v["out"] for t, v in counts if 1200 < t <= 1800)
    # 3 persons/m² on 5000 m² arrive through the one gate over the build-up
    assert inflow == pytest.approx(15_000, rel=0.05)
    outflow = sum(v["out"] - v["in"] for t, v in counts if 2100 < t <= 2700)
    assert outflow == pytest.approx(15_000, rel=0.05)


def test_tide_is_semi_diurnal(short_text: str) -> None:
    text = short_text.replace("duration: 1h", "duration: 25h").replace(
        "  weather:\n",
        "  water_gauge:\n"
        "    - {id: t-wg, agency: municipality, position: [4.29, 52.09]}\n"
        "  weather:\n",
    )
    sim = simulate(parse_scenario(text), START)
    levels = np.array(
        [
            e.reading["values"]["level_cm_nap"]
            for e in sim.genuine()
            if e.reading["device"] == "t-wg"
        ]
    )
    highs = sum(
        1 for i in range(60, len(levels) - 60) if levels[i] == levels[i - 60 : i + 61].max()
    )
    assert highs == 2


def test_stuck_values_and_drifting_clocks(short_text: str) -> None:
    text = short_text.replace(
        "events:\n",
        "events:\n"
        "  - {type: sensor_failure, id: frozen, at: 20m, duration: 10m, sensor: t-wx-01,"
        " mode: stuck}\n"
        "  - {type: sensor_failure, id: drift, at: 20m, sensor: t-ac-02, mode: clock_drift,"
        " drift_s_per_h: 36}\n",
    )
    drifting = simulate(parse_scenario(text), START)
    plain = simulate(parse_scenario(short_text), START)
    temps = [
        e.reading["values"]["temperature_c"]
        for e in drifting.genuine()
        if e.reading["device"] == "t-wx-01" and 1200 <= e.send_s < 1800
    ]
    assert len(temps) == 10 and len(set(temps)) == 1

    def shot_at(sim: Simulation) -> int:
        r = next(
            e.reading
            for e in sim.genuine()
            if e.reading["device"] == "t-ac-02" and e.event == "shot"
        )
        return parse_time_ns(r["values"]["arrival_time"])

    # some 10 min into a drift of 36 s/h, the sensor's clock is some 6 s ahead
    since = shot_at(plain) / 1e9 - START.timestamp() - 1200
    ahead = (shot_at(drifting) - shot_at(plain)) / 1e9
    assert ahead == pytest.approx(36 * since / 3600, abs=1e-6)
    assert 6.0 < ahead < 6.2

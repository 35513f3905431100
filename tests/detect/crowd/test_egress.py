"""Egress flow model: single rooms, zones in series, gate kinds, the 8-minute flag, speed."""

from __future__ import annotations

import math
import time as clock
from datetime import time
from typing import Any

import numpy as np
import pytest

from stadswacht.detect.crowd.egress import (
    EGRESS_LIMIT_S,
    WALKING_SPEED_M_S,
    characteristic_distance,
    estimate_egress,
    queue_departures,
)
from stadswacht.detect.crowd.event import Event, parse_event

LEVEL = 82.0 / 60.0  # persons/m/s
STEPPED = 66.0 / 60.0


def one_room(area: float, width: float, kind: str = "level", **zone: Any) -> Event:
    gate = {"id": "door", "width_m": width, "kind": kind, **zone.pop("gate", {})}
    return parse_event(
        {"id": "e", "zones": [{"id": "hall", "walkable_area_m2": area, **zone, "gates": [gate]}]}
    )


def two_in_series(inner: float, outer: float, area: float = 400.0) -> Event:
    return parse_event(
        {
            "id": "e",
            "zones": [
                {
                    "id": "hall",
                    "walkable_area_m2": area,
                    "gates": [{"id": "inner", "width_m": inner, "leads_to": "foyer"}],
                },
                {
                    "id": "foyer",
                    "walkable_area_m2": area,
                    "gates": [{"id": "outer", "width_m": outer}],
                },
            ],
        }
    )


def test_single_room_flow_limited_is_persons_over_gate_capacity() -> None:
    # 1,000 people, a 2 m door: the queue forms at once, so the door sets the time,
    # N / (rate × width), plus at most the walk of the first arrivals (none in a fluid crowd).
    est = estimate_egress(one_room(500.0, 2.0), {"hall": 1000})
    flow_s = 1000 / (LEVEL * 2.0)
    walk_s = characteristic_distance(500.0) / WALKING_SPEED_M_S
    assert flow_s <= est.total_s <= flow_s + walk_s
    assert est.total_s == pytest.approx(flow_s, rel=0.01)
    assert est.limiting_gate == "door"
    (gate,) = est.gates
    assert gate.persons == pytest.approx(1000)
    assert gate.mean_flow_per_m_min == pytest.approx(82.0, rel=0.01)
    assert gate.max_queue > 900


def test_single_room_walk_limited_is_the_longest_walk() -> None:
    # 10 people in a large room with a wide door: nobody queues, the last one walks R / v.
    est = estimate_egress(one_room(5000.0, 10.0), {"hall": 10})
    assert est.total_s == pytest.approx(
        characteristic_distance(5000.0) / WALKING_SPEED_M_S, rel=0.01
    )
    assert est.limiting_gate is None
    # A given travel distance replaces the one derived from the area.
    longer = estimate_egress(one_room(5000.0, 10.0, travel_distance_m=134.0), {"hall": 10})
    assert longer.total_s == pytest.approx(100.0, rel=0.01)


def test_in_between_lies_between_walk_and_flow_and_their_sum() -> None:
    n, area, width = 200, 2000.0, 3.0
    est = estimate_egress(one_room(area, width), {"hall": n})
    flow_s = n / (LEVEL * width)
    walk_s = characteristic_distance(area) / WALKING_SPEED_M_S
    assert max(flow_s, walk_s) <= est.total_s <= flow_s + walk_s


def test_two_zones_in_series_are_limited_by_the_narrower_gate() -> None:
    n = 1200
    narrow_inside = estimate_egress(two_in_series(1.5, 4.0), {"hall": n})
    narrow_outside = estimate_egress(two_in_series(4.0, 1.5), {"hall": n})
    flow_s = n / (LEVEL * 1.5)
    transit_s = characteristic_distance(400.0) / WALKING_SPEED_M_S
    assert narrow_inside.limiting_gate == "inner"
    assert narrow_outside.limiting_gate == "outer"
    for est in (narrow_inside, narrow_outside):
        assert flow_s <= est.total_s <= flow_s + 2 * transit_s
    # The wide gate never runs at capacity behind (or in front of) the narrow one.
    outer = next(g for g in narrow_inside.gates if g.gate == "outer")
    assert outer.mean_flow_per_m_min < 82.0 * 1.5 / 4.0 * 1.05
    assert narrow_inside.zone_clear_s["foyer"] == pytest.approx(narrow_inside.total_s)


def test_people_in_both_zones_share_the_outer_gate() -> None:
    est = estimate_egress(two_in_series(3.0, 1.0), {"hall": 300, "foyer": 300})
    assert est.persons == 600
    assert est.total_s == pytest.approx(600 / LEVEL, rel=0.02)


def test_stepped_gates_pass_66_and_level_82_persons_per_metre_minute() -> None:
    level = estimate_egress(one_room(500.0, 2.0, "level"), {"hall": 1000})
    stepped = estimate_egress(one_room(500.0, 2.0, "stepped"), {"hall": 1000})
    assert stepped.total_s == pytest.approx(1000 / (STEPPED * 2.0), rel=0.01)
    assert stepped.total_s / level.total_s == pytest.approx(82 / 66, rel=0.01)
    # Own rates (a calibration) replace the Green Guide's.
    fast = estimate_egress(
        one_room(500.0, 2.0), {"hall": 1000}, rates={"level": 164.0, "stepped": 132.0}
    )
    assert fast.total_s == pytest.approx(level.total_s / 2, rel=0.01)


def test_flags_layouts_over_eight_minutes() -> None:
    assert EGRESS_LIMIT_S == 480.0
    width = 4.0
    at_limit = 82.0 * width * 8  # persons the gate passes in 8 minutes
    under = estimate_egress(one_room(2000.0, width), {"hall": 0.95 * at_limit})
    over = estimate_egress(one_room(2000.0, width), {"hall": 1.05 * at_limit})
    assert not under.over_limit and under.total_s < 480
    assert over.over_limit and over.total_s > 480
    assert estimate_egress(
        one_room(2000.0, width), {"hall": 0.95 * at_limit}, limit_s=300
    ).over_limit


def test_default_occupancy_is_the_zone_capacity() -> None:
    event = one_room(500.0, 2.0)  # 1,000 persons at 2 persons/m²
    assert estimate_egress(event).persons == 1000


def test_closed_gates_are_not_used_and_a_zone_without_a_way_out_is_blocked() -> None:
    event = parse_event(
        {
            "id": "e",
            "zones": [
                {
                    "id": "hall",
                    "walkable_area_m2": 500,
                    "gates": [
                        {"id": "main", "width_m": 2.0},
                        {"id": "side", "width_m": 2.0, "open": [["18:00", "22:00"]]},
                    ],
                }
            ],
        }
    )
    both = estimate_egress(event, {"hall": 1000}, at=time(20))
    one = estimate_egress(event, {"hall": 1000}, at=time(23))
    assert one.total_s == pytest.approx(2 * both.total_s, rel=0.01)
    assert {g.gate for g in one.gates} == {"main"}
    shut = one_room(500.0, 2.0, gate={"open": [["18:00", "22:00"]]})
    blocked = estimate_egress(shut, {"hall": 10}, at=time(23))
    assert math.isinf(blocked.total_s) and blocked.over_limit
    assert blocked.blocked_zones == ("hall",)


def test_gates_share_a_zone_in_proportion_to_capacity() -> None:
    event = parse_event(
        {
            "id": "e",
            "zones": [
                {
                    "id": "hall",
                    "walkable_area_m2": 500,
                    "gates": [{"id": "wide", "width_m": 3.0}, {"id": "narrow", "width_m": 1.0}],
                }
            ],
        }
    )
    est = estimate_egress(event, {"hall": 800})
    flows = {g.gate: g.persons for g in est.gates}
    assert flows["wide"] == pytest.approx(600) and flows["narrow"] == pytest.approx(200)


def test_bad_arguments() -> None:
    event = one_room(500.0, 2.0)
    with pytest.raises(KeyError, match="nowhere"):
        estimate_egress(event, {"nowhere": 5})
    with pytest.raises(ValueError, match="walking_speed"):
        estimate_egress(event, walking_speed_m_s=0)
    with pytest.raises(ValueError, match="rates"):
        estimate_egress(event, rates={"level": 82.0})


def test_queue_departures_never_exceed_arrivals_or_capacity() -> None:
    rng = np.random.default_rng(5)
    arrivals = np.cumsum(rng.integers(0, 5, size=200)).astype(float)
    dep = queue_departures(arrivals, 2.0)
    assert np.all(dep <= arrivals + 1e-9)
    assert np.all(np.diff(dep) <= 2.0 + 1e-9)
    assert np.all(np.diff(dep) >= -1e-9)


def test_an_estimate_takes_milliseconds() -> None:
    zones = [
        {
            "id": f"z{i}",
            "walkable_area_m2": 5000,
            "gates": [
                {"id": f"g{i}a", "width_m": 6, **({"leads_to": f"z{i + 1}"} if i < 9 else {})},
                {"id": f"g{i}b", "width_m": 4, "kind": "stepped"},
            ],
        }
        for i in range(10)
    ]
    event = parse_event({"id": "big", "zones": zones})
    start = clock.perf_counter()
    est = estimate_egress(event)
    assert clock.perf_counter() - start < 0.5
    assert est.persons == 100_000 and math.isfinite(est.total_s)

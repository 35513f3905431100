"""Coverage after the k worst failures, and the best added backup, on examples done by hand.

Five acoustic sensors stand at the centre of a 4 km square (range 800 m): s1, s2, s3 on
substation ss-a, s4, s5 on ss-b. With all working, a shot is located in the disc around the
centre, pi * 800**2 / 4000**2 = 12.57 % of the square. ss-a failing leaves 2 sensors (0 %);
ss-b failing leaves 3 (12.57 %). A battery beside ss-a for one of s1..s3 keeps 3 sensors
whatever single node fails, so the worst case goes back to 12.57 %.
"""

from __future__ import annotations

import math

import pytest

from stadswacht.resilience import (
    CoverageModel,
    best_added_sensor,
    best_backup,
    coverage_report,
    parse_infra,
    worst_case,
)
from stadswacht.resilience.graph import InfraGraph
from tests.resilience.conftest import lonlat, square

DISC = math.pi * 800**2 / 4000**2


def _city() -> InfraGraph:
    centre = lonlat(0, 0)
    sensors = [
        {"id": f"s{i}", "kind": "acoustic", "position": centre,
         "depends_on": ["ss-a" if i <= 3 else "ss-b"]}
        for i in range(1, 6)
    ]  # fmt: skip
    counters = [
        {"id": "c1", "kind": "people_counter", "zone": "z1", "gate": "n", "depends_on": ["ss-a"]},
        {"id": "c2", "kind": "people_counter", "zone": "z1", "gate": "s", "depends_on": ["ss-b"]},
        {"id": "c3", "kind": "people_counter", "zone": "z2", "mode": "occupancy",
         "depends_on": ["ss-b"]},
    ]  # fmt: skip
    return parse_infra({
        "area": square(2000), "defaults": {"agency": "city"},
        "nodes": [{"id": "ss-a", "kind": "substation"}, {"id": "ss-b", "kind": "feeder"},
                  *sensors, *counters],
    })  # fmt: skip


def test_the_worst_single_failure_and_the_coverage_it_leaves() -> None:
    m = CoverageModel(_city(), resolution_m=20)
    w = worst_case(m, "gunshot", 1)
    assert w.before == pytest.approx(DISC, abs=0.003)
    assert (w.after, w.failures) == (0.0, ("ss-a",))
    assert worst_case(m, "gunshot", 0).after == pytest.approx(DISC, abs=0.003)
    # Crowd: ss-b takes gate s of z1 and the occupancy counter of z2: both zones lost.
    c = worst_case(m, "crowd", 1)
    assert (c.before, c.after, c.failures) == (1.0, 0.0, ("ss-b",))
    # Exactly over every pair agrees with the greedy search here.
    e = worst_case(m, "gunshot", 2, method="exact")
    assert e.method == "exact" and e.after == 0.0 and "ss-a" in e.failures


def test_a_battery_for_one_sensor_on_the_weak_substation_restores_the_worst_case() -> None:
    m = CoverageModel(_city(), resolution_m=20)
    b = best_backup(m, "gunshot", 1)
    assert b is not None
    assert b.node in {"s1", "s2", "s3"} and b.requirement == ("ss-a",)
    assert b.worst.after == pytest.approx(DISC, abs=0.003)
    # One more sensor on the nearest sensor's supply (ss-a) does not help: ss-a still leaves 2.
    s = best_added_sensor(m, "gunshot", 1)
    assert s is not None and s.template == "s1" and s.worst.after == 0.0


def test_the_report_gives_every_capability() -> None:
    r = coverage_report(_city(), 1, resolution_m=20)
    shot = r["capabilities"]["gunshot"]
    assert shot["sensors"] == 5 and shot["failures"] == ["ss-a"] and shot["after"] == 0.0
    assert shot["add_backup"]["gain"] == pytest.approx(DISC, abs=0.003)
    # One more sensor does not raise the worst case (ss-a still leaves 2): no recommendation.
    assert shot["add_sensor"] is None
    assert r["capabilities"]["crowd"]["after"] == 0.0
    assert r["capabilities"]["hazard"]["sensors"] == 0
    assert r["capabilities"]["hazard"]["add_sensor"] is None

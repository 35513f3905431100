"""Blind spots of the small city (tests/resilience/city.py), worked out by hand: two sensors
at A and two at B, 600 m apart, range 800 m; a shot is located where 3 hear it, which is the
lens where both discs overlap (4 sensors there, 2 elsewhere)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
from shapely.geometry import Point, Polygon, box

from stadswacht.model import Area
from stadswacht.resilience import assess, cascade, crowd_zones, k_coverage, parse_infra
from stadswacht.resilience.blindspots import QUAD_SEGS
from tests.resilience.city import HALF, A, B, R, city
from tests.resilience.conftest import lens_area, lonlat, metric

SQUARE = box(-HALF, -HALF, HALF, HALF)
# The circles as smooth as shapely draws them; the platform's discs are 64-gons (0.16 % less).
LENS = Point(A).buffer(R, quad_segs=512).intersection(Point(B).buffer(R, quad_segs=512))
TOL = 0.004


def _close(got: object, want: object, scale: float) -> bool:
    return bool(shapely.symmetric_difference(got, want).area <= TOL * scale)


def test_the_lens_is_the_only_place_a_shot_is_located_by_three() -> None:
    assert LENS.area == pytest.approx(lens_area(R, 600), rel=1e-4)
    a = assess(city(), cascade(city(), ["ss-a"]))
    shot = a.losses["gunshot"]
    assert shot.failed == ("a1",)
    # Before: 4 in the lens. After ss-a: a2, b1, b2 still hear the lens: nothing lost.
    assert _close(shot.covered_before, LENS, LENS.area)
    assert _close(shot.covered_after, LENS, LENS.area)
    assert shot.lost.area < 1.0
    blind = metric(a.to_geojson("gunshot", "blind")["geometry"])
    assert _close(blind, SQUARE.difference(LENS), LENS.area)
    s = a.summary()["gunshot"]
    assert s["covered_after"] == pytest.approx(LENS.area / SQUARE.area, abs=0.001)


def test_losing_both_gateways_blinds_the_whole_area() -> None:
    a = assess(city(), cascade(city(), ["ss-a", "bat"]))
    shot = a.losses["gunshot"]
    assert shot.failed == ("a1", "a2", "b1", "b2") and shot.covered_after.is_empty
    lost = a.to_geojson("gunshot", "lost")
    assert lost["type"] == "Feature" and lost["geometry"]["type"] == "Polygon"
    lon, lat = np.array(lost["geometry"]["coordinates"][0]).T
    assert 4.29 < lon.min() < lon.max() < 4.31 and 52.07 < lat.min() < lat.max() < 52.09
    assert _close(metric(lost["geometry"]), LENS, LENS.area)
    assert _close(metric(a.to_geojson("gunshot")["geometry"]), SQUARE, LENS.area)
    assert a.to_geojson("gunshot", "lost")["properties"]["share"] == pytest.approx(
        LENS.area / SQUARE.area, abs=0.001
    )


def test_a_flood_at_b_leaves_two_sensors_and_no_fix() -> None:
    flood = Polygon([lonlat(200, -50), lonlat(400, -50), lonlat(400, 50), lonlat(200, 50)])
    a = assess(city(), cascade(city(), flood=flood))
    assert a.losses["gunshot"].covered_after.is_empty
    assert _close(a.losses["gunshot"].lost, LENS, LENS.area)


def test_three_discs_of_three_sensors_cover_their_triple_overlap() -> None:
    # Centres on an equilateral triangle of side 1000 m, range 800 m: the covered set is the
    # Reuleaux-like middle, symmetric, inside each disc, and its area matches brute force.
    pts = np.array([[0, 0], [1000, 0], [500, 500 * math.sqrt(3)]], dtype=float)
    got = k_coverage(pts, np.full(3, 800.0), 3, box(-2000, -2000, 3000, 3000))
    for quad_segs, tol in ((512, 0.006), (QUAD_SEGS, 1e-9)):
        # Against smooth circles (64-gon chords cut 0.5 % of this small area) and exactly
        # against the intersection of the same 64-gons the platform draws.
        want = Point(pts[0]).buffer(800, quad_segs=quad_segs)
        for p in pts[1:]:
            want = want.intersection(Point(p).buffer(800, quad_segs=quad_segs))
        assert shapely.symmetric_difference(got, want).area <= tol * want.area
    assert k_coverage(pts, np.full(3, 800.0), 4, box(0, 0, 1, 1)).is_empty
    two = k_coverage(pts, np.full(3, 800.0), 2, box(-2000, -2000, 3000, 3000))
    assert two.area > got.area


def test_crowd_zones_keep_their_count_by_gates_or_an_occupancy_counter() -> None:
    g = parse_infra({"defaults": {"agency": "c"}, "nodes": [
        {"id": "n", "kind": "people_counter", "zone": "z1", "gate": "north"},
        {"id": "s", "kind": "people_counter", "zone": "z1", "gate": "south"},
        {"id": "s2", "kind": "people_counter", "zone": "z1", "gate": "south"},
        {"id": "occ", "kind": "camera_counter", "zone": "z2", "mode": "occupancy"},
        {"id": "f", "kind": "people_counter", "zone": "z2", "gate": "east"},
        {"id": "any", "kind": "people_counter", "zone": "z3"}]})  # fmt: skip
    z = crowd_zones(g, set(), ["z4"])
    assert {k: v.status for k, v in z.items()} == {
        "z1": "counted", "z2": "counted", "z3": "counted", "z4": "uncovered"}  # fmt: skip
    z = crowd_zones(g, {"s", "f", "any"})
    assert (z["z1"].status, z["z1"].failed, z["z1"].gates_lost) == ("degraded", ("s",), ())
    assert z["z2"].status == "degraded" and z["z2"].gates_lost == ("east",)
    assert z["z3"].status == "lost"
    z = crowd_zones(g, {"s", "s2", "occ"})
    assert (z["z1"].status, z["z1"].gates_lost) == ("lost", ("south",))
    assert z["z2"].status == "degraded"  # the flow counter at its only gate still counts it
    assert crowd_zones(g, {"occ", "f"})["z2"].status == "lost"


def test_lost_zones_come_as_geojson_with_their_polygon() -> None:
    g = parse_infra({"area": [[4.29, 52.08], [4.31, 52.08], [4.31, 52.1]],
        "defaults": {"agency": "c"}, "nodes": [
        {"id": "ss", "kind": "substation"},
        {"id": "n", "kind": "people_counter", "zone": "z1", "depends_on": ["ss"]}]})  # fmt: skip
    zone = Area(id="z1", name="Zone 1", polygon=((4.3, 52.09), (4.301, 52.09), (4.301, 52.091)))
    a = assess(g, cascade(g, ["ss"]), [zone])
    (f,) = a.to_geojson("crowd")["features"]
    assert f["id"] == "z1" and f["properties"]["status"] == "lost"
    assert f["properties"]["failed"] == ["n"]
    assert a.summary()["crowd"] == {"zones": 1, "lost": ["z1"], "degraded": []}

"""What-if for every node of the International Zone graph, and for a flood, gives valid GeoJSON
(issue #9, D1: 39 of 49 nodes answered 500 when a blind or lost area, valid in metres, could
not be rounded after it was projected back to WGS84)."""

from __future__ import annotations

from typing import Any

import pytest
from shapely.geometry import shape
from shapely.validation import explain_validity

from stadswacht.resilience import (
    assess,
    cascade,
    coverage_report,
    geometry_from_geojson,
    geometry_to_geojson,
)
from stadswacht.resilience.blindspots import crowd_zones
from tests.resilience.test_international_zone import _graph

FLOOD = {"type": "Polygon", "coordinates": [[[4.28, 52.088], [4.29, 52.088], [4.29, 52.093],
         [4.28, 52.093], [4.28, 52.088]]]}  # fmt: skip
"""The flood polygon of the review: it answered 500 too."""


def check_area_feature(feature: dict[str, Any], to_metres: Any) -> None:
    """``feature`` is a GeoJSON Feature whose geometry is an empty MultiPolygon or a valid
    (Multi)Polygon, with closed rings, whose area in metres is the one it states."""
    geom = feature["geometry"]
    assert geom["type"] in ("Polygon", "MultiPolygon")
    polygons = [geom["coordinates"]] if geom["type"] == "Polygon" else geom["coordinates"]
    for polygon in polygons:
        for ring in polygon:
            assert len(ring) >= 4 and ring[0] == ring[-1]
            assert all(len(p) == 2 and -180 <= p[0] <= 180 and -90 <= p[1] <= 90 for p in ring)
    stated = feature["properties"]["area_m2"]
    if not polygons:
        assert stated < 1.0
        return
    g = shape(geom)
    assert g.is_valid, explain_validity(g)
    # Snapping to 0.1 m and rounding to 1e-6 degrees moves the area by well under 0.2 %.
    assert to_metres(g).area == pytest.approx(stated, rel=2e-3, abs=10.0)


def test_what_if_every_node_and_the_flood_gives_valid_geojson() -> None:
    g, sc = _graph()
    zones = [z.area for z in sc.zones]  # type: ignore[attr-defined]
    cases: dict[str, tuple[list[str], Any]] = {n: ([n], None) for n in g.nodes}
    cases["flood"] = ([], geometry_from_geojson(FLOOD))
    assert len(cases) == 50
    for name, (fail, flood) in cases.items():
        a = assess(g, cascade(g, fail, flood), zones)
        for cap in ("gunshot", "hazard"):
            for which in ("blind", "lost"):
                feature = a.to_geojson(cap, which)
                assert feature["properties"]["which"] == which, name
                check_area_feature(feature, a.projection.forward)
        assert a.to_geojson("crowd")["type"] == "FeatureCollection"


def test_an_invalid_projected_area_is_repaired_with_its_area_kept() -> None:
    # The study area without located shots, straight from the quadtree (not snapped in metres)
    # and projected back: the geometry the review found invalid in degrees.
    g, _ = _graph()
    a = assess(g, cascade(g, []))
    raw = a.projection.inverse(a.losses["gunshot"].blind)
    assert not raw.is_valid  # "Too few points in geometry component"
    doc = geometry_to_geojson(raw)
    out = shape(doc)
    assert out.is_valid
    # A zero-width buffer keeps the area (make_valid gave 2.68 times as much here).
    assert out.area == pytest.approx(raw.area, rel=2e-3)


def test_coverage_recommends_nothing_where_no_single_addition_helps() -> None:
    g, sc = _graph()
    r = coverage_report(g, 1, zones=[z.id for z in sc.zones])  # type: ignore[attr-defined]
    crowd = r["capabilities"]["crowd"]
    # The cell site link-lte-1 takes 2 of the 4 zones; no added counter or battery saves one.
    assert (crowd["before"], crowd["after"], crowd["failures"]) == (1.0, 0.5, ["link-lte-1"])
    assert crowd["add_sensor"] is None and crowd["add_backup"] is None
    shot = r["capabilities"]["gunshot"]
    assert shot["add_sensor"]["gain"] > 0 and shot["add_backup"]["gain"] > 0


def test_a_view_on_some_sensors_counts_those_only_and_keeps_the_cascade() -> None:
    g, sc = _graph()
    hidden = {"iz-pc-01", "iz-pc-02", "iz-ac-01", "iz-ac-02"}
    seen = [n.id for n in g.nodes.values() if n.capability and n.id not in hidden]
    view = g.counting_only(seen)
    assert {n.id for n in view.sensors("gunshot")} == {f"iz-ac-0{i}" for i in range(3, 9)}
    # The hidden sensors still fail with what they need.
    assert cascade(view, ["gw-intl-org"]).failed == cascade(g, ["gw-intl-org"]).failed
    # The Peace Palace is counted by the international organisation's counters only: not
    # judged in the view, rather than counted by sensors the view does not show.
    assert "peace-palace" in crowd_zones(g, set())
    assert "peace-palace" not in crowd_zones(view, set())
    a = assess(view, cascade(view, ["ss-bosjes"]), [z.area for z in sc.zones])  # type: ignore[attr-defined]
    full = assess(g, cascade(g, ["ss-bosjes"]))
    assert a.losses["gunshot"].sensors == tuple(n.id for n in view.sensors("gunshot"))
    assert a.losses["gunshot"].covered_before.area < full.losses["gunshot"].covered_before.area

"""Cascades on the small city (tests/resilience/city.py): the failed sets worked out by hand."""

from __future__ import annotations

import pytest
from shapely.geometry import Polygon

from stadswacht.resilience import cascade, parse_infra
from tests.resilience.city import city
from tests.resilience.conftest import lonlat


def test_a_substation_takes_down_what_needs_it_and_nothing_with_an_alternative() -> None:
    c = cascade(city(), ["ss-a"])
    # gw-1 and a1 need ss-a; lte has the battery; a2 still reaches gw-2.
    assert c.failed == {"ss-a", "gw-1", "a1"}
    assert c.cause == {"ss-a": "initial", "gw-1": "ss-a", "a1": "ss-a"}
    assert c.initial == {"ss-a"}


def test_an_any_of_group_fails_only_when_every_alternative_has() -> None:
    assert cascade(city(), ["bat"]).failed == {"bat"}
    assert cascade(city(), ["fibre"]).failed == {"fibre"}
    c = cascade(city(), ["ss-a", "bat"])
    # lte loses both supplies; gw-2 needs lte; a2 loses both gateways; b1, b2 need gw-2.
    assert c.failed == {"ss-a", "bat", "lte", "gw-1", "gw-2", "a1", "a2", "b1", "b2"}
    assert c.cause["lte"] in {"ss-a", "bat"} and c.cause["a2"] in {"gw-1", "gw-2"}
    assert c.chain("b1") == ["b1", "gw-2", "lte", c.cause["lte"]]


def test_a_flooded_polygon_fails_every_node_located_in_it() -> None:
    flood = Polygon([lonlat(200, -50), lonlat(400, -50), lonlat(400, 50), lonlat(200, 50)])
    c = cascade(city(), flood=flood)
    assert c.failed == {"b1", "b2"} and c.cause == {"b1": "flood", "b2": "flood"}
    assert c.initial == {"b1", "b2"}


def test_a_failed_pumping_station_floods_what_it_protects() -> None:
    c = cascade(city(), ["ss-b", "gen"])
    assert c.failed == {"ss-b", "gen", "ps", "fibre", "a1", "a2", "b1", "b2"}
    assert c.cause["ps"] in {"ss-b", "gen"}
    assert c.cause["a1"] == "flood:ps" and c.unprotected == ("ps",)
    # Told not to flood the unprotected area, a1 stays up (a2 still needs ss-b).
    dry = cascade(city(), ["ss-b", "gen"], flood_unprotected=False)
    assert dry.failed == {"ss-b", "gen", "ps", "fibre", "a2", "b1", "b2"}
    assert dry.unprotected == ("ps",)
    assert cascade(city(flood_unprotected=False), ["ss-b", "gen"]).failed == dry.failed


def test_cycles_of_dependencies_are_allowed() -> None:
    g = parse_infra({"defaults": {"agency": "c"}, "nodes": [
        {"id": "scada", "kind": "link", "depends_on": ["ss"]},
        {"id": "ss", "kind": "substation", "depends_on": [{"any_of": ["scada", "manual"]}]},
        {"id": "manual", "kind": "other"}, {"id": "x", "kind": "other"}]})  # fmt: skip
    assert cascade(g, ["x"]).failed == {"x"}
    assert cascade(g, ["scada"]).failed == {"scada"}
    assert cascade(g, ["scada", "manual"]).failed == {"scada", "manual", "ss"}
    assert cascade(g, ["ss"]).failed == {"ss", "scada"}


def test_an_unknown_node_is_named() -> None:
    with pytest.raises(KeyError, match="'nope' is no node"):
        cascade(city(), ["nope"])

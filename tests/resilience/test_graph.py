"""The graph file: valid files load, bad ones are refused with the path of each bad item."""

from __future__ import annotations

from pathlib import Path

import pytest

from stadswacht.model import Device, DeviceKind, Position
from stadswacht.resilience import InfraGraphError, attach_devices, parse_infra, read_infra

KEY = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"


def _errors(doc: object) -> str:
    with pytest.raises(InfraGraphError) as exc:
        parse_infra(doc, "city.yaml")
    return str(exc.value)


def test_edges_point_from_the_dependent_to_what_it_needs_with_groups() -> None:
    g = parse_infra({"defaults": {"agency": "city"}, "nodes": [
        {"id": "ss", "kind": "substation"}, {"id": "ups", "kind": "backup_power"},
        {"id": "gw", "kind": "gateway", "depends_on": ["ss", {"any_of": ["ups", "lte"]}]},
        {"id": "lte", "kind": "link"}]})  # fmt: skip
    assert set(g.graph.edges) == {("gw", "ss"), ("gw", "ups"), ("gw", "lte")}
    assert g.graph.edges["gw", "ups"] == {"group": 1, "any_of": True}
    assert g.graph.edges["gw", "ss"] == {"group": 0, "any_of": False}
    assert g.nodes["gw"].agency == "city"
    doc = g.to_geojson()
    assert {e["source"] for e in doc["edges"]} == {"gw"} and len(doc["features"]) == 4


def test_schema_errors_name_the_path_of_each_bad_item() -> None:
    msg = _errors({"nodes": [
        {"id": "ss", "kind": "substation", "colour": "red"},
        {"id": "gw", "kind": "warp_drive"},
        {"id": "s1", "kind": "acoustic", "position": [200, 52.1]},
        {"id": "s2", "depends_on": [{"one_of": ["ss"]}]}]})  # fmt: skip
    assert "city.yaml: nodes[0]: Additional properties are not allowed ('colour'" in msg
    assert "nodes[1].kind: 'warp_drive' is not one of" in msg
    assert "nodes[2].position[0]: 200 is greater than the maximum of 180" in msg
    assert "nodes[3].depends_on[0]: {'one_of': ['ss']} is neither a node id nor" in msg
    assert "(top level): 'nodes' is a required property" in _errors({"name": "x"})


def test_references_are_checked_with_their_paths() -> None:
    msg = _errors({"nodes": [
        {"id": "ss", "kind": "substation"},
        {"id": "gw", "kind": "gateway", "depends_on": ["ss", {"any_of": ["ups", "gw"]}]},
        {"id": "ss", "kind": "feeder"},
        {"id": "s1", "kind": "acoustic", "depends_on": ["ss", {"any_of": ["ss"]}],
         "protects": [[4.3, 52.1], [4.31, 52.1], [4.31, 52.11]]}]})  # fmt: skip
    assert "nodes[1].depends_on[1].any_of[0]: 'ups' is not the id of any node" in msg
    assert "nodes[1].depends_on[1].any_of[1]: a node cannot depend on itself" in msg
    assert "nodes[2].id: 'ss' is already the id of nodes[0]" in msg
    assert "nodes[3].depends_on[1].any_of[0]: 's1' already depends on 'ss'" in msg
    assert "nodes[3].protects: only a pumping_station or a place protects" in msg


def test_read_infra_reports_unreadable_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(InfraGraphError, match="cannot read"):
        read_infra(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("nodes: [\n")
    with pytest.raises(InfraGraphError, match="not valid YAML"):
        read_infra(bad)
    good = tmp_path / "g.json"
    good.write_text('{"nodes": [{"id": "a", "kind": "link", "agency": "city"}]}')
    graph, meta = read_infra(good)
    assert meta["nodes"] == 1 and meta["edges"] == 0 and len(meta["sha256"]) == 64
    assert graph.nodes["a"].kind == "link"


def test_registered_devices_complete_the_sensors() -> None:
    g = parse_infra({"defaults": {"agency": "city"}, "nodes": [
        {"id": "ss", "kind": "substation"},
        {"id": "ac-1", "depends_on": ["ss"]},
        {"id": "pc-1", "kind": "people_counter", "position": [4.0, 52.0], "depends_on": ["ss"]},
        {"id": "ghost"}]})  # fmt: skip
    assert g.nodes["ac-1"].agency is None  # a sensor's owner comes from the registry
    devices = [
        Device(id="ac-1", kind=DeviceKind.ACOUSTIC, position=Position(lat=52.09, lon=4.29),
               agency="police", area="z1", public_key=KEY),
        Device(id="pc-1", kind=DeviceKind.PEOPLE_COUNTER, position=Position(lat=52.09, lon=4.3),
               agency="city", public_key=KEY),
    ]  # fmt: skip
    out = attach_devices(g, devices)
    ac = out.nodes["ac-1"]
    assert (ac.kind, ac.agency, ac.zone, ac.position) == ("acoustic", "police", "z1", (4.29, 52.09))
    assert ac.capability == frozenset({"gunshot"})
    assert out.nodes["pc-1"].position == (4.3, 52.09)
    assert out.nodes["ghost"].kind == "other" and out.nodes["ghost"].agency == "city"
    assert any("pc-1: position in the file" in w for w in out.warnings)
    assert any("ghost: no kind" in w for w in out.warnings)
    assert out.requirements("pc-1") == (frozenset({"ss"}),)

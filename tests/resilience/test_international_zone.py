"""The scenarios' infrastructure files agree with their living-lab scenarios."""

from __future__ import annotations

from pathlib import Path

import pytest
from shapely.geometry import Polygon

from stadswacht.livinglab import read_scenario
from stadswacht.model import Device
from stadswacht.resilience import InfraGraph, assess, attach_devices, cascade, read_infra

ROOT = Path(__file__).resolve().parents[2] / "scenarios"
KEY = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"


def _graph(name: str = "international_zone") -> tuple[InfraGraph, object]:
    sc = read_scenario(ROOT / f"{name}.yaml")
    devices = [
        Device(id=s.id, kind=s.kind, position=s.position, agency=s.agency, area=s.zone,
               public_key=KEY)
        for s in sc.sensors
    ]  # fmt: skip
    graph, _ = read_infra(ROOT / f"{name}.infra.yaml")
    return attach_devices(graph, devices), sc


@pytest.mark.parametrize("name", ["international_zone", "malieveld_event"])
def test_every_scenario_device_is_in_the_graph_and_no_other_sensor(name: str) -> None:
    g, sc = _graph(name)
    assert not g.warnings
    ids = {s.id for s in sc.sensors}  # type: ignore[attr-defined]
    sensors = {n.id for n in g.nodes.values() if n.position and n.kind.startswith(
        ("acoustic", "people", "water", "rain", "weather", "power"))}  # fmt: skip
    assert sensors == ids


def test_the_power_cut_is_one_substation_and_silences_the_sensors_the_scenario_does() -> None:
    g, sc = _graph()
    (cut,) = [e for e in sc.events if e.type == "power_cut"]  # type: ignore[attr-defined]
    area = Polygon(cut.params["polygon"])
    (feeder,) = [n for n in g.nodes.values() if n.polygon and Polygon(n.polygon).equals(area)]
    c = cascade(g, [feeder.id])
    inside = {s.id for s in sc.sensors if area.contains(  # type: ignore[attr-defined]
        Polygon([(s.position.lon - 1e-6, s.position.lat), (s.position.lon + 1e-6, s.position.lat),
                 (s.position.lon, s.position.lat + 1e-6)]))}  # fmt: skip
    # The power monitors keep reporting on their batteries (the simulator's "power_off").
    silent = {i for i in inside if not i.startswith("iz-pm-")}
    assert silent == {"iz-ac-07", "iz-ac-08", "iz-pc-06", "iz-wx-02"}
    assert {n for n in c.failed if n in {s.id for s in sc.sensors}} == silent  # type: ignore[attr-defined]
    a = assess(g, c, [z.area for z in sc.zones])  # type: ignore[attr-defined]
    assert a.summary()["crowd"]["lost"] == ["scheveningse-bosjes"]
    assert a.losses["gunshot"].failed == ("iz-ac-07", "iz-ac-08")
    assert a.losses["gunshot"].lost.area > 0


def test_at_the_malieveld_the_power_cabinet_takes_some_counters_not_the_generators() -> None:
    g, sc = _graph("malieveld_event")
    c = cascade(g, ["ss-malieveld"])
    a = assess(g, c, [z.area for z in sc.zones])  # type: ignore[attr-defined]
    # The field's counters run on the stage generators; forecourt and tram stop do not.
    assert a.summary()["crowd"]["lost"] == ["forecourt", "tramstop"]
    assert "mv-pc-north" not in c.failed and "gw-event" not in c.failed

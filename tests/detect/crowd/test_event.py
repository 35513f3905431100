"""Event model: loading, validation messages that name the field, capacity check."""

from __future__ import annotations

from datetime import time
from pathlib import Path
from typing import Any

import pytest

from stadswacht.detect.crowd.event import (
    DEFAULT_DENSITY_PER_M2,
    Gate,
    check_capacity,
    parse_event,
    read_event,
)
from stadswacht.errors import ScenarioError

EVENT_YAML = """\
id: malieveld-concert
name: Concert on the Malieveld
opens: 2026-06-20T18:00:00+02:00
closes: 2026-06-20T23:30:00+02:00
capacity: 60000
zones:
  - id: malieveld
    walkable_area_m2: 50000
    gates:
      - {id: north, width_m: 12, leads_to: koekamp, open: [["18:00", "23:59"]]}
      - {id: south, width_m: 8, kind: stepped}
  - id: koekamp
    walkable_area_m2: 8000
    capacity: 10000
    travel_distance_m: 120
    gates:
      - {id: station, width_m: 8}
"""


def doc(**zone: Any) -> dict[str, Any]:
    z: dict[str, Any] = {"id": "a", "walkable_area_m2": 100, "gates": [{"id": "g", "width_m": 2}]}
    z.update(zone)
    return {"id": "e", "zones": [z]}


def test_read_event_from_yaml(tmp_path: Path) -> None:
    path = tmp_path / "event.yaml"
    path.write_text(EVENT_YAML)
    event, meta = read_event(path)
    assert meta == {"source": str(path)}
    assert event.topological_order() == ("malieveld", "koekamp")
    north = event.zone("malieveld").gates[0]
    assert (north.leads_to, north.kind) == ("koekamp", "level")
    assert event.zone("malieveld").gates[1].kind == "stepped"
    assert north.open == ((time(18), time(23, 59)),)
    assert event.zone("koekamp").travel_distance_m == 120


def test_capacity_per_zone_and_total() -> None:
    event = parse_event(
        {
            "id": "e",
            "capacity": 90_000,
            "zones": [
                {
                    "id": "a",
                    "walkable_area_m2": 50_000,
                    "gates": [{"id": "g1", "width_m": 10, "leads_to": "b"}],
                },
                {
                    "id": "b",
                    "walkable_area_m2": 8_000,
                    "capacity": 10_000,
                    "gates": [
                        {"id": "g2", "width_m": 8},
                        {"id": "g3", "width_m": 5, "kind": "stepped"},
                    ],
                },
            ],
        }
    )
    report = check_capacity(event, {"a": 95_000, "b": 9_000})
    a, b = report.zones
    assert a.capacity == 50_000 * DEFAULT_DENSITY_PER_M2 == 100_000
    assert (a.over, a.density_per_m2) == (False, 1.9)
    assert b.capacity == 10_000  # the override, not 16,000 from the area
    assert report.capacity == 90_000  # capped by the event's licence
    assert report.occupancy == 104_000 and report.over
    # Only gates to the outside count: 8 m level and 5 m stepped for 8 minutes.
    assert report.exit_capacity_8min == 8 * 82 * 8 + 5 * 66 * 8


def test_capacity_over_in_one_zone_and_density_parameter() -> None:
    event = parse_event(doc())
    assert check_capacity(event, {"a": 201}).zones[0].over
    assert not check_capacity(event, {"a": 200}).over
    assert check_capacity(event, density_per_m2=4.0).capacity == 400
    assert check_capacity(event).occupancy is None
    with pytest.raises(ValueError, match="density_per_m2"):
        check_capacity(event, density_per_m2=6.0)
    with pytest.raises(KeyError, match="nowhere"):
        check_capacity(event, {"nowhere": 3})


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"walkable_area_m2": -5}, "zones[0].walkable_area_m2"),
        ({"gates": [{"id": "g", "width_m": 0}]}, "zones[0].gates[0].width_m"),
        ({"gates": [{"id": "g", "width_m": 1, "kind": "ramp"}]}, "zones[0].gates[0].kind"),
        ({"gates": [{"id": "g", "width_m": 1, "leads_to": "b"}]}, "zones[0].gates[0].leads_to"),
        ({"gates": [{"id": "g", "width_m": 1, "open": [[1080, 1410]]}]}, "zones[0].gates[0].open"),
        ({"gates": []}, "zones[0].gates"),
        ({"capacity": "lots"}, "zones[0].capacity"),
        ({"colour": "red"}, "zones[0].colour"),
    ],
)
def test_load_errors_name_the_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(ScenarioError, match=r"event\.yaml, field ") as info:
        parse_event(doc(**change), source="event.yaml")
    assert field in str(info.value)


def test_missing_field_and_network_errors() -> None:
    bad = doc()
    del bad["zones"][0]["walkable_area_m2"]
    with pytest.raises(ScenarioError, match=r"zones\[0\]\.walkable_area_m2: Field required"):
        parse_event(bad)
    circle = {
        "id": "e",
        "zones": [
            {
                "id": "a",
                "walkable_area_m2": 10,
                "gates": [{"id": "g1", "width_m": 1, "leads_to": "b"}],
            },
            {
                "id": "b",
                "walkable_area_m2": 10,
                "gates": [{"id": "g2", "width_m": 1, "leads_to": "a"}],
            },
        ],
    }
    with pytest.raises(ScenarioError, match="circle"):
        parse_event(circle)
    twice = doc(gates=[{"id": "g", "width_m": 1}, {"id": "g", "width_m": 2}])
    with pytest.raises(ScenarioError, match=r"zones\[0\]\.gates\[1\]\.id: gate 'g' appears twice"):
        parse_event(twice)
    with pytest.raises(ScenarioError, match="closes"):
        parse_event({**doc(), "opens": "2026-06-20T18:00:00Z", "closes": "2026-06-20T17:00:00Z"})
    with pytest.raises(ScenarioError, match="mapping"):
        parse_event(["not", "a", "mapping"])  # type: ignore[arg-type]


def test_read_event_reports_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="cannot read"):
        read_event(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("id: [unclosed\n")
    with pytest.raises(ScenarioError, match=r"broken\.yaml"):
        read_event(broken)


def test_gate_opening_windows() -> None:
    always = Gate(id="g", width_m=1)
    evening = Gate.model_validate({"id": "g", "width_m": 1, "open": [["18:00", "23:30"]]})
    night = Gate.model_validate({"id": "g", "width_m": 1, "open": [["22:00", "02:00"]]})
    assert always.is_open(time(3))
    assert evening.is_open(time(20)) and not evening.is_open(time(23, 45))
    assert night.is_open(time(1)) and night.is_open(time(23)) and not night.is_open(time(12))

"""Scenario files: the shipped ones validate; mistakes are reported with file, line and field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from stadswacht.livinglab import ScenarioError, parse_scenario, read_scenario
from stadswacht.livinglab.scenario import parse_duration

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", ["international_zone.yaml", "malieveld_event.yaml"])
def test_shipped_scenarios_load(name: str) -> None:
    sc = read_scenario(ROOT / "scenarios" / name)
    assert sc.sensors and sc.zones and sc.events
    kinds = {e.type for e in sc.events}
    if name == "international_zone.yaml":
        assert sum(s.group == "acoustic" for s in sc.sensors) == 8
        assert {"gunshot", "fireworks", "power_cut", "cyber_attack", "sensor_failure"} <= kinds
    else:
        assert "crowd_surge" in kinds


def test_short_scenario_loads(short_text: str) -> None:
    sc = parse_scenario(short_text, "short.yaml")
    assert sc.duration_s == 3600
    assert sc.sensor("t-pc-01").gate == "north"
    assert sc.events[0].at_s == 1805


def _error(text: str) -> str:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, "bad.yaml")
    return str(info.value)


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_wrong_type_names_line_and_field(short_text: str) -> None:
    text = short_text.replace("seed: 7", "seed: seven")
    msg = _error(text)
    assert f"bad.yaml, line {_line_of(text, 'seed: seven')}, field seed:" in msg
    assert "'seven' is not of type 'integer'" in msg


def test_unknown_field_names_its_line(short_text: str) -> None:
    text = short_text.replace(
        "walkable_area_m2: 5000", "walkable_area_m2: 5000\n      walkable_m2: 5"
    )
    msg = _error(text)
    assert f"line {_line_of(text, 'walkable_m2: 5')}, field area.zones[0].walkable_m2" in msg
    assert "unknown field 'walkable_m2'" in msg


def test_polygon_with_two_points(short_text: str) -> None:
    text = short_text.replace(
        "polygon: [[4.285, 52.088], [4.295, 52.088], [4.295, 52.095], [4.285, 52.095]]",
        "polygon: [[4.285, 52.088], [4.295, 52.088]]",
    )
    msg = _error(text)
    assert f"line {_line_of(text, '[[4.285, 52.088], [4.295, 52.088]]')}" in msg
    assert "field area.zones[0].polygon" in msg
    assert "is too short" in msg


def test_event_outside_the_time_span(short_text: str) -> None:
    text = short_text.replace("at: 30m5s", "at: 2h")
    msg = _error(text)
    assert f"line {_line_of(text, 'at: 2h')}, field events[0].at" in msg
    assert "after the scenario's end" in msg


def test_event_running_past_the_end(short_text: str) -> None:
    text = short_text.replace("at: 40m, duration: 5m", "at: 40m, duration: 50m")
    msg = _error(text)
    assert f"line {_line_of(text, 'duration: 50m')}, field events[2].duration" in msg


def test_unknown_references_and_several_problems(short_text: str) -> None:
    text = short_text.replace(
        "agency: police, zone: plaza, position: [4.2860",
        "agency: nobody, zone: plaza, position: [4.2860",
    )
    text = text.replace("sensor: t-pc-01, mode: silent", "sensor: t-pc-99, mode: silent")
    msg = _error(text)
    assert f"line {_line_of(text, 'agency: nobody')}, field sensors.acoustic[0].agency" in msg
    assert "agency 'nobody' is not in agencies" in msg
    assert f"line {_line_of(text, 't-pc-99')}, field events[1].sensor" in msg
    assert "(2 problems)" in msg


def test_wrong_event_field_and_enum(short_text: str) -> None:
    text = short_text.replace("mode: silent", "mode: broken")
    msg = _error(text)
    assert f"line {_line_of(text, 'mode: broken')}, field events[1].mode" in msg
    assert "'broken' is not one of" in msg


def test_malformed_yaml_names_the_line() -> None:
    msg = _error("name: x\nseed: [1,\n  time: 3\n")
    assert msg.startswith("bad.yaml, line ")
    assert "not valid YAML" in msg


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="cannot read"):
        read_scenario(tmp_path / "nope.yaml")


def test_durations() -> None:
    assert parse_duration("6h") == 21600
    assert parse_duration("1h30m") == 5400
    assert parse_duration(90) == 90
    with pytest.raises(ValueError):
        parse_duration("soon")


def test_start_rule_keeps_the_scenario_in_the_past(short_text: str) -> None:
    now = datetime(2026, 11, 25, 22, 8, tzinfo=UTC)
    sc = parse_scenario(short_text.replace('  start: "2026-11-25T00:00:00Z"\n', ""))
    assert sc.start_time(now) == now - timedelta(hours=1)
    night = parse_scenario(short_text.replace('"2026-11-25T00:00:00Z"', '"23:30"'))
    start = night.start_time(now)  # 23:30 local (22:30 UTC) would end after now: the day before
    assert start == datetime(2026, 11, 24, 22, 30, tzinfo=UTC)
    assert start + timedelta(hours=1) <= now


def test_duplicate_ids(short_text: str) -> None:
    text = short_text.replace("id: quiet", "id: shot")
    msg = _error(text)
    assert f"line {_line_of(text, 'id: shot, at: 10m')}, field events[1].id" in msg
    assert "event id 'shot' is used twice" in msg

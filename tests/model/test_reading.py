"""Readings and their kinds: times, precision and value rules."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from stadswacht.model import Area, Position, Reading
from stadswacht.model.reading import format_time, parse_time, parse_time_ns


def test_time_keeps_nanoseconds_and_needs_an_offset() -> None:
    assert parse_time_ns("2026-11-25T02:13:07.123456789Z") % 1_000_000_000 == 123_456_789
    assert parse_time_ns("2026-11-25T03:13:07.5+01:00") == parse_time_ns("2026-11-25T02:13:07.5Z")
    with pytest.raises(ValueError, match="UTC offset"):
        parse_time_ns("2026-11-25T02:13:07.123456")
    with pytest.raises(ValueError, match="fractional"):
        parse_time_ns("2026-11-25T02:13:07.1234567891Z")
    assert format_time(parse_time("2026-11-25T02:13:07.123456Z")) == "2026-11-25T02:13:07.123456Z"


def test_reading_rejects_unknown_kind_and_bad_values_with_the_field() -> None:
    base = {"device": "d1", "seq": 1, "time": "2026-11-25T02:13:07.000001Z"}
    with pytest.raises(ValidationError, match="kind"):
        Reading.model_validate({**base, "kind": "smell", "values": {}})
    with pytest.raises(ValidationError, match="level_cm_nap"):
        Reading.model_validate({**base, "kind": "water_level", "values": {"level_cm_nap": 9999}})
    with pytest.raises(ValidationError, match="device"):
        Reading.model_validate({**base, "device": "a/b", "kind": "heartbeat", "values": {}})


def test_area_contains_and_geojson_closes_the_ring() -> None:
    sq = Area(id="sq", name="Square", polygon=((0, 0), (1, 0), (1, 1), (0, 1), (0, 0)))
    assert len(sq.polygon) == 4
    assert sq.contains(Position(lat=0.5, lon=0.5))
    assert not sq.contains(Position(lat=1.5, lon=0.5))
    ring = sq.to_geojson()["geometry"]["coordinates"][0]
    assert ring[0] == ring[-1] and len(ring) == 5
    with pytest.raises(ValidationError):
        Area(id="bad", name="x", polygon=((0, 0), (1, 1)))

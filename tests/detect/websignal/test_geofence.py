"""Geofencing by coordinates (the smallest area that holds the point) and by a gazetteer of
place names (whole words, case-insensitive, NL and EN, the longest name wins)."""

from __future__ import annotations

from pathlib import Path

import pytest

from stadswacht.detect.websignal.geofence import (
    Gazetteer,
    Geofence,
    parse_gazetteer,
    read_gazetteer,
)
from stadswacht.errors import ConfigurationError
from stadswacht.model import Area, Position

DISTRICT = Area(
    id="district",
    name="District",
    polygon=((4.28, 52.08), (4.33, 52.08), (4.33, 52.10), (4.28, 52.10)),
)
MALIEVELD = Area(
    id="malieveld",
    name="Malieveld",
    polygon=((4.310, 52.083), (4.318, 52.083), (4.318, 52.088), (4.310, 52.088)),
)
TRAM = Area(id="tramstop", name="Tramhalte", polygon=((4.0, 52.0), (4.01, 52.0), (4.0, 52.01)))
GAZ = Gazetteer({"malieveld": ("Malieveld",), "tramstop": ("Tramhalte Malieveld",),
                 "district": ("Den Haag Centrum", "The Hague centre")})  # fmt: skip


def test_a_point_goes_to_the_smallest_area_that_holds_it() -> None:
    fence = Geofence([DISTRICT, MALIEVELD], GAZ)
    assert fence.locate(Position(lon=4.314, lat=52.085)) == ("malieveld", "position")
    assert fence.locate(Position(lon=4.29, lat=52.09)) == ("district", "position")
    assert fence.locate(Position(lon=5.0, lat=52.5)) is None


def test_names_match_whole_words_case_insensitively_longest_first() -> None:
    fence = Geofence([DISTRICT, MALIEVELD, TRAM], GAZ)
    assert fence.locate(None, None, "Rook boven het MALIEVELD!") == ("malieveld", "text")
    assert fence.locate(None, None, "#malieveld drukte") == ("malieveld", "text")
    assert fence.locate(None, None, "Malieveldweg afgesloten") is None
    assert fence.locate(None, None, "Gedrang bij de tramhalte   malieveld") == ("tramstop", "text")
    assert fence.locate(None, None, "Smoke in the Hague Centre") == ("district", "text")
    assert fence.locate(None, "Malieveld", "no name here") == ("malieveld", "place")


def test_coordinates_outside_every_area_fall_back_to_the_place_name() -> None:
    fence = Geofence([MALIEVELD], GAZ)
    assert fence.locate(Position(lon=5.0, lat=52.5), None, "bij het Malieveld") == (
        "malieveld",
        "text",
    )


def test_a_name_of_an_area_the_platform_does_not_have_is_ignored() -> None:
    assert Geofence([DISTRICT], GAZ).locate(None, None, "Malieveld") is None


def test_the_packaged_gazetteer_reads_and_a_bad_one_says_where(tmp_path: Path) -> None:
    gaz, meta = read_gazetteer()
    assert gaz.match("Brand bij het Vredespaleis") == "peace-palace"
    assert meta["source"].endswith("gazetteer.yaml")
    bad = tmp_path / "g.yaml"
    bad.write_text("areas:\n  malieveld: Malieveld\n")
    with pytest.raises(ConfigurationError, match=r"g.yaml: areas.malieveld must be a list"):
        read_gazetteer(bad)
    with pytest.raises(ConfigurationError, match="expected 'areas:'"):
        parse_gazetteer(["x"])

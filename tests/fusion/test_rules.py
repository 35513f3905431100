"""Correlation rules: the defaults, and rules read from YAML with clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from stadswacht.errors import ConfigurationError
from stadswacht.fusion.rules import DEFAULT_RULES, distance_m, read_rules
from stadswacht.sharing.model import Classification


def test_default_rules_join_shots_crowd_and_posts_within_ten_minutes_and_300_m() -> None:
    (violence,) = [r for r in DEFAULT_RULES.rules if r.name == "violence"]
    assert violence.kinds == {"gunshot", "crowd", "websignal"}
    assert (violence.window_s, violence.radius_m, violence.same_area) == (600, 300, True)
    assert violence.boost == 1
    assert {"fireworks", "impulsive_other"} <= DEFAULT_RULES.ignore
    assert DEFAULT_RULES.max_window_s == 12 * 3600  # hazard warnings: one per hazard and area
    assert DEFAULT_RULES.rank("gunshot") < DEFAULT_RULES.rank("crowd") < DEFAULT_RULES.rank("x")


def test_distance_is_the_great_circle_distance() -> None:
    # One degree along a meridian is 1/360 of the circumference; along a parallel, cos(lat) of it.
    assert distance_m(52.0, 4.0, 53.0, 4.0) == pytest.approx(111_195, abs=1)
    assert distance_m(60.0, 4.0, 60.0, 4.001) == pytest.approx(111.195 / 2, rel=1e-3)
    assert distance_m(52.0, 4.0, 52.0, 4.0) == 0.0


def test_rules_are_read_from_yaml_and_the_rest_keeps_its_defaults(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(
        "ignore: [fireworks]\n"
        "rules:\n"
        "  - name: shots\n"
        "    kinds: [gunshot, websignal]\n"
        "    window_s: 120\n"
        "    radius_m: 150\n"
        "    boost: 2\n"
        "classification: {gunshot: TLP:RED}\n"
    )
    rules = read_rules(path)
    assert [r.name for r in rules.rules] == ["shots"]
    assert rules.rules[0].radius_m == 150 and not rules.rules[0].same_area
    assert rules.ignore == {"fireworks"}
    assert rules.classification == {"gunshot": Classification.RED}
    assert rules.severity == DEFAULT_RULES.severity


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("rules:\n  - {name: r, kinds: [gunshot], window_s: 60}\n", "radius_m, same_area"),
        ("rules:\n  - {name: r, kinds: [gunshot], window_s: -1, radius_m: 5}\n", "window_s"),
        ("rules:\n  - {name: r, kinds: [], window_s: 60, radius_m: 5}\n", "kinds"),
        ("[1, 2]\n", "expected a mapping"),
        ("rules: [\n", "cannot read"),
    ],
)
def test_a_malformed_rule_file_says_what_is_wrong(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(text)
    with pytest.raises(ConfigurationError, match=problem):
        read_rules(path)


def test_a_missing_rule_file_is_named() -> None:
    with pytest.raises(ConfigurationError, match=r"nope\.yaml"):
        read_rules("nope.yaml")

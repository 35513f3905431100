from __future__ import annotations

import math

import pytest

from stadswacht.detect.crowd import (
    LOS_QUEUING,
    LOS_WALKWAY,
    counter_flow,
    density,
    distancing_max_density,
    level_of_service,
    specific_flow,
)


@pytest.mark.parametrize(
    ("d", "walkway", "queuing"),
    [
        (0.0, "A", "A"),
        (0.30, "A", "A"),  # 3.33 m²/p
        (0.40, "B", "A"),  # 2.5 m²/p
        (0.70, "C", "A"),  # 1.43 m²/p
        (1.00, "D", "B"),  # 1.0 m²/p
        (1.50, "E", "C"),  # 0.67 m²/p
        (2.00, "E", "D"),  # 0.5 m²/p
        (2.50, "F", "D"),  # 0.4 m²/p
        (4.00, "F", "E"),  # 0.25 m²/p
        (6.00, "F", "F"),  # 0.17 m²/p
    ],
)
def test_fruin_levels_of_service(d: float, walkway: str, queuing: str) -> None:
    assert level_of_service(d) == walkway
    assert level_of_service(d, "queuing") == queuing


def test_los_boundaries_are_fruins_space_per_person() -> None:
    # Exactly at a level's least space per person the level still holds.
    for table, kind in ((LOS_WALKWAY, "walkway"), (LOS_QUEUING, "queuing")):
        for level, least in table.items():
            assert level_of_service(1.0 / least, kind) == level  # type: ignore[arg-type]
            assert level_of_service(1.0 / least * 1.01, kind) > level  # type: ignore[arg-type]
    assert LOS_WALKWAY["E"] == 0.46 and LOS_QUEUING["D"] == 0.28


def test_density_and_specific_flow() -> None:
    assert density(250, 100.0) == 2.5
    assert density(-3, 100.0) == 0.0
    assert specific_flow(82 * 3, 3.0, 60.0) == pytest.approx(82.0)  # Green Guide, level
    with pytest.raises(ValueError, match="walkable_area_m2"):
        density(1, 0.0)


def test_counter_flow_flags_only_when_both_directions_are_high() -> None:
    both = counter_flow(400, 120, 2.0, 60.0)
    assert both.flagged and both.minor_share == pytest.approx(120 / 520)
    one_way = counter_flow(400, 10, 2.0, 60.0)  # 5 p/m/min against: people passing
    assert not one_way.flagged
    quiet = counter_flow(10, 10, 2.0, 60.0)  # balanced but light
    assert not quiet.flagged and quiet.minor_share == 0.5
    assert counter_flow(0, 0, 2.0, 60.0).minor_share == 0.0


def test_distancing_density_limits() -> None:
    assert distancing_max_density() == pytest.approx(1 / (math.sqrt(3) / 2 * 2.25))
    assert distancing_max_density() == pytest.approx(0.513, abs=1e-3)
    assert distancing_max_density(1.5, "square") == pytest.approx(0.444, abs=1e-3)
    assert distancing_max_density(1.0, "square") == 1.0

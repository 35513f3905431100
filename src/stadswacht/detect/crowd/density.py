"""Density, level of service, specific flow and counter-flow: the crowd's figures from counts.

Density is persons per square metre of *walkable* area (the zone's ``walkable_area_m2``, not its
polygon). Level of service follows Fruin (1971), *Pedestrian Planning and Design*, in the
metric values of the Highway Capacity Manual (HCM 2000, exhibits 18-3 and 18-4): one scale for
walkways (people walking) and one for queuing areas (people standing). Specific flow is the
flow through a gate per metre of its clear width [persons/m/min], the unit of the Green Guide
(82 persons/m/min on the level) and of Fruin's walkway table.

>>> density(120, 60.0)
2.0
>>> level_of_service(2.0), level_of_service(2.0, "queuing")
('E', 'D')
>>> round(specific_flow(300, 2.5, 60.0), 1)
120.0
>>> round(distancing_max_density(1.5), 3), round(distancing_max_density(1.5, "square"), 3)
(0.513, 0.444)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "LOS_QUEUING",
    "LOS_WALKWAY",
    "CounterFlow",
    "LosKind",
    "counter_flow",
    "density",
    "distancing_max_density",
    "level_of_service",
    "specific_flow",
]

LosKind = Literal["walkway", "queuing"]

LOS_WALKWAY: dict[str, float] = {"A": 3.25, "B": 2.32, "C": 1.39, "D": 0.93, "E": 0.46}
"""Fruin's walkway levels of service: the least space per person [m²/person] of each level.

A >= 3.25 (35 ft²), B >= 2.32 (25 ft²), C >= 1.39 (15 ft²), D >= 0.93 (10 ft²),
E >= 0.46 (5 ft²), F below. In density: A < 0.31, B < 0.43, C < 0.72, D < 1.08, E < 2.17,
F >= 2.17 persons/m². Fruin (1971); HCM 2000 exhibit 18-3.
"""

LOS_QUEUING: dict[str, float] = {"A": 1.21, "B": 0.93, "C": 0.65, "D": 0.28, "E": 0.19}
"""Fruin's queuing (standing) levels of service: the least space per person [m²/person].

A >= 1.21 (13 ft²), B >= 0.93 (10 ft²), C >= 0.65 (7 ft²), D >= 0.28 (3 ft²),
E >= 0.19 (2 ft²), F below. In density: A < 0.83, B < 1.08, C < 1.54, D < 3.57, E < 5.26,
F >= 5.26 persons/m². Fruin (1971); HCM 2000 exhibit 18-4.
"""


def density(occupancy: float, walkable_area_m2: float) -> float:
    """Persons per square metre of walkable area [persons/m²].

    Parameters
    ----------
    occupancy : float
        Persons in the zone; a negative estimate counts as 0.
    walkable_area_m2 : float
        The zone's walkable area [m²], > 0.

    >>> density(30, 100.0)
    0.3
    """
    if not walkable_area_m2 > 0:
        raise ValueError(f"walkable_area_m2 must be positive, got {walkable_area_m2!r}")
    return max(0.0, float(occupancy)) / walkable_area_m2


def level_of_service(density_pm2: float, kind: LosKind = "walkway") -> str:
    """Fruin's level of service, ``"A"`` (free) to ``"F"`` (jammed), for a density.

    Parameters
    ----------
    density_pm2 : float
        Density [persons/m²].
    kind : {"walkway", "queuing"}
        Walkway (:data:`LOS_WALKWAY`) or queuing (:data:`LOS_QUEUING`) scale.

    >>> [level_of_service(d) for d in (0.0, 0.3, 0.5, 1.0, 2.0, 3.0)]
    ['A', 'A', 'C', 'D', 'E', 'F']
    """
    table = LOS_WALKWAY if kind == "walkway" else LOS_QUEUING
    if kind not in ("walkway", "queuing"):
        raise ValueError(f"kind must be 'walkway' or 'queuing', got {kind!r}")
    if density_pm2 <= 0:
        return "A"
    space = 1.0 / density_pm2
    for level, least in table.items():
        if space >= least * (1 - 1e-9):  # 1 / (1 / least) may round below least
            return level
    return "F"


def specific_flow(count: float, width_m: float, interval_s: float) -> float:
    """Flow per metre of gate width [persons/m/min].

    Parameters
    ----------
    count : float
        Persons through the gate over the interval (one direction or both).
    width_m : float
        Clear width of the gate [m].
    interval_s : float
        Length of the interval [s].

    >>> specific_flow(82, 1.0, 60.0)
    82.0
    """
    if not width_m > 0 or not interval_s > 0:
        raise ValueError(
            f"width_m and interval_s must be positive, got {width_m!r}, {interval_s!r}"
        )
    return float(count) / width_m / (interval_s / 60.0)


@dataclass(frozen=True, slots=True)
class CounterFlow:
    """Two-way flow through one gate.

    Attributes
    ----------
    major_pmm, minor_pmm : float
        Specific flow of the stronger and the weaker direction [persons/m/min].
    minor_share : float
        The weaker direction's share of the total, 0 to 0.5 (0 when nobody passed).
    flagged : bool
        Both directions are high: the minor direction reaches ``min_minor_pmm`` and
        ``min_minor_share``.
    """

    major_pmm: float
    minor_pmm: float
    minor_share: float
    flagged: bool


def counter_flow(
    count_in: float,
    count_out: float,
    width_m: float,
    interval_s: float,
    *,
    min_minor_pmm: float = 10.0,
    min_minor_share: float = 0.1,
) -> CounterFlow:
    """Counter-flow at a bottleneck: the minor direction's share, flagged when both are high.

    A small reverse flow already costs capacity: Fruin (1971) reports that a minor flow of
    about 10 % cuts a walkway's capacity by about 14 % (also in the HCM), and at a narrow gate
    opposing streams block each other (Love Parade 2010, Itaewon 2022: people pushing both
    ways in one passage). So the flag needs a minor share of at least ``min_minor_share``
    (default 10 %) *and* a minor specific flow of at least ``min_minor_pmm`` (default 10
    persons/m/min, Fruin's walkway level B), so that two people passing each other in a
    quiet gate are not flagged.

    >>> cf = counter_flow(600, 150, 2.0, 60.0)
    >>> cf.major_pmm, cf.minor_pmm, round(cf.minor_share, 2), cf.flagged
    (300.0, 75.0, 0.2, True)
    >>> counter_flow(600, 4, 2.0, 60.0).flagged
    False
    """
    major = specific_flow(max(count_in, count_out), width_m, interval_s)
    minor = specific_flow(min(count_in, count_out), width_m, interval_s)
    total = major + minor
    share = minor / total if total > 0 else 0.0
    return CounterFlow(
        major_pmm=major,
        minor_pmm=minor,
        minor_share=share,
        flagged=share >= min_minor_share and minor >= min_minor_pmm,
    )


def distancing_max_density(
    distance_m: float = 1.5, lattice: Literal["hexagonal", "square"] = "hexagonal"
) -> float:
    """The highest density [persons/m²] at which everyone can keep ``distance_m`` apart.

    Above it the distance is geometrically impossible, however people arrange themselves.
    The densest arrangement with a least distance d is the hexagonal (triangular) lattice, one
    person per sqrt(3)/2 d² (Thue's theorem on circle packing): 0.513 persons/m² at 1.5 m. A
    square grid, closer to how people stand in queues and on marked floors, allows 1/d²:
    0.444 persons/m². Real crowds fall below both; use the square value as a practical limit.

    >>> round(1 / distancing_max_density(1.5), 3)  # m² per person
    1.949
    """
    if not distance_m > 0:
        raise ValueError(f"distance_m must be positive, got {distance_m!r}")
    if lattice == "hexagonal":
        return 1.0 / (math.sqrt(3.0) / 2.0 * distance_m**2)
    if lattice == "square":
        return 1.0 / distance_m**2
    raise ValueError(f"lattice must be 'hexagonal' or 'square', got {lattice!r}")

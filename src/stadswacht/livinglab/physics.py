"""The physical models the simulator uses, one function per model.

``speed_of_sound`` and ``LocalFrame`` live in :mod:`stadswacht.model.geo` (detectors use them
too) and are re-exported here.

>>> round(speed_of_sound(20.0), 2)
343.21
>>> round(spherical_spreading(150.0, 100.0), 1)
110.0
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from stadswacht.model.geo import EARTH_RADIUS_M, LocalFrame, speed_of_sound

__all__ = [
    "EARTH_RADIUS_M",
    "M2_PERIOD_H",
    "S2_PERIOD_H",
    "LocalFrame",
    "astronomical_tide",
    "speed_of_sound",
    "spherical_spreading",
]

M2_PERIOD_H = 12.4206012
"""Period of the principal lunar semi-diurnal tide M2 [h]."""

S2_PERIOD_H = 12.0
"""Period of the principal solar semi-diurnal tide S2 [h]."""


def spherical_spreading(source_db: float, distance_m: float, excess_db_per_m: float = 0.0) -> float:
    """Level [dB SPL] at ``distance_m`` [m] of a point source of ``source_db`` at 1 m.

    L = L0 − 20·log10(r / 1 m) − α·r, with α [dB/m] an optional excess attenuation (air
    absorption, ground, screening by buildings); r below 1 m counts as 1 m.
    """
    r = max(distance_m, 1.0)
    return source_db - 20.0 * math.log10(r) - excess_db_per_m * r


def astronomical_tide(
    hours: NDArray[np.floating[Any]],
    mean_cm: float,
    m2_amplitude_cm: float,
    s2_amplitude_cm: float = 0.0,
    phase_h: float = 0.0,
    m2_period_h: float = M2_PERIOD_H,
) -> NDArray[np.float64]:
    """Water level [cm NAP] from the M2 and S2 constituents at ``hours`` [h since the epoch].

    ``phase_h`` is the time of an M2 high water after the epoch [h]; S2 peaks at the same time
    (spring tide) at the epoch. A two-constituent sketch of a harmonic tide prediction, enough
    for a plausible semi-diurnal North Sea coast signal (Scheveningen: M2 ≈ 75 cm).
    """
    m2 = m2_amplitude_cm * np.cos(2 * np.pi * (hours - phase_h) / m2_period_h)
    s2 = s2_amplitude_cm * np.cos(2 * np.pi * (hours - phase_h) / S2_PERIOD_H)
    return np.asarray(mean_cm + m2 + s2, dtype=np.float64)

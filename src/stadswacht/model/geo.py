"""Geometry and physics every capability shares: a local metric frame and the speed of sound.

Detectors work in metres east and north of an origin (:class:`LocalFrame`); positions on the
wire are WGS84 ``(lon, lat)``.

>>> round(speed_of_sound(20.0), 2)
343.21
"""

from __future__ import annotations

import math

__all__ = ["EARTH_RADIUS_M", "LocalFrame", "speed_of_sound"]

EARTH_RADIUS_M = 6_371_008.8
"""Mean Earth radius [m] (IUGG)."""


def speed_of_sound(temperature_c: float) -> float:
    """Speed of sound in dry air [m/s] at ``temperature_c`` [°C]: c = 331.3·sqrt(1 + T/273.15).

    The ideal-gas approximation (e.g. ISO 9613-1's reference conditions); humidity adds
    under 0.5 %, ignored here.
    """
    return 331.3 * math.sqrt(1.0 + temperature_c / 273.15)


class LocalFrame:
    """An equirectangular projection around an origin: metres east and north of it.

    Accurate to well under 0.1 % over a few kilometres, which is all a district needs.

    >>> f = LocalFrame(4.29, 52.09)
    >>> x, y = f.to_xy(4.30, 52.09)
    >>> round(x), round(y)
    (683, 0)
    >>> [round(v, 6) for v in f.to_lonlat(x, y)]
    [4.3, 52.09]
    """

    def __init__(self, lon0: float, lat0: float) -> None:
        self.lon0 = lon0
        self.lat0 = lat0
        self._kx = math.radians(1.0) * EARTH_RADIUS_M * math.cos(math.radians(lat0))
        self._ky = math.radians(1.0) * EARTH_RADIUS_M

    def to_xy(self, lon: float, lat: float) -> tuple[float, float]:
        """Metres east and north of the origin."""
        return (lon - self.lon0) * self._kx, (lat - self.lat0) * self._ky

    def to_lonlat(self, x: float, y: float) -> tuple[float, float]:
        """The WGS84 ``(lon, lat)`` of a local point."""
        return self.lon0 + x / self._kx, self.lat0 + y / self._ky

"""A regular or irregular time series of one quantity at one station.

Every hydro/meteo reader (:mod:`stadswacht.detect.hazard.iotools`) returns these, so monitors,
forecasts and skill scores never see a file format.

>>> import numpy as np
>>> s = TimeSeries(np.array([0.0, 3600.0]), np.array([212.0, np.nan]), station="HOEKVHLD",
...                parameter="WATHTE", unit="cm")
>>> len(s), s.valid().values.tolist()
(2, [212.0])
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["TimeSeries"]


@dataclass(frozen=True)
class TimeSeries:
    """Values of one parameter at one station.

    Args:
        times: observation times [s since the Unix epoch, UTC], strictly increasing, float64.
        values: the values in ``unit``; ``NaN`` where the source marks a value missing.
        station: the station's code in its source (``HOEKVHLD``, ``260``).
        parameter: the source's parameter code (``WATHTE``, ``RH``, ``waterlevel``).
        unit: the unit of ``values`` (``cm``, ``mm``, ``m``, ``degC``).
        datum: the vertical reference of a level (``NAP``, ``MSL``), else empty.
        kind: ``observed`` or ``forecast`` (a forecast series may carry ``issued_s``).
        attrs: anything else the source says (location, analysis method, flags).
    """

    times: npt.NDArray[np.float64]
    values: npt.NDArray[np.float64]
    station: str
    parameter: str
    unit: str
    datum: str = ""
    kind: str = "observed"
    attrs: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.times.shape != self.values.shape or self.times.ndim != 1:
            raise ValueError(
                f"times {self.times.shape} and values {self.values.shape} must be 1-D and equal"
            )
        if len(self.times) > 1 and not bool(np.all(np.diff(self.times) > 0)):
            raise ValueError("times must be strictly increasing")

    def __len__(self) -> int:
        return int(self.times.shape[0])

    def valid(self) -> TimeSeries:
        """The same series without its missing values."""
        keep = ~np.isnan(self.values)
        return replace(self, times=self.times[keep], values=self.values[keep])

    def between(self, start_s: float, end_s: float) -> TimeSeries:
        """The part with ``start_s <= time < end_s`` [s since the Unix epoch]."""
        keep = (self.times >= start_s) & (self.times < end_s)
        return replace(self, times=self.times[keep], values=self.values[keep])

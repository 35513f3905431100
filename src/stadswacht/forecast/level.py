"""A gauge's water-level forecast for the live warning: astronomical tide plus forecast surge.

The level at a tidal gauge is the astronomical tide (known years ahead from harmonic analysis:
:mod:`stadswacht.forecast.water`, or the tide table of the gauge's owner) plus the surge (what
wind and pressure add). :class:`TideSurgeForecaster` takes each gauge's tide as a function of
time, measures the surge now as the mean of ``observed - tide`` over the last ``surge_window_s``
(never using an observation after the issue time), and adds a surge forecast per lead time:

- by default the surge persisted, with an 80 % band that widens with the lead time
  (``band_cm + growth_cm_per_sqrt_h * sqrt(lead [h])``) — the baseline of issue #6;
- or any ``surge_model(times, surges, now_s, leads_s) -> (surge, low, high)``, such as the
  regression fitted on Hoek van Holland in :mod:`stadswacht.forecast.water`.

>>> import numpy as np
>>> f = TideSurgeForecaster({"wg": lambda t: 100.0 * np.cos(2 * np.pi * t / 44712.0)},
...                         step_s=3600.0)
>>> times = [600.0 * k for k in range(7)]
>>> values = [100.0 * np.cos(2 * np.pi * t / 44712.0) + 30.0 for t in times]
>>> [round(p[1]) for p in f("wg", times, values, 3600.0, 3 * 3600.0)]  # tide + 30 cm
[83, 35, -14]
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["SurgeModel", "TideSurgeForecaster"]

Tide = Callable[[npt.NDArray[np.float64]], npt.NDArray[np.float64]]
"""Astronomical tide [cm] at times [s since the Unix epoch]."""

SurgeModel = Callable[
    [npt.NDArray[np.float64], npt.NDArray[np.float64], float, npt.NDArray[np.float64]],
    tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]],
]
"""``(times [s], surges [cm], now [s], leads [s]) -> (surge, low, high)`` at each lead [cm]."""


@dataclass
class TideSurgeForecaster:
    """Level forecast ``(time_s, level, low, high)`` [cm] at each step up to the lead time.

    Args:
        tides: per gauge (device id), its astronomical tide.
        surge_model: the surge forecast; ``None``: the surge persisted.
        step_s: spacing of the forecast points [s].
        surge_window_s: observations averaged for the surge now [s].
        band_cm: half-width of the 80 % band at lead 0 [cm] (persistence only).
        growth_cm_per_sqrt_h: its growth with the square root of the lead [cm/√h]
            (persistence only).
    """

    tides: Mapping[str, Tide]
    surge_model: SurgeModel | None = None
    step_s: float = 600.0
    surge_window_s: float = 600.0
    band_cm: float = 8.0
    growth_cm_per_sqrt_h: float = 12.0

    def __call__(
        self,
        device: str,
        times: Sequence[float],
        values: Sequence[float],
        now_s: float,
        lead_s: float,
    ) -> list[tuple[float, float, float, float]]:
        tide = self.tides.get(device)
        if tide is None or not times:
            return []
        t = np.asarray(times, dtype=np.float64)
        v = np.asarray(values, dtype=np.float64)
        past = (t <= now_s) & np.isfinite(v)
        t, v = t[past], v[past]
        if t.size == 0 or now_s - t[-1] > self.surge_window_s:
            return []  # no recent observation: no honest surge estimate
        surges = v - tide(t)
        steps = math.floor(lead_s / self.step_s)
        if steps < 1:
            return []
        leads = self.step_s * np.arange(1, steps + 1, dtype=np.float64)
        future = now_s + leads
        if self.surge_model is not None:
            surge, low, high = self.surge_model(t, surges, now_s, leads)
        else:
            recent = t >= now_s - self.surge_window_s
            surge = np.full(leads.shape, float(np.mean(surges[recent])))
            half = self.band_cm + self.growth_cm_per_sqrt_h * np.sqrt(leads / 3600.0)
            low, high = surge - half, surge + half
        level = tide(future)
        return [
            (float(ft), float(lv + s), float(lv + lo), float(lv + hi))
            for ft, lv, s, lo, hi in zip(future, level, surge, low, high, strict=True)
        ]

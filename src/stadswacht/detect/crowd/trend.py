"""A zone's short-term density forecast from its own recent history: a linear trend.

The live warning needs a forecast minutes to half an hour ahead from data the platform has
right now: a zone's density every minute. Amsterdam's crowd monitoring does this with a linear
forecast; so does this: an ordinary least-squares line through the last ``window_s`` of density,
extrapolated to each horizon, with an 80 % prediction interval from the residual scatter
(t-free normal quantile 1.2816, widened by the usual leverage term for an extrapolated point).
Longer horizons with weekly rhythm come from :mod:`stadswacht.forecast.crowd` (batch).

>>> f = TrendForecast(window_s=600, horizon_s=600, step_s=300, min_points=3)
>>> for k in range(11):
...     f.add(60.0 * k, 1.0 + 0.1 * k)     # +0.1 persons/m² a minute
>>> [(t, round(v, 2)) for t, v, lo, hi in f(600.0)]
[(900.0, 2.5), (1200.0, 3.0)]
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

__all__ = ["TrendForecast"]

Z80 = 1.2815515655446004
"""The standard normal's 90th percentile: half-width of a central 80 % interval in sigmas."""


@dataclass
class TrendForecast:
    """Linear-trend forecast of one zone's density [persons/m²].

    Args:
        window_s: history used for the fit [s].
        horizon_s: furthest forecast [s ahead].
        step_s: spacing of the forecast points [s].
        min_points: fewer points in the window than this: no forecast.
        floor_sigma: smallest residual scatter assumed [persons/m²] (a perfectly straight
            history must not give a zero-width interval).
    """

    window_s: float = 1800.0
    horizon_s: float = 1800.0
    step_s: float = 300.0
    min_points: int = 5
    floor_sigma: float = 0.05
    _points: deque[tuple[float, float]] = field(default_factory=deque, init=False, repr=False)

    def add(self, time_s: float, density: float) -> None:
        """Record the zone's density at ``time_s`` [s]; older points leave the window."""
        if self._points and time_s <= self._points[-1][0]:
            return
        self._points.append((time_s, density))
        while self._points and self._points[0][0] < time_s - self.window_s:
            self._points.popleft()

    def __call__(self, now_s: float) -> list[tuple[float, float, float, float]]:
        """Forecast points ``(time_s, density, low, high)`` after ``now_s``; empty when the
        history is too short. Densities are never negative."""
        pts = [(t, d) for t, d in self._points if t >= now_s - self.window_s and t <= now_s]
        n = len(pts)
        if n < self.min_points:
            return []
        mt = sum(t for t, _ in pts) / n
        md = sum(d for _, d in pts) / n
        sxx = sum((t - mt) ** 2 for t, _ in pts)
        if sxx <= 0:
            return []
        slope = sum((t - mt) * (d - md) for t, d in pts) / sxx
        resid = [d - (md + slope * (t - mt)) for t, d in pts]
        sigma = max(math.sqrt(sum(r * r for r in resid) / max(n - 2, 1)), self.floor_sigma)
        out = []
        k = 1
        while k * self.step_s <= self.horizon_s + 1e-9:
            t = now_s + k * self.step_s
            value = md + slope * (t - mt)
            half = Z80 * sigma * math.sqrt(1 + 1 / n + (t - mt) ** 2 / sxx)
            out.append((t, max(value, 0.0), max(value - half, 0.0), max(value + half, 0.0)))
            k += 1
        return out

"""A zone's density forecast from 5 minutes to 3 hours ahead, with an 80 % band.

Two sources, each used where it is any good:

- the zone's own recent trend (:class:`~stadswacht.detect.crowd.trend.TrendForecast`): a
  straight line through the last minutes of density. It is the live warning's forecast and it is
  returned unchanged up to its horizon (30 min by default);
- the zone's "normal for this time" (:class:`~stadswacht.detect.crowd.baseline.NormalBand`):
  the 10th, 50th and 90th percentile of the zone's density in the same weekday and quarter-hour
  of earlier days. A zone's history enters it one value per completed quarter-hour (the mean of
  its samples), so a band rests on other days, not on the last few minutes.

Beyond the trend's horizon the forecast relaxes from the trend's last point towards the normal
band with an e-folding time ``relax_s`` (30 min): the weight of the trend is
``w = exp(-(h - H) / relax_s)`` at horizon ``h`` past the trend horizon ``H``, and

    value = w · trend + (1 − w) · median,
    low   = w · (trend − half_t(h)) + (1 − w) · p10,
    high  = w · (trend + half_t(h)) + (1 − w) · p90,

where ``half_t(h) = half_t(H) · sqrt(h / H)`` lets the trend's own uncertainty grow like a
random walk. The band is then never narrower than the band one step before (a forecast does not
get surer further ahead). This is a persistence-to-climatology blend, the usual baseline for
short-range forecasts (e.g. Hyndman & Athanasopoulos, *Forecasting: Principles and Practice*,
3rd ed., ch. 5); it is not a model of events: a concert that has never happened at this time
is in neither source.

Without history there is no normal band, and nothing honest to say beyond the trend: the
forecast then stops at the trend's horizon and :attr:`ZoneOutlook.basis` says ``"trend"``.
With history but too few recent points for a trend, it is the normal band alone (``"normal"``).

>>> f = ZoneForecast(trend=TrendForecast(window_s=600, min_points=3))
>>> for k in range(11):
...     f.add(60.0 * k, 1.0)
>>> out = f(600.0)
>>> out.basis, len(out.points), out.points[-1][0] - 600.0
('trend', 6, 1800.0)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from stadswacht.detect.crowd.baseline import NormalBand
from stadswacht.detect.crowd.trend import TrendForecast

__all__ = ["FORECAST_BASES", "ZoneForecast", "ZoneOutlook"]

FORECAST_BASES = ("trend+normal", "trend", "normal", "none")
"""What a zone's forecast rests on: its trend and its normal band, the trend alone (no history:
no point past the trend's horizon), the normal band alone (no recent trend), or nothing."""

HISTORY_KEY = "density"
"""The one series a zone's :class:`NormalBand` holds."""


@dataclass(frozen=True, slots=True)
class ZoneOutlook:
    """A zone's forecast at one moment.

    ``points`` are ``(time_s, density, low, high)`` [s since the epoch, persons/m²], the 80 %
    band; ``basis`` is one of :data:`FORECAST_BASES`; ``history_n`` the number of past
    quarter-hour values the furthest point's normal band rests on (0 without one).
    """

    basis: str
    points: list[tuple[float, float, float, float]]
    history_n: int = 0


@dataclass
class ZoneForecast:
    """Trend for the short horizons, relaxing to the zone's normal band beyond.

    Attributes
    ----------
    trend : TrendForecast
        The zone's live trend (shared with the warning, so both see the same samples).
    horizon_s : float
        Furthest forecast [s ahead]. Default 10 800 (3 h).
    step_s : float
        Spacing of the points past the trend's horizon [s]. Default 900 (15 min).
    relax_s : float
        E-folding time of the trend's weight past its horizon [s]. Default 1800.
    normal : NormalBand
        The zone's history by weekday and quarter-hour (local time).
    """

    trend: TrendForecast = field(default_factory=TrendForecast)
    horizon_s: float = 10_800.0
    step_s: float = 900.0
    relax_s: float = 1800.0
    normal: NormalBand = field(default_factory=lambda: NormalBand(slot_s=900, keep=12))
    _slot: tuple[int, float, int] | None = field(default=None, init=False, repr=False)

    def add(self, time_s: float, density: float) -> None:
        """Record the zone's density at ``time_s`` [s]: into the trend, and into the history
        as the mean of each completed quarter-hour."""
        self.trend.add(time_s, density)
        slot = int(time_s // self.normal.slot_s)
        if self._slot is not None and self._slot[0] != slot:
            start, total, n = self._slot
            self.normal.add(HISTORY_KEY, (start + 0.5) * self.normal.slot_s, total / n)
            self._slot = None
        if self._slot is None:
            self._slot = (slot, 0.0, 0)
        _, total, n = self._slot
        self._slot = (slot, total + density, n + 1)

    def add_history(self, time_s: float, density: float) -> None:
        """Add one past quarter-hour's mean density (e.g. loaded from the store at start-up)."""
        self.normal.add(HISTORY_KEY, time_s, density)

    def __call__(self, now_s: float) -> ZoneOutlook:
        """The forecast after ``now_s``: trend points, then every ``step_s`` to the horizon."""
        short = self.trend(now_s)
        trend_h = self.trend.horizon_s
        points: list[tuple[float, float, float, float]] = list(short)
        history_n = 0
        k = 1
        while k * self.step_s <= self.horizon_s + 1e-9:
            h = k * self.step_s
            k += 1
            if short and h <= trend_h + 1e-9:
                continue  # the trend's own points
            band = self.normal.band(HISTORY_KEY, now_s + h)
            if band is None:
                if short:
                    break  # no history: nothing honest past the trend
                continue
            history_n = band.n
            if not short:
                points.append((now_s + h, band.median, band.low, band.high))
                continue
            t_end, a, a_low, a_high = short[-1]
            h_end = t_end - now_s
            half = 0.5 * (a_high - a_low) * math.sqrt(h / max(h_end, 1.0))
            w = math.exp(-(h - h_end) / self.relax_s)
            value = w * a + (1 - w) * band.median
            low = w * (a - half) + (1 - w) * band.low
            high = w * (a + half) + (1 - w) * band.high
            prev_low, prev_high = points[-1][2] - points[-1][1], points[-1][3] - points[-1][1]
            low = min(low, value + prev_low)  # never narrower than one step before
            high = max(high, value + prev_high)
            points.append((now_s + h, max(value, 0.0), max(low, 0.0), max(high, 0.0)))
        if short:
            basis = "trend+normal" if len(points) > len(short) else "trend"
        else:
            basis = "normal" if points else "none"
        return ZoneOutlook(basis, points, history_n)

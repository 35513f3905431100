"""A "normal for this time" band per sensor, and anomalies against it.

As in Amsterdam's crowd monitoring, what is normal depends on the weekday and the time of day:
a Saturday night on the Leidseplein is not a Tuesday morning. :class:`NormalBand` keeps, per
sensor, the recent values of each (weekday, time-of-day slot) in local time and gives their
10th to 90th percentile. With too few values in a slot it pools the neighbouring slots (across
midnight too), then the same slot on every weekday. It is small on purpose: the live detector's
baseline; :mod:`stadswacht.forecast.crowd` has the forecasting.

>>> from datetime import datetime
>>> from zoneinfo import ZoneInfo
>>> nb = NormalBand(slot_s=3600)
>>> t0 = datetime(2026, 11, 7, 21, 30, tzinfo=ZoneInfo("Europe/Amsterdam")).timestamp()
>>> for week, v in enumerate([100, 110, 120, 90, 105, 95, 115, 100]):
...     nb.add("gate-n", t0 - (week + 1) * 7 * 86400, v)
>>> band = nb.band("gate-n", t0)
>>> band.n, round(band.low), round(band.high)
(8, 94, 116)
>>> nb.anomaly("gate-n", t0, 250.0).direction
'above'
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np

__all__ = ["Anomaly", "Band", "NormalBand"]


@dataclass(frozen=True, slots=True)
class Band:
    """The normal range of a sensor at one time: 10th, 50th and 90th percentile of history."""

    low: float
    median: float
    high: float
    n: int
    """Number of past values it rests on."""


@dataclass(frozen=True, slots=True)
class Anomaly:
    """A value outside its normal band.

    ``score`` is the distance beyond the band in band widths (p90 - p10, at least 1): 0.5
    means half a band width above the 90th (or below the 10th) percentile.
    """

    sensor: str
    time_s: float
    value: float
    band: Band
    direction: str
    """``"above"`` or ``"below"``."""
    score: float


@dataclass(slots=True)
class NormalBand:
    """Per-sensor history binned by weekday and time of day (local time).

    Attributes
    ----------
    slot_s : int
        Width of a time-of-day slot [s]. Default 900 (15 minutes).
    keep : int
        Values kept per slot (the most recent). Default 12 (about a quarter of a year of a
        weekly slot).
    min_n : int
        Fewest values a band may rest on; below it, slots are pooled. Default 4.
    timezone : str
        Local time zone of the daily and weekly rhythm. Default ``Europe/Amsterdam``.
    """

    slot_s: int = 900
    keep: int = 12
    min_n: int = 4
    timezone: str = "Europe/Amsterdam"
    _bins: dict[str, dict[tuple[int, int], deque[float]]] = field(
        default_factory=dict, init=False, repr=False
    )

    def _key(self, time_s: float) -> tuple[int, int]:
        local = datetime.fromtimestamp(time_s, ZoneInfo(self.timezone))
        seconds = local.hour * 3600 + local.minute * 60 + local.second
        return local.weekday(), seconds // self.slot_s

    def add(self, sensor: str, time_s: float, value: float) -> None:
        """Add one past value of ``sensor`` at ``time_s`` [s since the epoch]."""
        bins = self._bins.setdefault(sensor, {})
        q = bins.get(key := self._key(time_s))
        if q is None:
            q = bins[key] = deque(maxlen=self.keep)
        q.append(float(value))

    def band(self, sensor: str, time_s: float) -> Band | None:
        """The normal band of ``sensor`` at ``time_s``, or None without enough history."""
        bins = self._bins.get(sensor)
        if not bins:
            return None
        day, slot = self._key(time_s)
        slots = 86_400 // self.slot_s
        candidates = [
            [(day, slot)],
            [divmod((day * slots + slot + k) % (7 * slots), slots) for k in (-1, 0, 1)],
            [(d, slot) for d in range(7)],
        ]
        for keys in candidates:
            values = [v for k in keys for v in bins.get(k, ())]
            if len(values) >= self.min_n:
                lo, med, hi = np.percentile(values, [10, 50, 90])
                return Band(float(lo), float(med), float(hi), len(values))
        return None

    def anomaly(self, sensor: str, time_s: float, value: float) -> Anomaly | None:
        """``value`` against the band at ``time_s``: an :class:`Anomaly` outside it, else None."""
        band = self.band(sensor, time_s)
        if band is None or band.low <= value <= band.high:
            return None
        width = max(band.high - band.low, 1.0)
        if value > band.high:
            return Anomaly(sensor, time_s, value, band, "above", (value - band.high) / width)
        return Anomaly(sensor, time_s, value, band, "below", (band.low - value) / width)

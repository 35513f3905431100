"""Clocks: a device's clock against the platform's, and acoustic sensors' clocks against the
arrival residuals of many localisations.

A reading carries the device's time; the platform knows when it received it. Their difference
is the device's clock error minus the network latency, and latency is never negative: the
upper envelope of the differences (the largest per bin) tracks the clock error, undisturbed by
slow links or by a buffer flushed after an outage. :class:`ClockWatch` learns a device's normal
envelope and reports a drift (a trend) or a jump (a step) away from it.

For acoustic sensors a clock error of a millisecond already moves a gunshot fix by a third of
a metre; :func:`tdoa_clock_bias` finds a sensor whose arrivals are consistently early or late
over many localisations, long before its reading times would show it.

>>> w = ClockWatch()
>>> found = None
>>> for k in range(200):
...     at = 60.0 * k
...     drift = 0.0 if k < 60 else 20.0 * (at - 3600.0) / 3600.0   # 20 s/h from 1 h on
...     found = found or w.add(at + drift, at)
>>> found.kind, 10 < found.rate_s_per_h < 30, abs(found.onset_s - 3600.0) < 900
('clock_drift', True, True)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from stadswacht.detect.tdoa import locate_tdoa

__all__ = [
    "ClockFault",
    "ClockWatch",
    "SensorBias",
    "leave_one_out_residuals",
    "tdoa_clock_bias",
]


@dataclass(frozen=True, slots=True)
class ClockFault:
    """A device clock gone wrong: ``kind`` is ``clock_drift`` or ``clock_jump``; ``offset_s``
    the error now [s] (positive: the device runs ahead), ``rate_s_per_h`` the drift [s/h],
    ``onset_s`` when it began (estimated) [s since the Unix epoch]."""

    kind: str
    offset_s: float
    rate_s_per_h: float
    onset_s: float


@dataclass
class ClockWatch:
    """A device's clock error from its reading times and their receive times.

    Args:
        bin_s: width of the envelope bins, by receive time [s].
        learn_bins: bins that make the normal envelope.
        threshold_s: an error beyond this (and beyond ``mad_factor`` scaled MADs of the
            normal envelope) is a fault [s]; NTP keeps a clock within milliseconds.
        confirm_bins: consecutive bins beyond the threshold before it is reported.
    """

    bin_s: float = 300.0
    learn_bins: int = 6
    threshold_s: float = 5.0
    mad_factor: float = 8.0
    confirm_bins: int = 2
    window_bins: int = 12
    _bin: int | None = None
    _bin_max: float = -math.inf
    _normal: list[float] = field(default_factory=list)
    _recent: list[tuple[float, float]] = field(default_factory=list)
    _baseline: tuple[float, float] | None = None

    def add(self, time_s: float, at_s: float) -> ClockFault | None:
        """A reading stamped ``time_s`` by the device and received at ``at_s`` [s]; return a
        fault when one is confirmed with this reading, else None."""
        b = math.floor(at_s / self.bin_s)
        offset = time_s - at_s
        if self._bin is None or b == self._bin:
            self._bin = b
            self._bin_max = max(self._bin_max, offset)
            return self._judge(at_s, partial=True)
        self._close(self._bin)
        self._bin, self._bin_max = b, offset
        return self._judge(at_s, partial=True)

    def _close(self, b: int) -> None:
        mid = (b + 0.5) * self.bin_s
        if len(self._normal) < self.learn_bins:
            self._normal.append(self._bin_max)
            return
        self._recent.append((mid, self._bin_max))
        del self._recent[: -self.window_bins]

    def baseline(self) -> tuple[float, float] | None:
        """The normal envelope: (median [s], tolerance [s]); None while learning."""
        if len(self._normal) < self.learn_bins:
            return None
        if self._baseline is not None:
            return self._baseline
        normal = np.asarray(self._normal)
        median = float(np.median(normal))
        mad = float(np.median(np.abs(normal - median))) * 1.4826
        self._baseline = (median, max(self.threshold_s, self.mad_factor * mad))
        return self._baseline

    def _judge(self, at_s: float, *, partial: bool) -> ClockFault | None:
        base = self.baseline()
        if base is None:
            return None
        median, tol = base
        points = list(self._recent)
        if partial and self._bin is not None:
            points.append(((self._bin + 0.5) * self.bin_s, self._bin_max))
        tail = points[-self.confirm_bins :]
        if len(tail) < self.confirm_bins:
            return None
        devs = [v - median for _, v in tail]
        if not (all(d > tol for d in devs) or all(d < -tol for d in devs)):
            return None
        offset = devs[-1]
        xs = np.asarray([t for t, _ in points])
        ys = np.asarray([v - median for _, v in points])
        kind, onset, rate = _change_point(xs, ys)
        return ClockFault(kind, offset, rate * 3600.0, min(onset, at_s))


def _change_point(xs: np.ndarray, ys: np.ndarray) -> tuple[str, float, float]:
    """The best of a hinge (zero, then a linear drift from an onset) and a step (zero, then a
    constant offset) through the bin envelope: ``(kind, onset [s], drift [s/s])``."""
    best: tuple[float, str, float, float] | None = None
    for j in range(len(xs)):
        after = xs > xs[j]
        before_ss = float(np.sum(ys[~after] ** 2))
        if not after.any():
            continue
        d = xs[after] - xs[j]
        slope = float(np.dot(d, ys[after]) / np.dot(d, d))
        ss_drift = before_ss + float(np.sum((ys[after] - slope * d) ** 2))
        level = float(np.mean(ys[after]))
        ss_step = before_ss + float(np.sum((ys[after] - level) ** 2))
        for ss, kind, onset, rate in (
            (ss_drift, "clock_drift", float(xs[j]), slope),
            (ss_step, "clock_jump", float(xs[j]), 0.0),
        ):
            if best is None or ss < best[0]:
                best = (ss, kind, onset, rate)
    if best is None:
        return "clock_jump", float(xs[-1]), 0.0
    # A drift needs at least three bins after its onset to be told from a step.
    if best[1] == "clock_drift" and int(np.sum(xs > best[2])) < 3:
        return "clock_jump", best[2], 0.0
    return best[1], best[2], best[3]


@dataclass(frozen=True, slots=True)
class SensorBias:
    """An acoustic sensor whose arrivals are consistently off: median residual ``bias_s``
    [s] over ``n`` localisations (positive: late), ``z`` its significance, ``trend_s_per_h``
    the residual's drift [s/h] (None without a time for each localisation)."""

    sensor: str
    bias_s: float
    n: int
    z: float
    trend_s_per_h: float | None


def tdoa_clock_bias(
    localisations: Iterable[Mapping[str, float]],
    *,
    times_s: Iterable[float] | None = None,
    sigma_s: float = 1e-4,
    min_localisations: int = 5,
    min_bias_s: float = 1e-3,
    z_threshold: float = 5.0,
    dominance: float = 1.4,
) -> list[SensorBias]:
    """Acoustic sensors whose clocks are off, from the arrival residuals of many fixes.

    Each localisation gives, per sensor it used, the arrival minus the predicted arrival [s]
    (:attr:`stadswacht.detect.tdoa.TdoaFix.residuals_s`). A good clock's residuals scatter
    around zero with the timing noise; a drifting or jumped clock's sit on one side. A sensor is
    reported when its median residual exceeds ``min_bias_s`` and is ``z_threshold`` standard
    errors from zero (robust: the scaled MAD, at least ``sigma_s``), over at least
    ``min_localisations`` fixes.

    A least-squares fit spreads one sensor's error over the others (the others' residuals
    shift by up to half of it, consistently for sources in one part of the array), so only the
    sensor whose bias is ``dominance`` times larger than any other's is reported: one at a
    time. Once it is quarantined (left out of the fixes), the next one, if any, surfaces.
    Residuals of the sensor left out of the fix (:func:`leave_one_out_residuals`) separate the
    culprit better than the fit's own residuals.

    >>> fixes = [{"a": 0.0001, "b": -0.0001, "c": 0.004} for _ in range(8)]
    >>> [(b.sensor, round(b.bias_s, 4)) for b in tdoa_clock_bias(fixes)]
    [('c', 0.004)]
    """
    per: dict[str, list[tuple[float, float]]] = {}
    stamps = list(times_s) if times_s is not None else None
    for i, fix in enumerate(localisations):
        t = stamps[i] if stamps is not None and i < len(stamps) else math.nan
        for sensor, value in fix.items():
            if math.isfinite(value):
                per.setdefault(sensor, []).append((t, float(value)))
    out: list[SensorBias] = []
    for sensor, rows in per.items():
        if len(rows) < min_localisations:
            continue
        res = np.asarray([v for _, v in rows])
        median = float(np.median(res))
        spread = max(float(np.median(np.abs(res - median))) * 1.4826, sigma_s)
        z = abs(median) / (1.2533 * spread / math.sqrt(len(res)))
        if abs(median) < min_bias_s or z < z_threshold:
            continue
        ts = np.asarray([t for t, _ in rows])
        trend = None
        if np.all(np.isfinite(ts)) and np.ptp(ts) > 0:
            trend = float(stats.theilslopes(res, ts).slope) * 3600.0
        out.append(SensorBias(sensor, median, len(res), z, trend))
    medians = sorted((abs(float(np.median([v for _, v in rows]))) for rows in per.values()),
                     reverse=True)  # fmt: skip
    out.sort(key=lambda b: -abs(b.bias_s))
    if not out or (len(medians) > 1 and abs(out[0].bias_s) < dominance * medians[1]):
        return []
    return out[:1]


def leave_one_out_residuals(
    sensors: Sequence[str], positions: ArrayLike, arrivals: ArrayLike, speed_of_sound: float
) -> dict[str, float]:
    """Each sensor's arrival minus the arrival predicted by a fix of the *other* sensors [s]
    (needs at least 4 sensors; fewer give an empty result).

    >>> import numpy as np
    >>> xy = np.array([[0, 0], [500, 0], [500, 500], [0, 500], [250, 700.0]])
    >>> t = np.hypot(*(xy - [200, 300]).T) / 340.0
    >>> t[2] += 0.003
    >>> r = leave_one_out_residuals(["a", "b", "c", "d", "e"], xy, t, 340.0)
    >>> max(r, key=lambda k: abs(r[k])), round(r["c"], 4)
    ('c', 0.003)
    """
    xy = np.asarray(positions, dtype=float)
    t = np.asarray(arrivals, dtype=float)
    if len(sensors) < 4:
        return {}
    out: dict[str, float] = {}
    for i, sensor in enumerate(sensors):
        keep = [j for j in range(len(sensors)) if j != i]
        fix = locate_tdoa(xy[keep], t[keep], speed_of_sound, sigma_s=1e-4, robust=False)
        predicted = fix.emission_time + float(np.hypot(*(xy[i] - fix.xy))) / speed_of_sound
        out[sensor] = float(t[i] - predicted)
    return out

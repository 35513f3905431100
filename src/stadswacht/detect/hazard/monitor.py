"""One threshold's warning lifecycle: issue, update, escalate, de-escalate, all clear.

A :class:`HazardMonitor` watches one :class:`~stadswacht.detect.hazard.thresholds.Threshold`.
It is fed observations in time order and, for a water level, the forecast issued at that time;
at each evaluation it compares the observed value (or rate, maximum, sum over the window) and
the forecast within the lead time with the levels:

- the warning level is the higher of the level observed and the level forecast;
- a higher level escalates at once (no waiting: the point of a warning is time);
- a lower level (or none) is reached only when the observed value has fallen ``hysteresis``
  below the current level *and* the forecast no longer reaches it, so a warning does not flap
  on noise and is not lifted between two forecast high waters;
- at the same level, a changed outlook (the forecast peak moved by more than twice the
  hysteresis, or observed now what was forecast) is an update, at most one per
  ``update_interval_s``.

Each change is a :class:`HazardWarning`: one id per episode (issue to all clear) and a rising
version, as Delft-FEWS and CAP's Alert/Update/Cancel both expect.

>>> from stadswacht.detect.hazard.thresholds import Threshold
>>> t = Threshold(id="wg", device="wg-1", quantity="water_level.level_cm_nap",
...               hazard="flood", levels={"yellow": 220, "orange": 280}, hysteresis=5)
>>> m = HazardMonitor(t)
>>> [w.change for x, v in enumerate([200, 225, 230, 290, 270, 212])
...  for w in m.observe(3600.0 * x, v)]
['issue', 'escalate', 'deescalate', 'allclear']
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from stadswacht.detect.hazard.thresholds import Threshold

__all__ = ["ForecastPoint", "HazardMonitor", "HazardWarning"]

Change = Literal["issue", "update", "escalate", "deescalate", "allclear"]

ForecastPoint = tuple[float, float, float, float]
"""``(time_s, value, low, high)``: a forecast value with its 80 % interval."""

_Z80 = 1.2815515655446004


@dataclass(frozen=True)
class HazardWarning:
    """A change in one threshold's warning.

    Args:
        id: the episode's id (``<threshold>-<first issue time>``), the same from issue to all
            clear.
        version: 1 at issue, one more at each change.
        change: ``issue``, ``update``, ``escalate``, ``deescalate`` or ``allclear``.
        level: index into the threshold's levels; -1 at all clear.
        basis: ``observed`` (the level is reached now) or ``forecast`` (it will be).
        time_s: when the change was decided [s since the Unix epoch].
        value: the observed value, rate, maximum or sum now [the threshold's unit].
        onset_s: when the level was or is forecast to be reached [s].
        peak: the highest value observed in the episode or forecast in the lead time.
        peak_s: when that peak is or was [s].
        probability: chance that the level is reached (1 when observed; from the forecast's
            interval otherwise).
        issued_s: when the episode began [s].
        reached: per level name, when the episode first warned at that level or above [s]
            (the lead time of a warning is the level's crossing minus this).
    """

    id: str
    threshold: Threshold
    version: int
    change: Change
    level: int
    basis: Literal["observed", "forecast"]
    time_s: float
    value: float
    onset_s: float | None
    peak: float
    peak_s: float
    probability: float
    issued_s: float
    reached: dict[str, float] = field(default_factory=dict)

    @property
    def level_name(self) -> str | None:
        """The level's name, ``None`` at all clear."""
        return self.threshold.levels[self.level].name if self.level >= 0 else None


@dataclass
class HazardMonitor:
    """The warning state of one threshold, fed in time order."""

    threshold: Threshold
    _obs: deque[tuple[float, float]] = field(default_factory=deque, init=False, repr=False)
    _level: int = field(default=-1, init=False)
    _basis: str = field(default="observed", init=False)
    _episode: str | None = field(default=None, init=False)
    _issued_s: float = field(default=0.0, init=False)
    _version: int = field(default=0, init=False)
    _last_change_s: float = field(default=-math.inf, init=False)
    _peak: float = field(default=-math.inf, init=False)
    _peak_s: float = field(default=0.0, init=False)
    _episode_peak: tuple[float, float] = field(default=(-math.inf, 0.0), init=False)
    _reached: dict[str, float] = field(default_factory=dict, init=False)

    @property
    def level(self) -> int:
        """The current level index; -1 when no warning is active."""
        return self._level

    @property
    def active(self) -> bool:
        """Whether a warning is in force."""
        return self._level >= 0

    def observe(
        self, time_s: float, value: float, forecast: Sequence[ForecastPoint] = ()
    ) -> list[HazardWarning]:
        """Record an observation at ``time_s`` [s] and re-evaluate with the forecast issued
        then (points after ``time_s``); return the changes (none, or one).

        Observations out of order or not finite are ignored (the ingest has checked them; a
        gauge's value that goes back in time must not move a warning).
        """
        if not math.isfinite(value) or (self._obs and time_s <= self._obs[-1][0]):
            return []
        self._obs.append((time_s, value))
        keep = self.threshold.window_s + 3600.0
        while self._obs and self._obs[0][0] < time_s - keep:
            self._obs.popleft()
        return self._evaluate(time_s, forecast)

    def metric(self, now_s: float) -> float:
        """The value the levels are compared with now: the value, or the rate [unit/h],
        maximum or sum over the window."""
        t = self.threshold
        pts = [(ts, v) for ts, v in self._obs if ts > now_s - t.window_s and ts <= now_s]
        if not pts:
            return math.nan
        if t.kind == "level":
            return pts[-1][1]
        if t.kind == "maximum":
            return max(v for _, v in pts)
        if t.kind == "sum":
            return math.fsum(v for _, v in pts)
        # rate: least-squares slope over the window, per hour
        if len(pts) < 3:
            return math.nan
        n = len(pts)
        mt = sum(ts for ts, _ in pts) / n
        mv = sum(v for _, v in pts) / n
        sxx = sum((ts - mt) ** 2 for ts, _ in pts)
        if sxx <= 0:
            return math.nan
        return 3600.0 * sum((ts - mt) * (v - mv) for ts, v in pts) / sxx

    # --- internals ---------------------------------------------------------------------------
    def _forecast_level(
        self, now_s: float, forecast: Sequence[ForecastPoint]
    ) -> tuple[int, float | None, float, float, float]:
        """Highest level the forecast reaches within the lead time: (index, onset, peak,
        peak time, probability of reaching it)."""
        t = self.threshold
        pts = [p for p in forecast if now_s < p[0] <= now_s + t.lead_time_s]
        if not pts or t.kind != "level":
            return -1, None, -math.inf, now_s, 0.0
        peak = max(pts, key=lambda p: p[1])
        index = t.level_index(peak[1])
        if index < 0:
            return -1, None, peak[1], peak[0], 0.0
        level = t.levels[index].value
        onset = next(p[0] for p in pts if p[1] >= level)
        sigma = max((peak[3] - peak[2]) / (2 * _Z80), 1e-9)
        probability = 0.5 * math.erfc((level - peak[1]) / (sigma * math.sqrt(2)))
        return index, onset, peak[1], peak[0], probability

    def _evaluate(self, now_s: float, forecast: Sequence[ForecastPoint]) -> list[HazardWarning]:
        t = self.threshold
        value = self.metric(now_s)
        if math.isnan(value):
            return []
        observed = t.level_index(value)
        f_index, f_onset, f_peak, f_peak_s, f_prob = self._forecast_level(now_s, forecast)
        target = max(observed, f_index)
        basis: Literal["observed", "forecast"] = "observed" if observed >= target else "forecast"
        if self._level >= 0 and value > self._episode_peak[0]:
            self._episode_peak = (value, now_s)

        change: Change | None = None
        if target > self._level:
            change = "issue" if self._level < 0 else "escalate"
        elif target < self._level:
            current = t.levels[self._level].value
            if value < current - t.hysteresis and f_index < self._level:
                change = "allclear" if target < 0 else "deescalate"
            else:
                target = self._level  # held by hysteresis
                basis = "observed" if observed >= self._level else "forecast"
        elif self._level >= 0:
            moved = (
                basis == "forecast"
                and self._basis == "forecast"
                and abs(f_peak - self._peak) > max(2 * t.hysteresis, 1e-9)
            )
            if (basis != self._basis or moved) and (
                now_s - self._last_change_s >= t.update_interval_s
            ):
                change = "update"
        if change is None:
            return []

        if change == "issue":
            self._episode = f"{t.id}-{int(now_s)}"
            self._issued_s = now_s
            self._version = 0
            self._episode_peak = (value, now_s)
            self._reached = {}
        for lv in t.levels[: target + 1]:
            self._reached.setdefault(lv.name, now_s)
        self._version += 1
        self._level = target
        self._basis = basis
        self._last_change_s = now_s
        if basis == "forecast":
            self._peak, self._peak_s = f_peak, f_peak_s
            onset, probability = f_onset, f_prob
        else:
            self._peak, self._peak_s = self._episode_peak
            onset, probability = (now_s if change in ("issue", "escalate") else None), 1.0
        warning = HazardWarning(
            id=self._episode or f"{t.id}-{int(now_s)}",
            threshold=t,
            version=self._version,
            change=change,
            level=target,
            basis=basis,
            time_s=now_s,
            value=value,
            onset_s=onset,
            peak=self._peak,
            peak_s=self._peak_s,
            probability=round(min(max(probability, 0.0), 1.0), 4),
            issued_s=self._issued_s,
            reached=dict(self._reached),
        )
        if change == "allclear":
            self._episode = None
            self._peak = -math.inf
        return [warning]

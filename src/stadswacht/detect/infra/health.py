"""Per-device health checks on the readings of one device: its rhythm (silence), values
frozen at one value (stuck), values outside physical range, impossible rates of change or of
messages, and repeated value patterns (replayed).

Each check is a small object fed the device's readings in arrival order; none reads a clock.

>>> r = Rhythm()
>>> for t in range(0, 600, 60):
...     r.heard(float(t))
>>> r.interval_s()
60.0
>>> r.deadline_s()
660.0
"""

from __future__ import annotations

import bisect
import json
import math
from collections import Counter, deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "MAX_RATE",
    "PLAUSIBLE_RANGE",
    "MessageRate",
    "PatternRepeat",
    "Rhythm",
    "StuckRun",
    "out_of_range",
    "rate_of_change",
    "signature",
]

PLAUSIBLE_RANGE: dict[str, dict[str, tuple[float, float]]] = {
    "temperature": {"temperature_c": (-35.0, 45.0)},
    "water_level": {"level_cm_nap": (-400.0, 800.0)},
    "rain": {"rain_per_h_mm": (0.0, 150.0)},
    "wind": {"mean_ms": (0.0, 60.0), "gust_ms": (0.0, 80.0)},
    "power": {"voltage_v": (0.0, 420.0)},
    "people_count": {"line_per_s": (0.0, 50.0)},
    "acoustic_impulse": {"peak_db": (0.0, 194.0)},
    "heartbeat": {},
}
"""Physical bounds per reading kind and derived quantity, tighter than ingest's validation
(which only refuses what cannot be a number of that kind at all): the Dutch records for air
temperature (-27.4 and 40.7 °C) with a margin; water levels from NAP -4 m to +8 m (above the
1953 flood's 455 cm at Hoek van Holland); rain over 150 mm/h; the 194 dB SPL limit of an
undistorted sound wave in air; more than 50 persons/s over one counting line (a 10 m gate at the
Green Guide's 82 persons/m/min passes 14/s)."""

MAX_RATE: dict[str, tuple[str, float]] = {
    "water_level": ("level_cm_nap", 50.0),
    "temperature": ("temperature_c", 5.0),
}
"""Largest plausible change per minute of a kind's value: ``(field, per minute)``. A storm
surge raises the North Sea coast by about 1 m/h (1.7 cm/min); air temperature changes a few
°C in an hour, not 5 °C in a minute."""


def signature(values: Mapping[str, Any]) -> str:
    """The values of a reading as one comparable string (keys sorted).

    >>> signature({"b": 1, "a": 2.5})
    '{"a":2.5,"b":1}'
    """
    return json.dumps(values, sort_keys=True, separators=(",", ":"), default=str)


def _derived(kind: str, values: Mapping[str, Any]) -> dict[str, float]:
    out = {k: float(v) for k, v in values.items() if isinstance(v, int | float)}
    if kind == "rain" and "rain_mm" in values and values.get("interval_s"):
        out["rain_per_h_mm"] = float(values["rain_mm"]) * 3600.0 / float(values["interval_s"])
    if kind == "people_count" and values.get("interval_s"):
        flow = float(values.get("in", 0)) + float(values.get("out", 0))
        out["line_per_s"] = flow / float(values["interval_s"])
    return out


def out_of_range(kind: str, values: Mapping[str, Any]) -> dict[str, float]:
    """The values (or derived quantities) of a reading outside :data:`PLAUSIBLE_RANGE`.

    >>> out_of_range("temperature", {"temperature_c": 61.0})
    {'temperature_c': 61.0}
    >>> out_of_range("temperature", {"temperature_c": 12.0})
    {}
    """
    bounds = PLAUSIBLE_RANGE.get(kind, {})
    derived = _derived(kind, values)
    bad = {k: v for k, (lo, hi) in bounds.items() if (v := derived.get(k)) is not None}
    bad = {k: v for k, v in bad.items() if not bounds[k][0] <= v <= bounds[k][1]}
    if kind == "power" and values.get("on") is True and derived.get("voltage_v", 230.0) < 100.0:
        bad["voltage_v"] = derived["voltage_v"]  # "on" at a voltage no mains supply has
    return bad


def rate_of_change(
    kind: str, before: Mapping[str, Any], after: Mapping[str, Any], dt_s: float
) -> float | None:
    """The change per minute of a kind's rate-limited value between two readings, when it is
    above :data:`MAX_RATE` (else None). ``dt_s`` is clamped to 60 s below: readings sent in a
    burst have no meaningful rate between them.

    >>> rate_of_change("water_level", {"level_cm_nap": 100.0}, {"level_cm_nap": 180.0}, 60.0)
    80.0
    >>> rate_of_change("water_level", {"level_cm_nap": 100.0}, {"level_cm_nap": 101.0}, 60.0)
    """
    if kind not in MAX_RATE:
        return None
    name, limit = MAX_RATE[kind]
    a, b = before.get(name), after.get(name)
    if not isinstance(a, int | float) or not isinstance(b, int | float):
        return None
    per_min = abs(float(b) - float(a)) / max(dt_s, 60.0) * 60.0
    return per_min if per_min > limit else None


@dataclass
class Rhythm:
    """A device's rhythm: the distribution of the times between its messages.

    The interval is a high quantile (``quantile``) of the recent gaps, so event-driven
    messages between heartbeats (an acoustic sensor's impulses) do not shorten it; the device
    is overdue ``factor`` intervals after its last message. Gaps under ``min_gap_s`` (several
    readings of one batch) are not gaps.
    """

    quantile: float = 0.9
    factor: float = 2.0
    min_gaps: int = 4
    min_gap_s: float = 1.0
    last_s: float | None = None
    gaps: deque[float] = field(default_factory=lambda: deque(maxlen=64))
    _interval: float | None = None
    _stale: int = 0

    def heard(self, at_s: float) -> None:
        """A message arrived at ``at_s`` [s]."""
        if self.last_s is not None and at_s - self.last_s >= self.min_gap_s:
            self.gaps.append(at_s - self.last_s)
            self._stale += 1
            if self._stale >= 16 or len(self.gaps) <= 16:
                self._interval = None  # recomputed every 16 gaps once learned: it is slow
        self.last_s = at_s if self.last_s is None else max(self.last_s, at_s)

    def interval_s(self) -> float | None:
        """The device's interval [s], once enough gaps are known."""
        if len(self.gaps) < self.min_gaps:
            return None
        if self._interval is None:
            self._interval = float(np.quantile(np.fromiter(self.gaps, float), self.quantile))
            self._stale = 0
        return self._interval

    def deadline_s(self) -> float | None:
        """When the device is overdue [s]; None while its rhythm is unknown."""
        interval = self.interval_s()
        if interval is None or self.last_s is None:
            return None
        return self.last_s + self.factor * interval


@dataclass
class StuckRun:
    """A run of identical values, judged against the device's own history.

    The history is a Markov chain on value signatures: ``p_stay(v)`` is how often the device
    stayed at ``v`` when it was at ``v`` before this run (Laplace-smoothed). A run of ``n``
    identical values has probability ``p_stay(v)^(n-1)``; below ``10^-log10_alpha`` it is
    stuck. Judged only with ``min_history`` transitions behind it.
    """

    log10_alpha: float = 9.0
    min_history: int = 30
    min_run: int = 5
    value: str | None = None
    run: int = 0
    run_start_s: float = 0.0
    stays: Counter[str] = field(default_factory=Counter)
    froms: Counter[str] = field(default_factory=Counter)
    transitions: int = 0

    def add(self, sig: str, time_s: float) -> None:
        """The next reading's values (as :func:`signature`) at ``time_s`` [s]."""
        if sig == self.value:
            self.run += 1
            return
        if self.value is not None:
            # The finished run joins the history: n-1 stays and one leave.
            self.stays[self.value] += self.run - 1
            self.froms[self.value] += self.run
            self.transitions += self.run
        self.value, self.run, self.run_start_s = sig, 1, time_s

    def log10_p(self) -> float | None:
        """log10 of the current run's probability under the history (None: not judged)."""
        if self.value is None or self.transitions < self.min_history or self.run < self.min_run:
            return None
        p_stay = (self.stays[self.value] + 1) / (self.froms[self.value] + 2)
        return (self.run - 1) * math.log10(p_stay)

    def stuck(self) -> bool:
        """Whether the current run is too improbable to be the device's normal behaviour."""
        lp = self.log10_p()
        return lp is not None and lp < -self.log10_alpha


@dataclass
class MessageRate:
    """More messages stamped within one window than a device of this rhythm can send.

    Counts messages by their *device* time, so a buffer flushed after an outage (old times,
    spread out) is not a burst, but many readings stamped in one minute are.
    """

    window_s: float = 60.0
    min_count: int = 10
    factor: float = 5.0
    keep: int = 4096
    times: list[float] = field(default_factory=list)

    def add(self, time_s: float, interval_s: float | None) -> int | None:
        """Record a message stamped ``time_s``; return the count in its window when it is
        impossible for a device of ``interval_s``, else None."""
        bisect.insort(self.times, time_s)
        if len(self.times) > self.keep:
            del self.times[: self.keep // 2]
        n = bisect.bisect_right(self.times, time_s) - bisect.bisect_left(
            self.times, time_s - self.window_s
        )
        allowed = self.min_count
        if interval_s:
            allowed = max(allowed, math.ceil(self.factor * self.window_s / interval_s))
        return n if n > allowed else None


@dataclass
class PatternRepeat:
    """A sequence of ``k`` values identical to an earlier one, too improbable to repeat.

    A k-gram's information is the sum of -log10 of each value's frequency in the device's
    history; a repeat counts when it exceeds ``min_bits10`` plus twice log10 of the history
    length (about N²/2 pairs of places could have matched by chance over a history of N).
    Runs of one value are the stuck check's business, not this one's.
    """

    k: int = 8
    min_bits10: float = 4.0
    min_history: int = 120
    max_history: int = 2880
    values: list[str] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    seen: dict[int, int] = field(default_factory=dict)
    _base: int = 0

    def add(self, sig: str, time_s: float) -> float | None:
        """Add the next values, stamped ``time_s``; return when the earlier sequence began,
        when the last ``k`` values repeat it improbably, else None.

        Memory is bounded: past ``max_history`` values the older half is forgotten (k-grams
        are kept as hashes)."""
        self.values.append(sig)
        self.times.append(time_s)
        self.counts[sig] += 1
        if len(self.values) > self.max_history:
            keep = self.max_history // 2
            self._base += len(self.values) - keep
            self.values, self.times = self.values[-keep:], self.times[-keep:]
            self.counts = Counter(self.values)
            self.seen = {}
            for i in range(len(self.values) - self.k):  # all but the newest gram
                self.seen.setdefault(hash(tuple(self.values[i : i + self.k])), self._base + i)
        if len(self.values) < self.k:
            return None
        key = hash(tuple(self.values[-self.k :]))
        start = self._base + len(self.values) - self.k
        first = self.seen.get(key)
        if first is None:
            self.seen[key] = start
            return None
        gram = self.values[-self.k :]
        i = first - self._base
        if i < 0 or self.values[i : i + self.k] != gram:  # forgotten, or a hash collision
            self.seen[key] = start
            return None
        if len(set(gram)) < 2 or first + self.k > start:
            return None
        total = sum(self.counts.values())
        if total < self.min_history:
            return None
        bits = sum(-math.log10((self.counts[v] + 1) / (total + 1)) for v in gram)
        return self.times[i] if bits > self.min_bits10 + 2 * math.log10(total) else None

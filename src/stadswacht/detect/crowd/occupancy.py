"""Occupancy of a zone from line counts at its gates and, when there is one, a zone counter.

A line counter at a gate reports how many people crossed it each way over an interval. The
zone's occupancy is the running sum of what came in minus what went out. That sum only
drifts: a counter misses people in a dense crowd, double-counts, or drops out for a while. So

- every gate's counts are added as they come. An interval that is missing (a gap between one
  report's end and the next report's start), and the time since a silent counter's last
  report (:meth:`ZoneOccupancy.estimate`), is filled with the gate's recent net flow (an
  exponentially weighted mean over its last intervals, for at most ``max_impute_s``), and
  widens the uncertainty by the gross flow the gate carries over that time. Without it, a
  dropped exit counter would make the zone fill up on paper while people walk out;
- the estimate never goes below zero (nobody can have left who had not come in);
- an occupancy counter for the zone (a camera count, a head count by stewards) corrects the
  drift: the two are combined as in a scalar Kalman filter, each weighted by its variance
  (a zone count with no line counts since the previous one is taken as it is).

Variances: each counted person adds ``(count_sd * n)²`` of counting error (``count_sd``,
default 3 %, a typical undercount of overhead counters in dense flow); a zone count has a
standard deviation of ``occupancy_sd * occupancy + 1``.

>>> z = ZoneOccupancy()
>>> z.add_line(+1, 40, 10, end_s=60.0, interval_s=60.0, gate="north")
True
>>> z.occupancy
30.0
>>> _ = z.add_line(+1, 0, 50, end_s=180.0, interval_s=60.0, gate="north")  # 60-120 s lost
>>> z.occupancy, z.dropped_s  # 30 + 30 (the gap, at the last net rate) - 50
(10.0, 60.0)
>>> _ = z.add_line(+1, 0, 45, end_s=240.0, interval_s=60.0, gate="north")
>>> z.occupancy  # never below zero
0.0
>>> z.add_occupancy(20, time_s=200.0)
>>> 15 < z.occupancy <= 20
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

__all__ = ["ZoneOccupancy"]


@dataclass(slots=True)
class _Gate:
    last_end_s: float | None = None
    mean_gross_per_s: float = 0.0  # exponentially weighted gross flow, both directions
    mean_net_per_s: float = 0.0  # exponentially weighted net flow into the zone
    last_in: float = 0.0
    last_out: float = 0.0
    last_interval_s: float = 60.0


@dataclass(slots=True)
class ZoneOccupancy:
    """Running occupancy estimate of one zone, with its variance.

    Attributes
    ----------
    count_sd : float
        Relative counting error of a line counter (per person crossing). Default 0.03.
    occupancy_sd : float
        Relative error of a zone occupancy count. Default 0.05.
    gap_tolerance : float
        A report that starts more than this share of its interval after the previous one
        ended leaves a gap. Default 0.5.
    max_impute_s : float
        A gap is filled with the gate's recent net flow for at most this long [s]; beyond,
        nothing is assumed. Default 900.
    """

    count_sd: float = 0.03
    occupancy_sd: float = 0.05
    gap_tolerance: float = 0.5
    max_impute_s: float = 900.0
    occupancy: float = field(default=0.0, init=False)
    """The estimate as of the last report [persons]."""
    variance: float = field(default=0.0, init=False)
    dropped_s: float = field(default=0.0, init=False)
    """Counting time lost to gaps between reports [s]."""
    updated_s: float | None = field(default=None, init=False)
    _gates: dict[str, _Gate] = field(default_factory=dict, init=False, repr=False)
    _lines_since: bool = field(default=False, init=False, repr=False)

    @property
    def sd(self) -> float:
        """Standard deviation of the occupancy estimate [persons]."""
        return math.sqrt(self.variance)

    def add_line(
        self,
        sign: int,
        count_in: float,
        count_out: float,
        *,
        end_s: float,
        interval_s: float,
        gate: str,
    ) -> bool:
        """Add one interval of a line counter; ``sign`` +1 when its "in" is into the zone.

        Returns False (and changes nothing) for a report that ends no later than the last one
        of this gate: a duplicate or a report that came out of order after a newer one.
        """
        g = self._gates.setdefault(gate, _Gate(last_interval_s=interval_s))
        if g.last_end_s is not None and end_s <= g.last_end_s:
            return False
        start = end_s - interval_s
        if g.last_end_s is not None:
            gap = start - g.last_end_s
            if gap > self.gap_tolerance * interval_s:
                # What crossed during the gap is unknown: assume the recent net flow went on
                # (for a while) and own up to the gate's gross flow as a standard deviation.
                self.dropped_s += gap
                self.occupancy += g.mean_net_per_s * min(gap, self.max_impute_s)
                self.variance += (g.mean_gross_per_s * gap) ** 2
        net = (count_in - count_out) * sign
        self.occupancy += net
        self.variance += (self.count_sd * (count_in + count_out)) ** 2
        if self.occupancy < 0:
            self.occupancy = 0.0
        gross = (count_in + count_out) / interval_s
        first = g.last_end_s is None
        g.mean_gross_per_s = gross if first else 0.7 * g.mean_gross_per_s + 0.3 * gross
        g.mean_net_per_s = (
            net / interval_s if first else (0.7 * g.mean_net_per_s + 0.3 * net / interval_s)
        )
        g.last_end_s = end_s
        self._lines_since = True
        g.last_in, g.last_out, g.last_interval_s = count_in, count_out, interval_s
        self.updated_s = end_s if self.updated_s is None else max(self.updated_s, end_s)
        return True

    def add_occupancy(self, count: float, *, time_s: float) -> None:
        """Combine a zone occupancy count with the running estimate (drift correction)."""
        r = (self.occupancy_sd * count + 1.0) ** 2
        if self.updated_s is None or not self._lines_since:
            # Without line counts since the last zone count nothing predicts the change, so
            # the new zone count stands on its own.
            self.occupancy, self.variance = max(0.0, float(count)), r
        else:
            gain = self.variance / (self.variance + r)
            self.occupancy = max(0.0, self.occupancy + gain * (count - self.occupancy))
            self.variance = self.variance * r / (self.variance + r)
        self.updated_s = time_s if self.updated_s is None else max(self.updated_s, time_s)
        self._lines_since = False

    def estimate(self, now_s: float) -> tuple[float, float]:
        """Occupancy and its standard deviation at ``now_s`` [s], with the flow of every gate
        that has been silent for more than its tolerance filled in (see the module
        docstring); the stored estimate is not changed."""
        occ, var = self.occupancy, self.variance
        for g in self._gates.values():
            if g.last_end_s is None:
                continue
            silent = now_s - g.last_end_s
            if silent > (1 + self.gap_tolerance) * g.last_interval_s:
                occ += g.mean_net_per_s * min(silent, self.max_impute_s)
                var += (g.mean_gross_per_s * silent) ** 2
        return max(0.0, occ), math.sqrt(var)

    def silent_gates(self, now_s: float) -> tuple[str, ...]:
        """Gates whose counter has not reported for more than its tolerance at ``now_s``."""
        return tuple(
            k
            for k, g in self._gates.items()
            if g.last_end_s is not None
            and now_s - g.last_end_s > (1 + self.gap_tolerance) * g.last_interval_s
        )

    def gate_counts(self) -> dict[str, tuple[float, float, float]]:
        """Each gate's last interval: ``(in, out, interval_s)`` as the counter reported it."""
        return {k: (g.last_in, g.last_out, g.last_interval_s) for k, g in self._gates.items()}

    def last_report_s(self, gate: str) -> float | None:
        """End of the last interval reported by ``gate`` [s], None if never."""
        g = self._gates.get(gate)
        return None if g is None else g.last_end_s

"""The "normal for this time" band per sensor, and anomalies against it.

The band is the p10, p50 and p90 of a sensor's counts in each weekday x time-of-day slot, as
Amsterdam's crowd monitoring system (CMSA) shows it under the live count. An anomaly score
puts a count on that band: 0 at the median, +1 at p90, -1 at p10, so ``|score| > 1`` is
outside the band that holds 80 % of normal counts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from stadswacht.forecast.crowd_table import CountsError, CountTable, TimeLike

__all__ = ["NormalBand", "anomaly", "normal_band", "slot_of"]

# 1970-01-01 was a Thursday: (days + 3) % 7 gives Monday = 0.
_EPOCH_WEEKDAY = 3


def slot_of(times: NDArray[np.datetime64], slot_minutes: float) -> NDArray[np.int64]:
    """Weekday x time-of-day slot of each time: ``weekday * slots_per_day + slot_of_day``.

    Monday is weekday 0; times are taken as local clock times (as counters report them).

    >>> t = np.array(["2024-01-01T00:00", "2024-01-07T23:30"], dtype="datetime64[s]")
    >>> slot_of(t, 60.0).tolist()
    [0, 167]
    """
    seconds = times.astype("datetime64[s]").astype(np.int64)
    days = np.floor_divide(seconds, 86400)
    of_day = (seconds - days * 86400) // round(slot_minutes * 60)
    per_day = round(1440 / slot_minutes)
    return np.asarray(((days + _EPOCH_WEEKDAY) % 7) * per_day + of_day, dtype=np.int64)


@dataclass(frozen=True)
class NormalBand:
    """Quantiles of counts per sensor and weekday x time-of-day slot.

    Attributes
    ----------
    sensors : tuple of str
    slot_minutes : float
        Width of a time-of-day slot [min].
    quantiles : tuple of float
        The probabilities, increasing (default 0.1, 0.5, 0.9).
    values : numpy.ndarray, shape (7 * slots_per_day, S, Q)
        Count at each quantile [persons per step]; NaN where a slot has too few counts.
    n : numpy.ndarray of int, shape (7 * slots_per_day, S)
        Counts behind each slot.
    """

    sensors: tuple[str, ...]
    slot_minutes: float
    quantiles: tuple[float, ...]
    values: NDArray[np.float64]
    n: NDArray[np.int64]

    def at(self, times: NDArray[np.datetime64]) -> NDArray[np.float64]:
        """The band at each time, shape (len(times), S, Q)."""
        return np.asarray(self.values[slot_of(times, self.slot_minutes)], dtype=np.float64)


def normal_band(
    table: CountTable,
    *,
    until: TimeLike | None = None,
    quantiles: tuple[float, ...] = (0.1, 0.5, 0.9),
    slot_minutes: float | None = None,
    min_count: int = 4,
) -> NormalBand:
    """The normal band of each sensor from the counts before ``until``.

    Parameters
    ----------
    table : CountTable
    until : numpy.datetime64, optional
        Use only intervals starting before this time (the training period); default all.
    quantiles : tuple of float
        Probabilities of the band, increasing.
    slot_minutes : float, optional
        Width of a time-of-day slot [min]; default the table's step. For per-minute data a
        slot of 15 minutes pools 15 counts a week and gives a steadier band.
    min_count : int
        Slots with fewer counts get NaN.

    Examples
    --------
    >>> t = np.arange("2024-01-01", "2024-03-01", dtype="datetime64[h]")
    >>> table = CountTable.from_arrays(t, ["a"], np.arange(t.size) % 24)
    >>> band = normal_band(table)
    >>> band.values[13, 0].tolist()   # Monday 13:00
    [13.0, 13.0, 13.0]
    """
    if slot_minutes is None:
        slot_minutes = table.step_minutes
    if any(not 0 < q < 1 for q in quantiles) or list(quantiles) != sorted(quantiles):
        raise CountsError(f"quantiles must be increasing in (0, 1), got {quantiles}")
    stop = table.times.size if until is None else table.index_of(until)
    slots = slot_of(table.times[:stop], slot_minutes)
    n_slots = 7 * round(1440 / slot_minutes)
    counts = table.counts[:stop]
    n_sensors = counts.shape[1]
    values = np.full((n_slots, n_sensors, len(quantiles)), np.nan)
    n = np.zeros((n_slots, n_sensors), dtype=np.int64)
    order = np.argsort(slots, kind="stable")
    bounds = np.searchsorted(slots[order], np.arange(n_slots + 1))
    for k in range(n_slots):
        block = counts[order[bounds[k] : bounds[k + 1]]]
        if block.shape[0] == 0:
            continue
        ok = np.sum(np.isfinite(block), axis=0)
        n[k] = ok
        good = ok >= min_count
        if np.any(good):
            q = np.nanquantile(block[:, good], quantiles, axis=0)
            values[k, good] = q.T
    return NormalBand(table.sensors, float(slot_minutes), tuple(quantiles), values, n)


def anomaly(
    counts: NDArray[np.float64],
    times: NDArray[np.datetime64],
    band: NormalBand,
) -> NDArray[np.float64]:
    """Position of each count on the normal band: 0 at p50, +1 at the top, -1 at the bottom.

    Above the median the score is ``(x - p50) / (p_hi - p50)``, below it ``(x - p50) /
    (p50 - p_lo)`` (p_lo, p_hi the band's outer quantiles); a band of zero width counts as one
    person wide. NaN where the count or the band is missing.

    Parameters
    ----------
    counts : numpy.ndarray, shape (T, S)
        Counts [persons per step] of the band's sensors, in its column order.
    times : numpy.ndarray of datetime64, shape (T,)

    Examples
    --------
    >>> t = np.arange("2024-01-01", "2024-03-01", dtype="datetime64[h]")
    >>> x = (np.arange(t.size) // 168 % 3).astype(float)[:, None]   # 0, 1 or 2 a week
    >>> band = normal_band(CountTable.from_arrays(t, ["a"], x))
    >>> anomaly(np.array([[1.0], [5.0]]), t[:2], band).round(2).tolist()
    [[0.0], [4.0]]
    """
    if counts.ndim != 2 or counts.shape != (times.size, len(band.sensors)):
        raise CountsError(
            f"counts have shape {counts.shape}, expected ({times.size}, {len(band.sensors)})"
        )
    b = band.at(times)
    lo, mid, hi = b[..., 0], b[..., len(band.quantiles) // 2], b[..., -1]
    up = np.maximum(hi - mid, 1.0)
    down = np.maximum(mid - lo, 1.0)
    dev = counts - mid
    return np.where(dev >= 0, dev / up, dev / down)

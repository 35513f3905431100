"""Skill of threshold warnings: contingency table, POD, FAR, CSI, bias, lead time, intervals.

A warning for hour ``t`` is issued at ``t - L`` when the forecast for ``t`` reaches the warning
threshold; the event is the observed level reaching the warning level at ``t``. Each valid hour
is one yes/no pair, and the 2x2 table counts hits (warned, happened), misses (not warned,
happened), false alarms (warned, did not happen) and correct negatives. The scores are the
standard ones for dichotomous forecasts (Jolliffe & Stephenson 2012, "Forecast Verification",
2nd ed., Wiley, ch. 3; WMO/WWRP "Forecast verification: issues, methods and FAQ"):

- probability of detection ``POD = H / (H + M)``,
- false-alarm ratio ``FAR = F / (H + F)``,
- critical success index (threat score) ``CSI = H / (H + M + F)``,
- frequency bias ``B = (H + F) / (H + M)``.

Intervals: hours next to each other are not independent (a storm raises the level over one
to three days), so the 90 % intervals come from a block bootstrap (Künsch 1989, "The jackknife
and the bootstrap for general stationary observations", Ann. Stat. 17(3):1217-1241): the
record is cut into consecutive blocks (default 3 days), blocks are drawn with replacement and
the scores recomputed; the interval is the 5-95 % percentile range. Lead times are resampled
by event.

Lead time of a warned event: for an event (a run of hours at or above the level) starting at
hour ``T``, the longest lead ``L`` at which the forecast issued at ``T - L`` warned for ``T``.

>>> import numpy as np
>>> c = contingency(np.array([1, 1, 0, 0, 1], bool), np.array([1, 0, 1, 0, 1], bool))
>>> (c.hits, c.misses, c.false_alarms, c.correct_negatives), round(c.csi, 2)
((2, 1, 1, 1), 0.5)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "Contingency",
    "Skill",
    "block_bootstrap",
    "contingency",
    "critical_success_index",
    "event_lead_times",
    "false_alarm_ratio",
    "frequency_bias",
    "mean_lead_time",
    "plot_skill",
    "probability_of_detection",
    "threshold_for_unit_bias",
    "warning_skill",
]

SCORES = ("pod", "far", "csi", "bias")
"""Scores :func:`warning_skill` reports, each with an interval."""


def _ratio(
    num: NDArray[np.float64] | float, den: NDArray[np.float64] | float
) -> NDArray[np.float64]:
    num_a, den_a = np.asarray(num, dtype=np.float64), np.asarray(den, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den_a > 0, num_a / np.where(den_a > 0, den_a, 1.0), np.nan)


def probability_of_detection(hits: float, misses: float) -> float:
    """POD = H / (H + M), the share of events warned for; NaN without events.

    >>> probability_of_detection(3, 1)
    0.75
    """
    return float(_ratio(hits, hits + misses))


def false_alarm_ratio(hits: float, false_alarms: float) -> float:
    """FAR = F / (H + F), the share of warnings with no event; NaN without warnings.

    >>> false_alarm_ratio(3, 1)
    0.25
    """
    return float(_ratio(false_alarms, hits + false_alarms))


def critical_success_index(hits: float, misses: float, false_alarms: float) -> float:
    """CSI = H / (H + M + F) (threat score, Gilbert 1884); NaN if all three are 0.

    >>> critical_success_index(2, 1, 1)
    0.5
    """
    return float(_ratio(hits, hits + misses + false_alarms))


def frequency_bias(hits: float, misses: float, false_alarms: float) -> float:
    """B = (H + F) / (H + M): warnings per event, 1 when warned as often as it happens.

    >>> frequency_bias(2, 2, 2)
    1.0
    """
    return float(_ratio(hits + false_alarms, hits + misses))


@dataclass(frozen=True)
class Contingency:
    """The 2x2 table of warnings against events [counts of hours]."""

    hits: int
    misses: int
    false_alarms: int
    correct_negatives: int

    @property
    def pod(self) -> float:
        return probability_of_detection(self.hits, self.misses)

    @property
    def far(self) -> float:
        return false_alarm_ratio(self.hits, self.false_alarms)

    @property
    def csi(self) -> float:
        return critical_success_index(self.hits, self.misses, self.false_alarms)

    @property
    def bias(self) -> float:
        return frequency_bias(self.hits, self.misses, self.false_alarms)


def contingency(warned: NDArray[np.bool_], observed: NDArray[np.bool_]) -> Contingency:
    """Count hits, misses, false alarms and correct negatives of paired yes/no arrays."""
    w, o = np.asarray(warned, dtype=bool), np.asarray(observed, dtype=bool)
    if w.shape != o.shape:
        raise ValueError(f"warned {w.shape} and observed {o.shape} must have the same shape")
    return Contingency(
        hits=int(np.sum(w & o)),
        misses=int(np.sum(~w & o)),
        false_alarms=int(np.sum(w & ~o)),
        correct_negatives=int(np.sum(~w & ~o)),
    )


def threshold_for_unit_bias(
    forecast: NDArray[np.float64], observed: NDArray[np.float64], level: float
) -> float:
    """The forecast threshold that warns as many hours as the level was reached.

    Choose it on a training period and apply it unchanged to the test period. With ``n``
    observed hours at or above ``level``, it is the ``n``-th highest forecast, so the
    frequency bias on these data is 1 (up to ties).

    Parameters
    ----------
    forecast, observed : ndarray
        Paired forecast and observed levels [cm]; pairs with a NaN are skipped.
    level : float
        Warning level [cm].

    Returns
    -------
    float
        Threshold [cm]; ``level`` itself when the level was never reached.

    >>> import numpy as np
    >>> threshold_for_unit_bias(np.array([1.0, 5, 3, 4]), np.array([0.0, 9, 9, 0]), 8)
    4.0
    """
    f, o = np.asarray(forecast, dtype=np.float64), np.asarray(observed, dtype=np.float64)
    ok = np.isfinite(f) & np.isfinite(o)
    n = int(np.sum(o[ok] >= level))
    if n == 0:
        return float(level)
    return float(np.sort(f[ok])[::-1][n - 1])


def block_bootstrap(
    times_s: NDArray[np.float64],
    warned: NDArray[np.bool_],
    observed: NDArray[np.bool_],
    block_h: float = 72.0,
    n_boot: int = 1000,
    seed: int = 0,
) -> dict[str, NDArray[np.float64]]:
    """Scores of ``n_boot`` block-bootstrap resamples (moving blocks cut at fixed times).

    Parameters
    ----------
    times_s : ndarray
        Time of each pair [s]; pairs are grouped into consecutive blocks of ``block_h``.
    warned, observed : ndarray of bool
    block_h : float
        Block length [h]: longer than an event, so that an event's hours stay together.
    n_boot : int
        Number of resamples.
    seed : int

    Returns
    -------
    dict
        ``pod``, ``far``, ``csi``, ``bias``: one value per resample (NaN where undefined).
    """
    t = np.asarray(times_s, dtype=np.float64)
    w, o = np.asarray(warned, dtype=bool), np.asarray(observed, dtype=bool)
    block = ((t - t.min()) // (block_h * 3600.0)).astype(np.intp) if len(t) else t.astype(np.intp)
    _, block = np.unique(block, return_inverse=True)
    nb = int(block.max()) + 1 if len(block) else 0
    counts = np.zeros((nb, 3))
    np.add.at(counts[:, 0], block, w & o)
    np.add.at(counts[:, 1], block, ~w & o)
    np.add.at(counts[:, 2], block, w & ~o)
    rng = np.random.default_rng(seed)
    draw = rng.integers(0, nb, size=(n_boot, nb)) if nb else np.zeros((n_boot, 0), np.intp)
    h, m, f = (counts[:, k][draw].sum(axis=1) for k in range(3))
    return {
        "pod": _ratio(h, h + m),
        "far": _ratio(f, h + f),
        "csi": _ratio(h, h + m + f),
        "bias": _ratio(h + f, h + m),
    }


def event_lead_times(
    observed: NDArray[np.bool_], warned: NDArray[np.bool_], leads_h: Sequence[int]
) -> NDArray[np.float64]:
    """Lead time of each event: the longest lead that warned for its first hour [h].

    Parameters
    ----------
    observed : ndarray of bool, shape (n,)
        Hourly: the level was reached at hour ``i``.
    warned : ndarray of bool, shape (n, n_leads)
        ``warned[i, k]``: the forecast issued at hour ``i`` warned for hour ``i + leads_h[k]``.
    leads_h : sequence of int
        Lead of each column [h].

    Returns
    -------
    ndarray
        One value per event (run of observed hours), NaN for a missed event.

    >>> import numpy as np
    >>> obs = np.array([0, 0, 0, 1, 1, 0], bool)
    >>> w = np.zeros((6, 2), bool); w[2, 0] = True; w[0, 1] = True  # leads 1 and 3 h
    >>> event_lead_times(obs, w, [1, 3]).tolist()
    [3.0]
    """
    o = np.asarray(observed, dtype=bool)
    onsets = np.flatnonzero(o & ~np.concatenate([[False], o[:-1]]))
    out = np.full(len(onsets), np.nan)
    for e, start in enumerate(onsets):
        for k, lead in enumerate(leads_h):
            i = start - int(lead)
            if i >= 0 and warned[i, k]:
                out[e] = max(float(lead), 0.0 if np.isnan(out[e]) else out[e])
    return out


@dataclass(frozen=True)
class Skill:
    """Warning skill at one lead: table, scores and their 90 % block-bootstrap intervals."""

    lead_h: int
    table: Contingency
    threshold: float
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)

    def score(self, name: str) -> float:
        """``pod``, ``far``, ``csi`` or ``bias`` of the table."""
        return float(getattr(self.table, name))


def warning_skill(
    times_s: NDArray[np.float64],
    forecast: NDArray[np.float64],
    observed: NDArray[np.float64],
    level: float,
    threshold: float | None = None,
    lead_h: int = 0,
    block_h: float = 72.0,
    n_boot: int = 1000,
    seed: int = 0,
) -> Skill:
    """Score warnings "forecast >= threshold" against events "observed >= level".

    Parameters
    ----------
    times_s : ndarray
        Valid time of each forecast [s].
    forecast, observed : ndarray
        Forecast and observed level at those times [cm]; pairs with a NaN are skipped.
    level : float
        Warning level [cm].
    threshold : float, optional
        Forecast threshold [cm] (e.g. :func:`threshold_for_unit_bias` on training data);
        defaults to ``level``.
    lead_h : int
        Lead time of these forecasts [h], kept in the result.
    block_h, n_boot, seed
        Block bootstrap (:func:`block_bootstrap`).

    Returns
    -------
    Skill
    """
    thr = float(level if threshold is None else threshold)
    f, o = np.asarray(forecast, dtype=np.float64), np.asarray(observed, dtype=np.float64)
    ok = np.isfinite(f) & np.isfinite(o)
    w, e, t = f[ok] >= thr, o[ok] >= level, np.asarray(times_s, dtype=np.float64)[ok]
    boot = block_bootstrap(t, w, e, block_h=block_h, n_boot=n_boot, seed=seed)
    intervals = {k: _interval(v) for k, v in boot.items()}
    return Skill(lead_h=lead_h, table=contingency(w, e), threshold=thr, intervals=intervals)


def mean_lead_time(
    lead_times_h: NDArray[np.float64], n_boot: int = 1000, seed: int = 0
) -> tuple[float, tuple[float, float]]:
    """Mean lead time of the warned events and its 90 % bootstrap interval over events [h]."""
    hits = np.asarray(lead_times_h, dtype=np.float64)
    hits = hits[np.isfinite(hits)]
    if len(hits) == 0:
        return float("nan"), (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    boot = hits[rng.integers(0, len(hits), size=(n_boot, len(hits)))].mean(axis=1)
    return float(hits.mean()), _interval(boot)


def _interval(values: NDArray[np.float64], level: float = 0.9) -> tuple[float, float]:
    v = values[np.isfinite(values)]
    if len(v) == 0:
        return float("nan"), float("nan")
    a = 100 * (1 - level) / 2
    lo, hi = np.percentile(v, [a, 100 - a])
    return float(lo), float(hi)


def plot_skill(rows: Mapping[str, Sequence[Skill]], path: str | Path, title: str = "") -> Path:
    """Plot CSI, POD and FAR against lead time with 90 % intervals, one line per row.

    Parameters
    ----------
    rows : mapping
        Name (``"model"``, ``"tide + persisted surge"``) to its skills, one per lead.
    path : str or Path
        PNG file to write.
    title : str

    Returns
    -------
    Path
        ``path``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(12, 3.8), sharex=True)
    for ax, name in zip(axes, ("csi", "pod", "far"), strict=True):
        for k, (label, skills) in enumerate(rows.items()):
            lead = np.array([s.lead_h for s in skills], dtype=float) + 0.25 * k
            mid = np.array([s.score(name) for s in skills])
            lo = np.array([s.intervals.get(name, (np.nan, np.nan))[0] for s in skills])
            hi = np.array([s.intervals.get(name, (np.nan, np.nan))[1] for s in skills])
            err = np.vstack([np.clip(mid - lo, 0, None), np.clip(hi - mid, 0, None)])
            ax.errorbar(lead, mid, yerr=err, marker="o", capsize=3, label=label)
        ax.set_title(name.upper())
        ax.set_xlabel("lead time [h]")
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out

"""Rolling out-of-sample backtest of hotspot models, and parameter choice on a validation period.

Protocol: for every test day ``d`` (whole days since the epoch) each model is called as
``model(past, grid, d, **params)`` where ``past`` holds only the incidents with ``t_day < d``
(the backtest cuts them; a model cannot see the day it forecasts or any later one). Its
forecast, the expected count per cell for ``[d, d + 1)``, is scored against the incidents of
that day with :mod:`stadswacht.forecast.hotspots.metrics`. Parameters are chosen by
:func:`choose_parameters` on validation days that must all precede the test days
(:func:`backtest` refuses a ``validation_end`` after the first test day).

The incidents are sorted by time once, so each day's past is a slice (views, no copy), and the
test days' incidents are binned into cells once for all models.
"""

from __future__ import annotations

import dataclasses
import itertools
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from stadswacht.forecast.hotspots import metrics
from stadswacht.forecast.hotspots.metrics import FloatArray, IntArray, Interval

__all__ = [
    "DEFAULT_COVERAGES",
    "BacktestResult",
    "ModelScores",
    "backtest",
    "choose_parameters",
    "grid_shift_sensitivity",
]

DEFAULT_COVERAGES: tuple[float, ...] = (0.01, 0.02, 0.05, 0.1, 0.2)
"""Area fractions at which hit rate and PAI are reported."""


class IncidentsLike(Protocol):
    """What the backtest reads of :class:`~stadswacht.forecast.hotspots.incidents.Incidents`."""

    @property
    def t_day(self) -> NDArray[Any]: ...
    @property
    def x(self) -> NDArray[Any]: ...
    @property
    def y(self) -> NDArray[Any]: ...


class GridLike(Protocol):
    """What the backtest reads of :class:`~stadswacht.forecast.hotspots.grid.Grid`."""

    @property
    def mask(self) -> NDArray[Any]: ...
    @property
    def n_cells(self) -> int: ...
    def cell_of(self, x: NDArray[Any], y: NDArray[Any]) -> NDArray[Any]: ...


Model = Callable[..., NDArray[Any]]
"""``model(incidents, grid, day, **params) -> expected counts per cell``."""


def _take(incidents: Any, index: NDArray[Any] | slice) -> Any:
    """The same incidents type holding only ``index`` (every per-incident array is cut)."""
    n = len(np.asarray(incidents.t_day))
    if not dataclasses.is_dataclass(incidents) or isinstance(incidents, type):
        raise TypeError(f"incidents must be a dataclass of arrays, got {type(incidents)!r}")
    changes = {
        f.name: getattr(incidents, f.name)[index]
        for f in dataclasses.fields(incidents)
        if isinstance(getattr(incidents, f.name), np.ndarray)
        and getattr(incidents, f.name).shape[:1] == (n,)
    }
    return dataclasses.replace(incidents, **changes)


@dataclass(frozen=True)
class ModelScores:
    """One model's scores over the test days (see :mod:`.metrics` for the definitions)."""

    name: str
    params: dict[str, Any]
    coverages: tuple[float, ...]
    area_fraction: FloatArray
    """Flagged area fraction ``k / n`` per coverage."""
    hits: IntArray
    """(days, coverages) incidents in the flagged cells, kept for paired comparisons."""
    events: IntArray
    hit_rate: tuple[Interval, ...]
    pai: tuple[Interval, ...]
    log_score: float
    """Poisson log-likelihood per incident (higher is better)."""
    reliability: tuple[FloatArray, FloatArray]
    calibration_slope: float
    flagged: IntArray
    """(coverages, area cells) number of test days each area cell was flagged."""
    forecast_s: float
    """Seconds spent inside the model over all test days."""

    def at(self, coverage: float) -> tuple[Interval, Interval]:
        """Hit rate and PAI at one of the coverages."""
        i = self.coverages.index(coverage)
        return self.hit_rate[i], self.pai[i]


@dataclass(frozen=True)
class BacktestResult:
    """Scores of every model on the same test days and area cells."""

    days: IntArray
    area_cells: IntArray
    """Flat grid indices of the cells of the area, in the order of the per-cell arrays."""
    events: IntArray
    scores: dict[str, ModelScores] = field(default_factory=dict)
    n_boot: int = 2000
    seed: int = 0

    def compare(self, a: str, b: str, coverage: float = 0.05) -> Interval:
        """PAI of model ``a`` minus that of ``b``, with a paired bootstrap-over-days interval."""
        sa, sb = self.scores[a], self.scores[b]
        i = sa.coverages.index(coverage)
        est, lo, hi = metrics.paired_bootstrap(
            sa.hits[:, i], sb.hits[:, i], self.events, n_boot=max(self.n_boot, 1), seed=self.seed
        )
        frac = float(sa.area_fraction[i])
        return Interval(float(est[0]) / frac, float(lo[0]) / frac, float(hi[0]) / frac)


def _observed(
    incidents: Any, grid: GridLike, days: IntArray, area_pos: IntArray, n_area: int
) -> NDArray[np.int32]:
    t = np.asarray(incidents.t_day, dtype=np.float64)
    day_of = np.floor(t).astype(np.int64)
    first, last = int(days.min()), int(days.max())
    sel = np.flatnonzero((day_of >= first) & (day_of <= last))
    day_index = np.full(last - first + 1, -1, dtype=np.int64)
    day_index[days - first] = np.arange(len(days))
    d = day_index[day_of[sel] - first]
    cells = np.asarray(
        grid.cell_of(np.asarray(incidents.x)[sel], np.asarray(incidents.y)[sel]), dtype=np.int64
    )
    pos = np.where(cells >= 0, area_pos[np.maximum(cells, 0)], -1)
    ok = (d >= 0) & (pos >= 0)
    out = np.zeros((len(days), n_area), dtype=np.int32)
    np.add.at(out, (d[ok], pos[ok]), 1)
    return out


def backtest(
    incidents: Any,
    grid: GridLike,
    models: Mapping[str, Model],
    test_days: Iterable[int],
    *,
    params: Mapping[str, Mapping[str, Any]] | None = None,
    coverages: tuple[float, ...] = DEFAULT_COVERAGES,
    n_boot: int = 2000,
    seed: int = 0,
    validation_end: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> BacktestResult:
    """Forecast every test day from the incidents before it, for every model, and score.

    Parameters
    ----------
    incidents : Incidents (``t_day`` [days since epoch], ``x``, ``y`` [m], ...)
    grid : Grid over the study area; only cells in its ``mask`` are ranked and scored
    models : name -> ``model(incidents, grid, day, **params)``
    test_days : whole days since the epoch
    params : name -> keyword parameters for that model (e.g. from :func:`choose_parameters`)
    n_boot : bootstrap resamples of the days (0: intervals collapse to the estimate)
    validation_end : last validation day + 1, if parameters were chosen; must not pass the
        first test day

    Examples
    --------
    >>> from stadswacht.forecast.hotspots.backtest import _Toy
    >>> inc, g = _Toy.incidents(), _Toy()
    >>> r = backtest(inc, g, {"count": _Toy.count}, range(5, 10), coverages=(0.5,), n_boot=100)
    >>> r.scores["count"].at(0.5)[0].estimate
    1.0
    """
    days = np.asarray(sorted(set(int(d) for d in test_days)), dtype=np.int64)
    if len(days) == 0:
        raise ValueError("test_days is empty: give at least one day to forecast")
    if validation_end is not None and validation_end > int(days[0]):
        raise ValueError(
            f"validation period ends on day {validation_end}, after the first test day "
            f"{int(days[0])}: choose parameters on days before the test period"
        )
    params = params or {}
    t = np.asarray(incidents.t_day, dtype=np.float64)
    order = np.argsort(t, kind="stable")
    ordered = _take(incidents, order)
    t_sorted = t[order]
    cuts = np.searchsorted(t_sorted, days.astype(np.float64), side="left")

    area_cells = np.flatnonzero(np.asarray(grid.mask).ravel()).astype(np.int64)
    n_area = len(area_cells)
    area_pos = np.full(int(grid.n_cells), -1, dtype=np.int64)
    area_pos[area_cells] = np.arange(n_area)
    observed = _observed(ordered, grid, days, area_pos, n_area)
    events = observed.sum(axis=1).astype(np.int64)
    result = BacktestResult(days, area_cells, events, n_boot=n_boot, seed=seed)

    for name, model in models.items():
        kw = dict(params.get(name, {}))
        forecasts = np.empty((len(days), n_area), dtype=np.float64)
        spent = 0.0
        for i, day in enumerate(days):
            past = _take(ordered, slice(0, int(cuts[i])))
            start = time.perf_counter()
            full = np.asarray(model(past, grid, int(day), **kw), dtype=np.float64).ravel()
            spent += time.perf_counter() - start
            forecasts[i] = full[area_cells]
            if progress is not None and (i + 1) % 50 == 0:
                progress(f"{name}: {i + 1}/{len(days)} days, {spent:.1f} s in the model")
        result.scores[name] = _score(name, kw, forecasts, observed, events, coverages, n_boot, seed)
        result.scores[name] = dataclasses.replace(result.scores[name], forecast_s=spent)
    return result


def _score(
    name: str,
    kw: dict[str, Any],
    forecasts: FloatArray,
    observed: NDArray[np.int32],
    events: IntArray,
    coverages: tuple[float, ...],
    n_boot: int,
    seed: int,
) -> ModelScores:
    n_area = forecasts.shape[1]
    hits = metrics.daily_hits(forecasts, observed, coverages)
    frac = np.array([metrics.flagged_count(n_area, c) / n_area for c in coverages])
    if n_boot > 0:
        est, lo, hi = metrics.pooled_bootstrap(hits, events, n_boot=n_boot, seed=seed)
    else:
        est = hits.sum(axis=0) / max(int(events.sum()), 1)
        lo = hi = est
    hit_rate = tuple(
        Interval(float(e), float(a), float(b)) for e, a, b in zip(est, lo, hi, strict=True)
    )
    pai = tuple(
        Interval(float(e) / f, float(a) / f, float(b) / f)
        for e, a, b, f in zip(est, lo, hi, frac, strict=True)
    )
    order = metrics.ranking(forecasts)
    flagged = np.zeros((len(coverages), n_area), dtype=np.int64)
    for j, c in enumerate(coverages):
        top = order[:, : metrics.flagged_count(n_area, c)]
        flagged[j] = np.bincount(top.ravel(), minlength=n_area)
    ll = float(metrics.poisson_log_score(forecasts, observed).sum())
    return ModelScores(
        name=name,
        params=kw,
        coverages=coverages,
        area_fraction=frac,
        hits=hits,
        events=events,
        hit_rate=hit_rate,
        pai=pai,
        log_score=ll / max(int(events.sum()), 1),
        reliability=metrics.reliability(forecasts, observed),
        calibration_slope=metrics.calibration_slope(forecasts, observed),
        flagged=flagged,
        forecast_s=0.0,
    )


def _combinations(grid_of_params: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    keys = list(grid_of_params)
    return [
        dict(zip(keys, v, strict=True))
        for v in itertools.product(*(grid_of_params[k] for k in keys))
    ]


def choose_parameters(
    model: Model,
    grid_of_params: Mapping[str, Sequence[Any]],
    incidents: Any,
    grid: GridLike,
    validation_days: Iterable[int],
    *,
    criterion: str = "pai",
    coverage: float = 0.05,
) -> tuple[dict[str, Any], list[tuple[dict[str, Any], float]]]:
    """The parameters maximising a score over validation days (all combinations tried).

    The criterion is the pooled PAI at ``coverage`` (``"pai"``, default: what the hotspot
    map is used for) or the log score per incident (``"log_score"``). Equal scores keep the
    first combination in the order given. Pass the last validation day + 1 as
    ``validation_end`` to :func:`backtest` so that it checks the test days come after.

    Returns
    -------
    best parameters, and every (parameters, score) tried

    >>> from stadswacht.forecast.hotspots.backtest import _Toy
    >>> best, table = choose_parameters(
    ...     _Toy.count, {"scale": [1.0, 2.0]}, _Toy.incidents(), _Toy(), range(5, 10))
    >>> best
    {'scale': 1.0}
    """
    if criterion not in ("pai", "log_score"):
        raise ValueError(f"criterion must be 'pai' or 'log_score', got {criterion!r}")
    days = list(validation_days)
    table: list[tuple[dict[str, Any], float]] = []
    for kw in _combinations(grid_of_params):
        r = backtest(
            incidents, grid, {"m": model}, days, params={"m": kw}, coverages=(coverage,), n_boot=0
        )
        s = r.scores["m"]
        table.append((kw, s.pai[0].estimate if criterion == "pai" else s.log_score))
    best = max(range(len(table)), key=lambda i: (table[i][1], -i))
    return table[best][0], table


def grid_shift_sensitivity(
    incidents: Any,
    grid: GridLike,
    shifted: GridLike,
    models: Mapping[str, Model],
    test_days: Iterable[int],
    *,
    params: Mapping[str, Mapping[str, Any]] | None = None,
    coverage: float = 0.05,
    base: BacktestResult | None = None,
) -> dict[str, tuple[float, float, float]]:
    """PAI at ``coverage`` on the grid and on a shifted grid (e.g. by half a cell).

    ``shifted`` is built by the caller, e.g. ``grid_over(area, cell, offset=(cell/2, cell/2))``;
    ``base`` reuses a backtest already run on ``grid``.

    Returns
    -------
    name -> (PAI on grid, PAI on shifted grid, shifted - grid)
    """
    days = list(test_days)
    if base is None or coverage not in next(iter(base.scores.values())).coverages:
        base = backtest(
            incidents, grid, models, days, params=params, coverages=(coverage,), n_boot=0
        )
    moved = backtest(
        incidents, shifted, models, days, params=params, coverages=(coverage,), n_boot=0
    )
    out: dict[str, tuple[float, float, float]] = {}
    for name in models:
        a = base.scores[name].at(coverage)[1].estimate
        b = moved.scores[name].at(coverage)[1].estimate
        out[name] = (a, b, b - a)
    return out


@dataclass(frozen=True)
class _ToyIncidents:
    t_day: FloatArray
    x: FloatArray
    y: FloatArray


class _Toy:
    """A 2-cell grid and a toy model for the doctests (cell 0 at x < 1, cell 1 at x >= 1)."""

    mask = np.array([True, True])
    n_cells = 2

    def cell_of(self, x: NDArray[Any], y: NDArray[Any]) -> NDArray[np.int64]:
        return (np.asarray(x) >= 1.0).astype(np.int64)

    @staticmethod
    def incidents() -> _ToyIncidents:
        t = np.arange(10, dtype=np.float64) + 0.5
        return _ToyIncidents(t, np.full(10, 1.5), np.zeros(10))

    @staticmethod
    def count(inc: Any, grid: Any, day: int, scale: float = 1.0) -> FloatArray:
        cells = grid.cell_of(inc.x, inc.y)
        return scale * np.bincount(cells, minlength=2).astype(np.float64) / max(day, 1)

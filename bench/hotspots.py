"""Hotspot forecast benchmark: rolling daily backtests on real crime data (issue #8).

Run from the repository root::

    .venv/bin/python bench/hotspots.py                # everything
    .venv/bin/python bench/hotspots.py --no-splits    # the main test and South Side only
    .venv/bin/python bench/hotspots.py --data PATH    # default ../shared/data/crime

Progress and the tables go to stderr; stdout gets ONE line of JSON at the end.

Protocol (:mod:`stadswacht.forecast.hotspots.backtest`): every test day is forecast by every
model from the incidents before that day only, on a 150 m grid over the study area, and
scored on that day's incidents. Each model's parameters are chosen by
:func:`~stadswacht.forecast.hotspots.backtest.choose_parameters` (pooled PAI at 5 %) on a
validation period that ends before the test period starts; the model compared with the
multi-year count ("best") is the one with the highest PAI@5 % *on validation*, so nothing is
chosen on test days. ``count`` is the anchor: the plain count per cell over all history
(:func:`~stadswacht.forecast.hotspots.models.naive_count` with its defaults).

- Main test: Chicago city-wide aggravated assaults, every day of 2019, validation Jul-Dec 2018.
- South Side (open_cp's protocol): assaults Oct-Dec 2019 and residential burglary Oct-Dec 2016
  (``chicago_be_2016.csv``), validation Jul-Sep of the same year.
- Other splits: Chicago assaults city-wide, each test year 2013-2018 with validation Jul-Dec
  of the year before; Cincinnati burglary 2018 (validation Jul-Dec 2017); Vancouver thefts
  Oct-Dec 2020 (validation Jul-Sep 2020, the file holds 2020 only); Medellín homicides 2019
  (validation Jul-Dec 2018). Study area: the city polygon where the data has one (Chicago,
  South Side, the union of Vancouver's neighbourhoods), else the convex hull of all incidents
  buffered by one cell (Cincinnati, Medellín).

JSON keys:

- ``pai5_city_2019``: PAI@5 % of the best model, main test; ``pai5_city_2019_count``: of
  the count; ``pai5_diff_lo95`` / ``pai5_diff_hi95``: paired bootstrap-over-days 95 %
  interval of best minus count (target: lo > 0, best >= 7.7).
- ``pai5_southside_assault``, ``pai5_southside_burglary``: PAI@5 % of the best model
  (open_cp's best: 4.8, 4.7); ``*_min_pai_1_20`` the lowest PAI over 1-20 % coverage.
- ``splits_won_or_tied_share``: share of the other splits where the best model wins or ties
  against the count: the upper end of the paired 95 % interval of (best - count) PAI@5 % is
  >= 0, i.e. the best model is not significantly worse than the count.
- ``validation_pai5``: pooled PAI@5 % on the validation days (Jul-Dec 2018) of each model
  with its chosen parameters, the score the best model is picked by; ``variants_compared``:
  every variant scored on validation days before 2019 for the main test, i.e. the
  parameter combinations tried by ``choose_parameters`` for every model plus the count, plus
  ``DESIGN_VARIANTS`` compared while the count mixture was designed.
- ``forecast_s``: mean time of one city-wide daily forecast of the best model [s];
  ``sepp_fit_s``: fitting the SEPP on the data before 2019 [s] (null without the SEPP);
  ``backtest_s``: the 365-day city-wide backtest of all models, scoring included, parameter
  choice excluded [s].
- ``calibration_slope_best``, ``log_score_best``, ``grid_shift_pai5_change_best``: on the
  main test; ``vancouver_exposure_min`` / ``_max``: range of the bias audit's exposure ratio
  over Vancouver's neighbourhoods (flagged at 5 % by the best model over the test days vs
  reported thefts); ``feedback_drift_uncorrected`` / ``_corrected``: the Ensign et al.
  simulation (:mod:`stadswacht.forecast.hotspots.feedback`).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from stadswacht.forecast.hotspots import models
from stadswacht.forecast.hotspots.backtest import (
    DEFAULT_COVERAGES,
    BacktestResult,
    backtest,
    choose_parameters,
    grid_shift_sensitivity,
)
from stadswacht.forecast.hotspots.bias import (
    area_of_cells,
    area_of_points,
    exposure_ratio,
    read_areas,
)
from stadswacht.forecast.hotspots.feedback import simulate_feedback
from stadswacht.forecast.hotspots.grid import Grid, grid_over, read_polygon
from stadswacht.forecast.hotspots.incidents import Incidents, day_number, read_incidents

CELL = 150.0
DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "crime"

# Candidate parameters, chosen on validation days only (criterion: pooled PAI@5 %).
PARAM_GRIDS: dict[str, dict[str, list[Any]]] = {
    "retrospective_kde": {"window_days": [1095.0, 3650.0], "bandwidth": [50.0, 100.0, 200.0]},
    "prospective_hotspot": {"bandwidth": [100.0, 200.0, 400.0], "weeks": [8, 16, 52]},
    "near_repeat_smoothed": {
        "bandwidth": [50.0, 75.0, 150.0],
        "half_life": [1095.0, 3650.0],
        "history_days": [3650.0],
    },
    "count_mixture": {
        "recent_weight": [0.35, 0.5],
        "half_life": [365.0],
        "neighbour_weight": [0.0, 0.1],
        "neighbour_bandwidth": [300.0],
    },
    "sepp": {"train_days": [365.0, 1095.0]},
}

# Variants of the count mixture's family (blends of all-history, decayed, seasonal, weekday
# and neighbourhood counts, smoothing, least-squares stacking of window counts) compared on
# Chicago assaults validation days before 2019 (Jul-Dec 2018 and all of 2017) while the model
# was designed, before the grid above was fixed; listed in docs/hotspots.md.
DESIGN_VARIANTS = 89


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def all_models() -> dict[str, Callable[..., Any]]:
    out: dict[str, Callable[..., Any]] = {
        "count": models.naive_count,
        "retrospective_kde": models.retrospective_kde,
        "prospective_hotspot": models.prospective_hotspot,
        "near_repeat_smoothed": models.near_repeat_smoothed,
        "count_mixture": models.count_mixture,
    }
    try:
        from stadswacht.forecast.hotspots import sepp  # noqa: F401

        out["sepp"] = RefittedSepp()
    except ImportError as exc:
        log(f"(no SEPP: {exc})")
    return out


class RefittedSepp:
    """The SEPP as a daily model: fitted on the incidents before the day, refitted every
    ``refit_days`` (and whenever a backtest starts again on an earlier day or another grid),
    on the last ``train_days`` of history (None: all of it)."""

    def __init__(self) -> None:
        self._key: tuple[int, Any] | None = None
        self._fit_day = -np.inf
        self._params: Any = None
        self.fit_s = 0.0

    def __call__(
        self,
        past: Incidents,
        grid: Grid,
        day: int,
        *,
        train_days: float | None = None,
        refit_days: float = 28.0,
    ) -> Any:
        from stadswacht.forecast.hotspots.sepp import fit_sepp, sepp

        key = (id(grid), train_days)
        if key != self._key or not self._fit_day <= day < self._fit_day + refit_days:
            t = time.perf_counter()
            start = None if train_days is None else day - train_days
            self._params = fit_sepp(past, grid, start=start, end=day)
            self.fit_s = time.perf_counter() - t
            self._key, self._fit_day = key, day
        return sepp(past, grid, day, self._params)


def days(start: str, end: str) -> range:
    """Whole days from ``start`` to ``end`` inclusive."""
    return range(int(day_number(start)), int(day_number(end)) + 1)


def run_split(
    label: str,
    inc: Incidents,
    grid: Grid,
    validation: range,
    test: range,
    *,
    n_boot: int,
) -> tuple[BacktestResult, str, dict[str, Any]]:
    """Choose parameters on ``validation``, backtest on ``test``; the best model by validation."""
    ms = all_models()
    params: dict[str, dict[str, Any]] = {}
    val_score: dict[str, float] = {}
    n_tried = 1  # the count
    for name, model in ms.items():
        if name == "count":
            continue
        grid_p = PARAM_GRIDS.get(name, {})
        chosen, tried = choose_parameters(model, grid_p, inc, grid, validation)
        params[name] = chosen
        val_score[name] = max(s for _, s in tried)
        n_tried += len(tried)
        log(f"  [{label}] {name}: chose {chosen} (validation PAI@5% {val_score[name]:.2f})")
    start = time.perf_counter()
    r = backtest(
        inc, grid, ms, test, params=params, n_boot=n_boot, validation_end=validation.stop,
        progress=lambda m: log(f"  [{label}] {m}"),
    )  # fmt: skip
    elapsed = time.perf_counter() - start
    best = max(val_score, key=lambda k: val_score[k])
    log(f"[{label}] {len(test)} days, {int(r.events.sum())} scored events, "
        f"{grid.n_inside} cells, backtest {elapsed:.1f} s; best on validation: {best}")  # fmt: skip
    info = {"params": params, "backtest_s": elapsed, "validation": val_score, "tried": n_tried}
    return r, best, info


def table(label: str, r: BacktestResult) -> None:
    log(f"  {label}: PAI (hit rate) [95% interval over days]")
    for name, s in r.scores.items():
        cells = []
        for c, h, p in zip(s.coverages, s.hit_rate, s.pai, strict=True):
            cells.append(f"{c:.0%}: {p.estimate:5.2f} [{p.lo:.2f}, {p.hi:.2f}] ({h.estimate:.3f})")
        log(f"    {name:22s} " + "  ".join(cells))
        log(f"    {'':22s} log score/event {s.log_score:.3f}, calibration slope "
            f"{s.calibration_slope:.3f}, {s.forecast_s:.1f} s in the model")  # fmt: skip


def hull(inc: Incidents) -> Any:
    return shapely.convex_hull(shapely.multipoints(np.column_stack([inc.x, inc.y]))).buffer(CELL)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--n-boot", type=int, default=2000)
    ap.add_argument("--no-splits", action="store_true", help="skip the other splits")
    ap.add_argument("--no-shift", action="store_true", help="skip the half-cell grid shift")
    args = ap.parse_args()
    data: Path = args.data
    out: dict[str, Any] = {}
    t_all = time.perf_counter()

    assaults, _ = read_incidents(data / "chicago_aggravated_assaults.csv.gz")
    city = data / "chicago_city_26971.gpkg"
    grid = grid_over(city, CELL, crs=26971)

    # --- main test: Chicago city-wide 2019 ---------------------------------------------
    r, best, info = run_split(
        "city 2019", assaults, grid, days("2018-07-01", "2018-12-31"),
        days("2019-01-01", "2019-12-31"), n_boot=args.n_boot,
    )  # fmt: skip
    table("Chicago city-wide aggravated assaults 2019", r)
    diff = r.compare(best, "count", 0.05)
    b, c = r.scores[best], r.scores["count"]
    log(f"  {best} - count, PAI@5%: {diff.estimate:+.2f} [{diff.lo:+.2f}, {diff.hi:+.2f}]")
    out |= {
        "best_model": best,
        "best_params": info["params"][best],
        "pai5_city_2019": round(b.at(0.05)[1].estimate, 3),
        "pai5_city_2019_count": round(c.at(0.05)[1].estimate, 3),
        "pai5_diff_lo95": round(diff.lo, 3),
        "pai5_diff_hi95": round(diff.hi, 3),
        "hit5_city_2019": round(b.at(0.05)[0].estimate, 4),
        "scored_events_city_2019": int(r.events.sum()),
        "calibration_slope_best": round(b.calibration_slope, 3),
        "log_score_best": round(b.log_score, 4),
        "log_score_count": round(c.log_score, 4),
        "forecast_s": round(b.forecast_s / len(r.days), 4),
        "backtest_s": round(info["backtest_s"], 1),
        "validation_pai5": {k: round(v, 3) for k, v in info["validation"].items()},
        "variants_compared": DESIGN_VARIANTS + info["tried"],
    }
    out["sepp_fit_s"] = None
    if "sepp" in r.scores:
        fit = RefittedSepp()
        kw = info["params"]["sepp"]
        fit(assaults.before(day_number("2019-01-01")), grid, int(day_number("2019-01-01")), **kw)
        out["sepp_fit_s"] = round(fit.fit_s, 2)
        log(f"  SEPP fit on the data before 2019 ({kw}): {fit.fit_s:.2f} s")

    if not args.no_shift:
        shifted = grid_over(city, CELL, offset=(CELL / 2, CELL / 2), crs=26971)
        ms = {k: v for k, v in all_models().items() if k in r.scores}
        shift = grid_shift_sensitivity(
            assaults, grid, shifted, ms, days("2019-01-01", "2019-12-31"),
            params=info["params"], base=r,
        )  # fmt: skip
        for name, (p0, p1, dp) in shift.items():
            log(f"  half-cell shift, PAI@5% {name}: {p0:.2f} -> {p1:.2f} ({dp:+.2f})")
        out["grid_shift_pai5_change_best"] = round(shift[best][2], 3)
        out["grid_shift_pai5_change_count"] = round(shift["count"][2], 3)

    # --- South Side, open_cp's protocol ---------------------------------------------------
    south, _ = read_polygon(data / "chicago_south_side" / "SouthSide.shp", crs=26971)
    sgrid = grid_over(south, CELL, crs=26971)
    burglary, _ = read_incidents(data / "chicago_be_2016.csv")
    for key, inc, year, ref in (
        ("assault", assaults, 2019, 4.8),
        ("burglary", burglary, 2016, 4.7),
    ):
        rs, bs, _ = run_split(
            f"South Side {key}", inc, sgrid, days(f"{year}-07-01", f"{year}-09-30"),
            days(f"{year}-10-01", f"{year}-12-31"), n_boot=args.n_boot,
        )  # fmt: skip
        table(f"South Side {key} Oct-Dec {year} (open_cp best PAI@5%: {ref})", rs)
        s = rs.scores[bs]
        out[f"pai5_southside_{key}"] = round(s.at(0.05)[1].estimate, 3)
        out[f"pai5_southside_{key}_count"] = round(rs.scores["count"].at(0.05)[1].estimate, 3)
        out[f"southside_{key}_min_pai_1_20"] = round(min(p.estimate for p in s.pai), 3)

    # --- other splits ---------------------------------------------------------------------
    if not args.no_splits:
        splits: list[tuple[str, Incidents, Grid, range, range]] = []
        for year in range(2013, 2019):
            splits.append((
                f"Chicago assaults {year}", assaults, grid,
                days(f"{year - 1}-07-01", f"{year - 1}-12-31"),
                days(f"{year}-01-01", f"{year}-12-31"),
            ))  # fmt: skip
        cin, _ = read_incidents(data / "cincinnati_burglary.csv.gz")
        splits.append((
            "Cincinnati burglary 2018", cin, grid_over(hull(cin), CELL, crs=cin.crs),
            days("2017-07-01", "2017-12-31"), days("2018-01-01", "2018-12-31"),
        ))  # fmt: skip
        van, _ = read_incidents(data / "vancouver_thefts.csv.gz")
        hoods = data / "vancouver_neighbourhoods.geojson"
        vgrid = grid_over(hoods, CELL, crs=van.crs)
        splits.append((
            "Vancouver thefts Oct-Dec 2020", van, vgrid,
            days("2020-07-01", "2020-09-30"), days("2020-10-01", "2020-12-31"),
        ))  # fmt: skip
        med, _ = read_incidents(data / "medellin_homicides.csv", drop_person_fields=True)
        splits.append((
            "Medellín homicides 2019", med, grid_over(hull(med), CELL, crs=med.crs),
            days("2018-07-01", "2018-12-31"), days("2019-01-01", "2019-12-31"),
        ))  # fmt: skip
        won = 0
        rows = []
        for label, inc, g, val, test in splits:
            rx, bx, _ = run_split(label, inc, g, val, test, n_boot=args.n_boot)
            table(label, rx)
            d = rx.compare(bx, "count", 0.05)
            ok = d.hi >= 0
            won += ok
            rows.append({
                "split": label, "best": bx,
                "pai5": {k: [round(v.at(0.05)[1].estimate, 2), round(v.at(0.05)[1].lo, 2),
                             round(v.at(0.05)[1].hi, 2)] for k, v in rx.scores.items()},
                "diff_best_count": [round(d.estimate, 2), round(d.lo, 2), round(d.hi, 2)],
                "won_or_tied": bool(ok),
            })  # fmt: skip
            log(f"  [{label}] {bx} - count PAI@5%: {d.estimate:+.2f} [{d.lo:+.2f}, {d.hi:+.2f}]"
                f" -> {'win/tie' if ok else 'loss'}")  # fmt: skip
            if label.startswith("Vancouver"):
                names, areas = read_areas(hoods, crs=van.crs)
                cells = rx.area_cells
                cx, cy = g.centres()
                cell_area = area_of_cells((cx[cells], cy[cells]), areas)
                tv = van.between(test.start, test.stop)
                e = exposure_ratio(
                    rx.scores[bx].flagged[DEFAULT_COVERAGES.index(0.05)], cell_area,
                    area_of_points(tv.x, tv.y, areas), names,
                )  # fmt: skip
                for n, fs, cs, er in zip(
                    e.names, e.flagged_share, e.crime_share, e.ratio, strict=True
                ):
                    log(f"    exposure {n:28s} flagged {fs:6.1%} crime {cs:6.1%} ratio {er:5.2f}")
                finite = e.ratio[np.isfinite(e.ratio)]
                out["vancouver_exposure_min"] = round(float(finite.min()), 3)
                out["vancouver_exposure_max"] = round(float(finite.max()), 3)
        out["splits"] = rows
        out["splits_won_or_tied_share"] = round(won / len(splits), 3)
    else:
        out["splits_won_or_tied_share"] = None

    # --- feedback loop (Ensign et al. 2018) -------------------------------------------------
    rates = [1.0, 0.8, 0.6, 0.4, 0.2]
    un = simulate_feedback(rates, days=2000, seed=0)
    co = simulate_feedback(rates, days=2000, correction="ipw", explore=0.1, seed=0)
    log(f"feedback drift (TV distance of the model's shares from the true ones): "
        f"uncorrected {un.drift:.3f}, Ensign's correction {co.drift:.3f}")  # fmt: skip
    out["feedback_drift_uncorrected"] = round(un.drift, 3)
    out["feedback_drift_corrected"] = round(co.drift, 3)
    out["total_s"] = round(time.perf_counter() - t_all, 1)
    print(json.dumps(out))


if __name__ == "__main__":
    main()

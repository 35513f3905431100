"""Study (issue #8): is the grid offset a systematic effect that can be chosen on
validation, and does choosing it lift the 2019 test figure?

Run from the repository root, in this order (each phase once)::

    nice .venv/bin/python bench/hotspots_grid_offset.py validation   # 2017 and Jul-Dec 2018 only
    nice .venv/bin/python bench/hotspots_grid_offset.py test         # 2019, at the chosen offset

Protocol, fixed before anything was run:

1. Candidate offsets: the 5 x 5 lattice (ox, oy) in {0, 30, 60, 90, 120} m, cell 150 m,
   ``grid_over(city, 150, offset=(ox, oy), crs=26971)`` over the same city polygon
   (``chicago_city_26971.gpkg``) and incidents (``chicago_aggravated_assaults.csv.gz``) as
   ``bench/hotspots.py``. (0, 0) is the bench's grid.
2. Validation only: all of 2017 and Jul-Dec 2018, every day forecast from the incidents before
   it with the bench's :func:`backtest` (n_boot=0, coverage 5 %). Two models: ``count``
   (:func:`naive_count`, defaults: the bench's anchor) and ``count_mixture`` with the bench's
   chosen parameters (recent_weight 0.5, half_life 365, neighbour_weight 0.1,
   neighbour_bandwidth 300). In this phase the incidents are cut at 2019-01-01, so no 2019
   incident can be read. Stability: Spearman rank correlation of the 25 offsets' PAI@5 %
   between 2017 and Jul-Dec 2018, for each model.
3. Rule: the chosen offset maximises the mean of the two validation periods' PAI@5 % of
   ``count_mixture`` (unweighted mean of the two periods; ties: the first in the order
   ox, then oy, ascending). The choice is written to ``OUT/chosen.json``.
4. Only then, once: 2019 (every day) at the chosen offset, ``count`` and ``count_mixture``
   with n_boot=2000 as the bench, the bench's paired bootstrap of count_mixture - count;
   plus ``count`` at (0, 0), the issue's anchor. No other offset is scored on 2019. The test
   phase refuses to run without the validation's choice, or a second time.

Outputs (not in the repository): ``OUT`` = /tmp/grid_offset/.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from stadswacht.forecast.hotspots import models
from stadswacht.forecast.hotspots.backtest import backtest
from stadswacht.forecast.hotspots.grid import grid_over, read_polygon
from stadswacht.forecast.hotspots.incidents import day_number, read_incidents

CELL = 150.0
DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "crime"
OUT = Path("/tmp/grid_offset")
OFFSETS = [(float(ox), float(oy)) for ox in (0, 30, 60, 90, 120) for oy in (0, 30, 60, 90, 120)]
MIXTURE = {
    "recent_weight": 0.5,
    "half_life": 365.0,
    "neighbour_weight": 0.1,
    "neighbour_bandwidth": 300.0,
}
MODELS: dict[str, Callable[..., NDArray[Any]]] = {
    "count": models.naive_count,
    "count_mixture": models.count_mixture,
}
PARAMS = {"count_mixture": MIXTURE}
PERIODS = {"2017": ("2017-01-01", "2017-12-31"), "2018H2": ("2018-07-01", "2018-12-31")}


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def days(start: str, end: str) -> range:
    return range(int(day_number(start)), int(day_number(end)) + 1)


def load() -> tuple[Any, Any]:
    assaults, _ = read_incidents(DATA / "chicago_aggravated_assaults.csv.gz")
    city, _ = read_polygon(DATA / "chicago_city_26971.gpkg", crs=26971)
    return assaults, city


def validation() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    assaults, city = load()
    assaults = assaults.before(day_number("2019-01-01"))  # no 2019 incident in this phase
    rows: list[dict[str, Any]] = []
    t0 = time.perf_counter()
    for ox, oy in OFFSETS:
        grid = grid_over(city, CELL, offset=(ox, oy), crs=26971)
        row: dict[str, Any] = {"ox": ox, "oy": oy, "cells": grid.n_inside}
        for label, (a, b) in PERIODS.items():
            r = backtest(assaults, grid, MODELS, days(a, b), params=PARAMS, coverages=(0.05,),
                         n_boot=0)  # fmt: skip
            row[f"events_{label}"] = int(r.events.sum())
            for name, s in r.scores.items():
                row[f"{name}_{label}"] = s.pai[0].estimate
                row[f"{name}_{label}_hit"] = s.hit_rate[0].estimate
        rows.append(row)
        log(f"({ox:5.0f}, {oy:5.0f}) cells {row['cells']}  "
            + "  ".join(f"{m} {p}: {row[f'{m}_{p}']:.3f}" for m in MODELS for p in PERIODS)
            + f"  [{time.perf_counter() - t0:.0f} s]")  # fmt: skip
    elapsed = time.perf_counter() - t0
    rho = {}
    for m in MODELS:
        xs = [r[f"{m}_2017"] for r in rows]
        ys = [r[f"{m}_2018H2"] for r in rows]
        res = stats.spearmanr(xs, ys)
        rho[m] = {"spearman": float(res.statistic), "p": float(res.pvalue)}
    for p in PERIODS:
        res = stats.spearmanr([r[f"count_{p}"] for r in rows],
                              [r[f"count_mixture_{p}"] for r in rows])  # fmt: skip
        rho[f"count_vs_mixture_{p}"] = {"spearman": float(res.statistic), "p": float(res.pvalue)}
    mean = [(r["count_mixture_2017"] + r["count_mixture_2018H2"]) / 2 for r in rows]
    best = max(range(len(rows)), key=lambda i: (mean[i], -i))
    chosen = {"ox": rows[best]["ox"], "oy": rows[best]["oy"], "mean_validation_pai5": mean[best]}
    (OUT / "validation.json").write_text(
        json.dumps({"rows": rows, "rank_correlation": rho, "validation_s": elapsed}, indent=1)
    )
    (OUT / "chosen.json").write_text(json.dumps(chosen))
    log(f"rank correlations: {json.dumps(rho)}")
    log(f"chosen offset: {chosen}; validation took {elapsed:.0f} s")
    print(json.dumps({"rank_correlation": rho, "chosen": chosen, "validation_s": elapsed}))


def test() -> None:
    chosen_path, done = OUT / "chosen.json", OUT / "test.json"
    if not chosen_path.exists():
        raise SystemExit("run the validation phase first: the offset is chosen there")
    if done.exists():
        raise SystemExit(f"2019 was already scored once ({done}); not running it again")
    chosen = json.loads(chosen_path.read_text())
    offset = (float(chosen["ox"]), float(chosen["oy"]))
    assaults, city = load()
    test_days = days("2019-01-01", "2019-12-31")
    val_end = int(day_number("2019-01-01"))
    t0 = time.perf_counter()
    grid = grid_over(city, CELL, offset=offset, crs=26971)
    r = backtest(assaults, grid, MODELS, test_days, params=PARAMS, n_boot=2000,
                 validation_end=val_end)  # fmt: skip
    t_chosen = time.perf_counter() - t0
    diff = r.compare("count_mixture", "count", 0.05)
    out: dict[str, Any] = {"offset": offset, "cells": grid.n_inside,
                           "events": int(r.events.sum()), "backtest_s": t_chosen}  # fmt: skip
    for name, s in r.scores.items():
        h, p = s.at(0.05)
        out[name] = {"pai5": [p.estimate, p.lo, p.hi], "hit5": [h.estimate, h.lo, h.hi]}
    out["diff_mixture_minus_count"] = [diff.estimate, diff.lo, diff.hi]
    # The anchor: count on the bench's grid (0, 0).
    t1 = time.perf_counter()
    g0 = grid_over(city, CELL, crs=26971)
    r0 = backtest(assaults, g0, {"count": models.naive_count}, test_days, n_boot=2000,
                  validation_end=val_end)  # fmt: skip
    h0, p0 = r0.scores["count"].at(0.05)
    out["count_at_0_0"] = {
        "pai5": [p0.estimate, p0.lo, p0.hi],
        "hit5": [h0.estimate, h0.lo, h0.hi],
        "cells": g0.n_inside,
        "events": int(r0.events.sum()),
    }
    # count_mixture at the chosen offset minus count at (0, 0): the same resampled days (the
    # bench's resampling, seed 0), each grid's own events and flagged area fraction.
    s1, s0 = r.scores["count_mixture"], r0.scores["count"]
    if np.array_equal(r.days, r0.days):
        rng = np.random.default_rng(0)
        idx = rng.integers(0, len(r.days), size=(2000, len(r.days)))
        f1, f0 = float(s1.area_fraction[2]), float(s0.area_fraction[2])
        h1, e1 = s1.hits[:, 2].astype(float), r.events.astype(float)
        hz, ez = s0.hits[:, 2].astype(float), r0.events.astype(float)
        est = h1.sum() / e1.sum() / f1 - hz.sum() / ez.sum() / f0
        boot = h1[idx].sum(1) / e1[idx].sum(1) / f1 - hz[idx].sum(1) / ez[idx].sum(1) / f0
        lo, hi = np.quantile(boot, [0.025, 0.975])
        out["diff_mixture_chosen_minus_count_0_0"] = [float(est), float(lo), float(hi)]
    out["count_0_0_s"] = time.perf_counter() - t1
    done.write_text(json.dumps(out, indent=1))
    print(json.dumps(out))


if __name__ == "__main__":
    phase = sys.argv[1] if len(sys.argv) > 1 else ""
    if phase == "validation":
        validation()
    elif phase == "test":
        test()
    else:
        raise SystemExit("usage: scratch_grid_offset.py validation|test")

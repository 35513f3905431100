"""Water-level warning skill: tide + ridge surge forecast against "tide + persisted surge".

Run from the repository root::

    .venv/bin/python bench/warning_skill.py                   # test 1986-1994, about 3 min
    .venv/bin/python bench/warning_skill.py --validate        # fit 1976-1982, test 1983-1985
    .venv/bin/python bench/warning_skill.py --data DIR --plot /tmp/skill.png
    .venv/bin/python bench/warning_skill.py --write-model \
        src/stadswacht/forecast/water_hoekvanholland.json    # refit the shipped model

Data: ``HOEKVHLD_obs19.txt`` and ``VLISSGN_obs19.txt`` in ``--data`` (default
``../shared/data/hydro`` beside the repository, or ``$STADSWACHT_DATA/hydro``): REAL
Rijkswaterstaat hourly water levels [cm NAP] 1976-1994, read with
:func:`stadswacht.detect.hazard.iotools.read_dia` (MET times turned into UTC).

What is measured. Per station: the harmonic tide and the ridge surge model
(:mod:`stadswacht.forecast.water`) are fitted on 1976-1985 (UTC years); every hour of
1986-1994 is then forecast 1-24 h ahead from the observations up to that hour. At Hoek van
Holland the model also reads Vlissingen's surge (lags 0-6 h, the upstream gauge: the surge
travels north along the coast) and warns when the 70 % quantile of its forecast reaches the
threshold (``upstream+q0.7``); the own-gauge model it falls back to without Vlissingen is the
``own`` row. Vlissingen, the most upstream gauge here, has its own-gauge model only. Scoring
(:mod:`stadswacht.detect.hazard.skill`): each hour of the test period is one pair "forecast for
hour t, issued at t - L, reaches the threshold" / "observed level at t reaches the warning
level" (yellow: 220 cm at Hoek van Holland, 330 cm at Vlissingen). Rows:

- ``raw``: the baseline warning at the level itself (threshold = level);
- ``baseline``, ``own`` and ``model``: thresholds per lead chosen on the TRAINING period so
  that the frequency bias there is 1
  (:func:`~stadswacht.detect.hazard.skill.threshold_for_unit_bias`), applied unchanged to the
  test period.

Model choice (issue #6) was made on ``--validate`` only (fit 1976-1982, score 1983-1985):
17 variants (:data:`VARIANTS_COMPARED`), scored by the mean CSI at 6 and 12 h over the levels
180, 200 and 220 cm, because 1983-1985 has only 10 hours (5 events) at or above 220 cm.

90 % intervals: block bootstrap over 3-day blocks (1000 resamples). Mean lead time of warned
events: over events (runs of hours at or above the level), the longest lead at which the
forecast for the event's first hour warned. Vlissingen is the untuned second check: the same
code with its own fit and its own training thresholds.

The last line is JSON: ``csi_1h`` ... ``csi_24h``, ``bias_6h``, ``bias_12h`` (model at Hoek
van Holland), ``baseline_csi_*``, ``baseline_raw_csi_*``, ``own_gauge_csi_*`` (the fallback
model), ``vlissingen_csi_*``, ``model``, ``variants_compared`` and ``seconds``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from stadswacht.detect.hazard.iotools import read_dia
from stadswacht.detect.hazard.series import TimeSeries
from stadswacht.detect.hazard.skill import (
    Skill,
    event_lead_times,
    mean_lead_time,
    plot_skill,
    threshold_for_unit_bias,
    warning_skill,
)
from stadswacht.forecast.surge import HISTORY_H
from stadswacht.forecast.water import (
    Hindcast,
    WaterLevelModel,
    fit_water_level,
    hindcast,
    persistence_hindcast,
)

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = (
    Path(os.environ["STADSWACHT_DATA"]) / "hydro"
    if "STADSWACHT_DATA" in os.environ
    else ROOT.parent / "shared" / "data" / "hydro"
)
STATIONS = {
    # file, latitude [deg N], yellow level [cm NAP]
    "hoekvanholland": ("HOEKVHLD_obs19.txt", 51.978, 220.0),
    "vlissingen": ("VLISSGN_obs19.txt", 51.442, 330.0),
}
UPSTREAM = {"hoekvanholland": "vlissingen"}  # the surge travels north along the coast
MODEL_NAME = "upstream+q0.7"
VARIANTS_COMPARED = 17
"""Variants scored on the validation split for issue #6: upstream lags 0-3, 0-6, 0-6 plus
trend, time since high water, upstream-minus-own and upstream x tide, 0-3/6/12 plus 13 h mean,
0-12, ridge penalty 10, high-water quantile 2/3, trend and time since high water without
upstream, the current model; the warning rule on a constant quantile 0.6 and 0.7 and on the
heteroscedastic quantile 0.5, 0.6, 0.7 and 0.8."""
LEADS = tuple(range(1, 25))
REPORT_LEADS = (1, 6, 12, 24)


def _utc(year: int) -> float:
    return float(
        (np.datetime64(f"{year}-01-01") - np.datetime64("1970-01-01")) / np.timedelta64(1, "s")
    )


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _load(path: Path) -> TimeSeries:
    data, _ = read_dia(path)
    if not isinstance(data, TimeSeries):
        raise SystemExit(f"{path}: expected one series, found {len(data)}")
    return data


def _warn(h: Hindcast) -> np.ndarray:
    return h.level if h.warn is None else h.warn


def _thresholds(h: Hindcast, level: float) -> tuple[float, ...]:
    return tuple(
        threshold_for_unit_bias(_warn(h)[:, k], h.observed[:, k], level)
        for k in range(len(h.leads_h))
    )


def _skills(
    h: Hindcast, level: float, thresholds: tuple[float, ...] | None, n_boot: int
) -> list[Skill]:
    out = []
    for lead in REPORT_LEADS:
        k = h.leads_h.index(lead)
        thr = None if thresholds is None else thresholds[k]
        valid = h.issue_times + 3600.0 * lead
        out.append(
            warning_skill(
                valid, _warn(h)[:, k], h.observed[:, k], level, thr, lead_h=lead, n_boot=n_boot
            )
        )
    return out


def _lead_time(h: Hindcast, series: TimeSeries, level: float, thr: tuple[float, ...]) -> str:
    warned = np.nan_to_num(_warn(h), nan=-np.inf) >= np.asarray(thr)[None, :]
    leads = event_lead_times(np.nan_to_num(series.values, nan=-np.inf) >= level, warned, h.leads_h)
    mean, (lo, hi) = mean_lead_time(leads)
    warned_n = int(np.isfinite(leads).sum())
    return f"{warned_n}/{len(leads)} events warned, mean lead {mean:.1f} h [{lo:.1f}, {hi:.1f}]"


def _fmt(s: Skill, name: str) -> str:
    lo, hi = s.intervals[name]
    return f"{s.score(name):.2f} [{lo:.2f},{hi:.2f}]"


def _print_table(station: str, rows: dict[str, list[Skill]]) -> None:
    print(f"\n{station}")
    print(
        f"{'lead':>4} {'row':<9} {'thr':>6} {'H':>4} {'M':>4} {'F':>4}  "
        f"{'CSI':<17} {'POD':<17} {'FAR':<17} {'bias':<17}"
    )
    for i, lead in enumerate(REPORT_LEADS):
        for name, skills in rows.items():
            s = skills[i]
            t = s.table
            print(
                f"{lead:>3}h {name:<9} {s.threshold:6.1f} {t.hits:4d} {t.misses:4d} "
                f"{t.false_alarms:4d}  "
                + " ".join(f"{_fmt(s, n):<17}" for n in ("csi", "pod", "far", "bias"))
            )


def run_station(
    name: str, data: Path, train: tuple[int, int], test: tuple[int, int], n_boot: int
) -> tuple[WaterLevelModel, dict[str, list[Skill]]]:
    file, lat, level = STATIONS[name]
    series = _load(data / file)
    fit_part = series.between(_utc(train[0]), _utc(train[1]))
    test_part = series.between(_utc(test[0]), _utc(test[1]))
    up_name = UPSTREAM.get(name)
    up_series = None
    if up_name is not None and (data / STATIONS[up_name][0]).is_file():
        up_series = _load(data / STATIONS[up_name][0])
    t0 = time.perf_counter()
    model = fit_water_level(
        fit_part,
        lat,
        LEADS,
        upstream=None if up_series is None else up_series.between(_utc(train[0]), _utc(train[1])),
        upstream_latitude=None if up_name is None else STATIONS[up_name][1],
    )
    _log(
        f"{name}: fitted tide ({len(model.tide.names)} constituents) and surge"
        f" in {time.perf_counter() - t0:.0f} s"
        + ("" if up_series is None else f", upstream {up_series.station}")
    )
    train_own = hindcast(model, fit_part)
    train_pers = persistence_hindcast(model.tide, fit_part, LEADS)
    thr_own, thr_pers = _thresholds(train_own, level), _thresholds(train_pers, level)
    model = replace(model, levels={"yellow": level}, thresholds={"yellow": thr_own})
    thr_model = thr_own
    if model.upstream is not None:
        train_up = hindcast(model, fit_part, upstream=up_series)
        used = train_up.with_upstream
        if used is not None and not bool(np.all(used[HISTORY_H - 1 :])):
            _log(f"{name}: some training hours lack the upstream gauge (own model there)")
        thr_model = _thresholds(train_up, level)
        model = replace(model, upstream=replace(model.upstream, thresholds={"yellow": thr_model}))
    # The test hindcast starts a day early so that its first hours have a surge history.
    test_hist = series.between(_utc(test[0]) - 86400.0 * 2, _utc(test[1]))
    keep = test_hist.times >= _utc(test[0])
    h_own = _cut(hindcast(model, test_hist), keep)
    h_pers = _cut(persistence_hindcast(model.tide, test_hist, LEADS), keep)
    h_model = (
        h_own
        if model.upstream is None
        else _cut(hindcast(model, test_hist, upstream=up_series), keep)
    )
    rows = {
        "raw": _skills(h_pers, level, None, n_boot),
        "baseline": _skills(h_pers, level, thr_pers, n_boot),
        "model": _skills(h_model, level, thr_model, n_boot),
    }
    if model.upstream is not None:
        rows["own"] = _skills(h_own, level, thr_own, n_boot)
    _print_table(
        f"{name}, yellow {level:.0f} cm, fit {train[0]}-{train[1] - 1}, "
        f"test {test[0]}-{test[1] - 1}",
        rows,
    )
    print("  lead time, model:    " + _lead_time(h_model, test_part, level, thr_model))
    if model.upstream is not None:
        print("  lead time, own:      " + _lead_time(h_own, test_part, level, thr_own))
    print("  lead time, baseline: " + _lead_time(h_pers, test_part, level, thr_pers))
    rmse = np.sqrt(np.nanmean((h_model.level - h_model.observed) ** 2, axis=0))
    rmse_p = np.sqrt(np.nanmean((h_pers.level - h_pers.observed) ** 2, axis=0))
    cover = np.nanmean(
        (h_model.observed >= h_model.low) & (h_model.observed <= h_model.high), axis=0
    )
    for lead in REPORT_LEADS:
        k = LEADS.index(lead)
        print(
            f"  {lead:>2} h: RMSE model {rmse[k]:.1f} cm, baseline {rmse_p[k]:.1f} cm;"
            f" 80 % interval covers {100 * cover[k]:.0f} % (all hours)"
        )
    return model, rows


def _cut(h: Hindcast, keep: np.ndarray) -> Hindcast:
    return Hindcast(
        h.issue_times[keep],
        h.leads_h,
        h.level[keep],
        h.low[keep],
        h.high[keep],
        h.observed[keep],
        None if h.warn is None else h.warn[keep],
        None if h.with_upstream is None else h.with_upstream[keep],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--plot", type=Path, default=Path("/tmp/warning_skill.png"))
    parser.add_argument(
        "--validate",
        action="store_true",
        help="fit 1976-1982, test 1983-1985 (model choice); never the test years",
    )
    parser.add_argument("--n-boot", type=int, default=1000)
    parser.add_argument("--write-model", type=Path, help="write the fitted Hoek van Holland model")
    args = parser.parse_args()
    if not (args.data / STATIONS["hoekvanholland"][0]).is_file():
        raise SystemExit(f"no {STATIONS['hoekvanholland'][0]} in {args.data}; give --data DIR")
    train, test = ((1976, 1983), (1983, 1986)) if args.validate else ((1976, 1986), (1986, 1995))
    start = time.perf_counter()
    result: dict[str, float | str | int] = {}
    hvh, rows = run_station("hoekvanholland", args.data, train, test, args.n_boot)
    for i, lead in enumerate(REPORT_LEADS):
        result[f"csi_{lead}h"] = round(rows["model"][i].score("csi"), 3)
    for i, lead in enumerate(REPORT_LEADS):
        if lead in (6, 12):
            result[f"bias_{lead}h"] = round(rows["model"][i].score("bias"), 3)
    for row in ("baseline", "raw"):
        for i, lead in enumerate(REPORT_LEADS):
            key = "baseline" if row == "baseline" else "baseline_raw"
            result[f"{key}_csi_{lead}h"] = round(rows[row][i].score("csi"), 3)
    if "own" in rows:
        for i, lead in enumerate(REPORT_LEADS):
            result[f"own_gauge_csi_{lead}h"] = round(rows["own"][i].score("csi"), 3)
    result["model"] = MODEL_NAME if hvh.upstream is not None else "own"
    result["variants_compared"] = VARIANTS_COMPARED
    lines = {"tide + ridge surge (own gauge)": rows["own"]} if "own" in rows else {}
    plot_skill(
        {
            f"tide + surge ({result['model']})": rows["model"],
            **lines,
            "tide + persisted surge": rows["baseline"],
        },
        args.plot,
        f"Hoek van Holland, yellow 220 cm, test {test[0]}-{test[1] - 1}",
    )
    _log(f"plot: {args.plot}")
    if args.write_model:
        attrs = dict(
            hvh.attrs,
            source="RWS hourly water level HOEKVHLD (open data)",
            train_years=f"{train[0]}-{train[1] - 1} (UTC)",
            scoring="hourly pairs: forecast for t issued at t - L vs observed at t",
            bench="bench/warning_skill.py",
        )
        args.write_model.write_text(replace(hvh, attrs=attrs).to_json() + "\n", encoding="utf-8")
        _log(f"model: {args.write_model}")
    if (args.data / STATIONS["vlissingen"][0]).is_file():
        # Vlissingen is the most upstream gauge here: its own-gauge model, untuned.
        _, vrows = run_station("vlissingen", args.data, train, test, args.n_boot)
        for i, lead in enumerate(REPORT_LEADS):
            result[f"vlissingen_csi_{lead}h"] = round(vrows["model"][i].score("csi"), 3)
            base = vrows["baseline"][i].score("csi")
            result[f"vlissingen_baseline_csi_{lead}h"] = round(base, 3)
        plot_skill(
            {"tide + ridge surge": vrows["model"], "tide + persisted surge": vrows["baseline"]},
            args.plot.with_name(args.plot.stem + "_vlissingen" + args.plot.suffix),
            f"Vlissingen, yellow 330 cm, test {test[0]}-{test[1] - 1}",
        )
    result["seconds"] = round(time.perf_counter() - start, 1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()

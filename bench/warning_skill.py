"""Water-level warning skill: tide + ridge surge forecast against "tide + persisted surge".

Run from the repository root::

    .venv/bin/python bench/warning_skill.py                   # test 1986-1994, about 2 min
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
1986-1994 is then forecast 1-24 h ahead from the observations up to that hour. Scoring
(:mod:`stadswacht.detect.hazard.skill`): each hour of the test period is one pair "forecast for
hour t, issued at t - L, reaches the threshold" / "observed level at t reaches the warning
level" (yellow: 220 cm at Hoek van Holland, 330 cm at Vlissingen). Rows:

- ``raw``: the baseline warning at the level itself (threshold = level);
- ``baseline`` and ``model``: thresholds per lead chosen on the TRAINING period so that the
  frequency bias there is 1 (:func:`~stadswacht.detect.hazard.skill.threshold_for_unit_bias`),
  applied unchanged to the test period.

90 % intervals: block bootstrap over 3-day blocks (1000 resamples). Mean lead time of warned
events: over events (runs of hours at or above the level), the longest lead at which the
forecast for the event's first hour warned. Vlissingen is the untuned second check: the same
code with its own fit and its own training thresholds.

The last line is JSON: ``csi_1h`` ... ``csi_24h``, ``bias_6h``, ``bias_12h`` (model at Hoek
van Holland), ``baseline_csi_*``, ``baseline_raw_csi_*``, ``vlissingen_csi_*`` and ``seconds``.
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


def _thresholds(h: Hindcast, level: float) -> tuple[float, ...]:
    return tuple(
        threshold_for_unit_bias(h.level[:, k], h.observed[:, k], level)
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
                valid, h.level[:, k], h.observed[:, k], level, thr, lead_h=lead, n_boot=n_boot
            )
        )
    return out


def _lead_time(h: Hindcast, series: TimeSeries, level: float, thr: tuple[float, ...]) -> str:
    warned = np.nan_to_num(h.level, nan=-np.inf) >= np.asarray(thr)[None, :]
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
    t0 = time.perf_counter()
    model = fit_water_level(fit_part, lat, LEADS)
    _log(
        f"{name}: fitted tide ({len(model.tide.names)} constituents) and surge"
        f" in {time.perf_counter() - t0:.0f} s"
    )
    train_model = hindcast(model, fit_part)
    train_pers = persistence_hindcast(model.tide, fit_part, LEADS)
    thr_model, thr_pers = _thresholds(train_model, level), _thresholds(train_pers, level)
    model = replace(model, levels={"yellow": level}, thresholds={"yellow": thr_model})
    # The test hindcast starts a day early so that its first hours have a surge history.
    test_hist = series.between(_utc(test[0]) - 86400.0 * 2, _utc(test[1]))
    keep = test_hist.times >= _utc(test[0])
    h_model, h_pers = hindcast(model, test_hist), persistence_hindcast(model.tide, test_hist, LEADS)
    h_model = _cut(h_model, keep)
    h_pers = _cut(h_pers, keep)
    rows = {
        "raw": _skills(h_pers, level, None, n_boot),
        "baseline": _skills(h_pers, level, thr_pers, n_boot),
        "model": _skills(h_model, level, thr_model, n_boot),
    }
    _print_table(
        f"{name}, yellow {level:.0f} cm, fit {train[0]}-{train[1] - 1}, "
        f"test {test[0]}-{test[1] - 1}",
        rows,
    )
    print("  lead time, model:    " + _lead_time(h_model, test_part, level, thr_model))
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
        h.issue_times[keep], h.leads_h, h.level[keep], h.low[keep], h.high[keep], h.observed[keep]
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
    result: dict[str, float] = {}
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
    plot_skill(
        {"tide + ridge surge": rows["model"], "tide + persisted surge": rows["baseline"]},
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

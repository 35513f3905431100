"""``stadswacht forecast hotspots``: forecast one day, write the maps, keep the run.

Reads an incident file and a study-area polygon, forecasts the expected incidents per cell
for one day with one model, writes ``<out>/<model>-<day>.geojson`` (the top cells, WGS 84, for
the dashboard layer) and ``<out>/<model>-<day>.png``, and stores the run (inputs' hash,
parameters, who ran it: ``cli:<os user>``) in the platform's store, so every forecast made is
on record. Places only, never persons: the reader refuses person-level columns.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from stadswacht.errors import StadswachtError

if TYPE_CHECKING:
    from stadswacht.forecast.hotspots.runs import ForecastRun

__all__ = ["forecast_backtest", "forecast_hotspots", "hotspots_app"]

hotspots_app = typer.Typer(help="Place-based hotspot forecasts.")

console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def _fail(exc: object) -> typer.Exit:
    err.print(f"[red]error:[/red] {exc}")
    return typer.Exit(1)


@hotspots_app.command("hotspots")
def forecast_hotspots(
    incidents: Annotated[
        Path, typer.Argument(help="Geocoded incidents (CSV or .csv.gz): kind, time and place")
    ],
    area: Annotated[
        Path, typer.Option("--area", help="Study-area polygon (any vector file GDAL reads)")
    ],
    day: Annotated[
        datetime | None,
        typer.Option(
            formats=["%Y-%m-%d"],
            help="Day to forecast (YYYY-MM-DD); default: the day after the last incident",
        ),
    ] = None,
    out: Annotated[Path, typer.Option("--out", help="Directory for the GeoJSON and PNG")] = Path(),
    cell: Annotated[float, typer.Option(help="Cell side [m]")] = 150.0,
    model: Annotated[
        str,
        typer.Option(
            help="naive_count, retrospective_kde, prospective_hotspot, near_repeat_smoothed, "
            "count_mixture or sepp"
        ),
    ] = "near_repeat_smoothed",
    top: Annotated[
        float, typer.Option(help="Percentage of the area's cells in the maps", min=0.01, max=20)
    ] = 5.0,
    agency: Annotated[str, typer.Option(help="Agency that owns the forecast")] = "police",
    kind: Annotated[
        list[str] | None, typer.Option(help="Only incidents of this kind (repeatable)")
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option(help="Store to keep the run in (default: STADSWACHT_DATABASE_URL)"),
    ] = None,
    store: Annotated[
        bool, typer.Option("--store/--no-store", help="Keep the run in the store")
    ] = True,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the run's summary as JSON")
    ] = False,
    audit_areas: Annotated[
        Path | None,
        typer.Option(
            "--audit-areas",
            help="GeoJSON polygons (e.g. neighbourhoods, longitude/latitude) for the run's "
            "bias audit: each area's share of flagged cells against its share of reported crime",
        ),
    ] = None,
    audit_name_field: Annotated[
        str | None, typer.Option(help="Property naming each audit area (default: the first text)")
    ] = None,
) -> None:
    """Forecast where incidents will concentrate on one day; write the GeoJSON and PNG maps,
    audit the flagged cells across areas when ``--audit-areas`` is given, and keep the run
    (with its inputs' hash, parameters, who ran it and its bias audit) in the store."""
    from stadswacht.forecast.hotspots.bias import read_areas
    from stadswacht.forecast.hotspots.grid import grid_over, read_polygon
    from stadswacht.forecast.hotspots.incidents import read_incidents
    from stadswacht.forecast.hotspots.maps import write_geojson, write_png
    from stadswacht.forecast.hotspots.runs import MODELS, audit_bias, cli_user, run_forecast

    if model not in MODELS:
        raise _fail(f"unknown model {model!r}; choose one of {', '.join(MODELS)}")
    fraction = top / 100.0
    try:
        with Progress(
            SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
            console=err, transient=True,
        ) as progress:  # fmt: skip
            task = progress.add_task(f"reading {incidents.name}", total=3)
            inc, meta = read_incidents(incidents)
            if kind:
                inc = inc.of_kind(*kind)
            polygon, _ = read_polygon(area, crs=inc.crs)
            grid = grid_over(polygon, cell, crs=inc.crs)
            if day is None:
                if not len(inc):
                    raise ValueError(f"{incidents.name} has no incidents to forecast from")
                last = datetime.fromisoformat(str(meta["end"]))
                day = last + timedelta(days=1)
            iso = day.date().isoformat()
            progress.update(task, advance=1, description=f"forecasting {iso} with {model}")
            run = run_forecast(inc, grid, model, iso, by=cli_user(), agency=agency)
            if audit_areas is not None:
                names, polys = read_areas(audit_areas, crs=inc.crs, name_field=audit_name_field)
                bias = audit_bias(run, inc, names, polys, source=audit_areas.name)
                run = dataclasses.replace(run, bias=bias)
            progress.update(task, advance=1, description="writing the maps")
            out.mkdir(parents=True, exist_ok=True)
            stem = out / f"{model}-{iso}"
            geojson = write_geojson(run, stem.with_suffix(".geojson"), top=fraction)
            png = write_png(run, stem.with_suffix(".png"), area=polygon, top=fraction)
            progress.update(task, advance=1)
    except (StadswachtError, ValueError, OSError) as exc:
        raise _fail(exc) from exc

    stored_in = _keep(run, database_url) if store else None
    summary: dict[str, Any] = {
        "id": run.id, "model": run.model, "day": run.day, "agency": run.agency,
        "classification": run.classification, "created_by": run.created_by,
        "inputs_hash": run.inputs_hash, "n_incidents": run.n_incidents,
        "expected_total": run.expected_total, "cells_inside": run.grid["n_inside"],
        "top": fraction, "geojson": str(geojson), "png": str(png), "stored_in": stored_in,
        "bias": run.bias,
    }  # fmt: skip
    if as_json:
        print(json.dumps(summary))
        return
    console.print(
        f"{run.model} for {run.day}: {run.expected_total:.2f} incidents expected over "
        f"{run.grid['n_inside']} cells of {cell:g} m, from {run.n_incidents} incidents before it"
    )
    console.print(f"maps: {geojson}, {png}")
    if run.bias is None:
        console.print(
            "[yellow]no bias audit: give --audit-areas (e.g. neighbourhood polygons) to see how "
            "the flagged cells spread across areas against their share of reported crime[/yellow]"
        )
    else:
        console.print(
            f"bias audit over {len(run.bias['areas'])} areas ({run.bias['reference_incidents']} "
            f"incidents in the {run.bias['history_days']:g} days before): flagged share / "
            "crime share = exposure ratio"
        )
        for row in run.bias["areas"]:
            ratio = "-" if row["ratio"] is None else f"{row['ratio']:.2f}"
            console.print(
                f"  {row['area']:30s} {row['flagged_share']:6.1%} / {row['crime_share']:6.1%}"
                f" = {ratio}"
            )
        if run.bias["over_exposed"]:
            console.print(
                f"[bold yellow]flagged at least {run.bias['flag_ratio']:g}x their share of "
                f"reported crime: {', '.join(run.bias['over_exposed'])}[/bold yellow]"
            )
    console.print(
        f"run {run.id} ({run.classification}, {run.agency}), inputs {run.inputs_hash[:16]}..."
        + (f", stored in {stored_in}" if stored_in else ", not stored")
    )


def _keep(run: ForecastRun, database_url: str | None) -> str:
    """Store the run; return where (the URL without its password)."""
    from stadswacht.store import open_store
    from stadswacht.store.postgres import describe_url

    try:
        if database_url is None:
            from stadswacht.config import get_settings

            database_url = get_settings().database_url
        s = open_store(database_url)
        try:
            s.put_forecast_run(run.to_stored())
        finally:
            s.close()
    except StadswachtError as exc:
        raise _fail(f"the maps are written, but the run was not stored: {exc}") from exc
    return database_url if database_url.startswith("sqlite:") else describe_url(database_url)


@hotspots_app.command("backtest")
def forecast_backtest(
    incidents: Annotated[
        Path, typer.Argument(help="Geocoded incidents (CSV or .csv.gz): kind, time and place")
    ],
    area: Annotated[
        Path, typer.Option("--area", help="Study-area polygon (any vector file GDAL reads)")
    ],
    test_from: Annotated[
        datetime, typer.Option("--test-from", formats=["%Y-%m-%d"], help="First day forecast")
    ],
    test_to: Annotated[
        datetime, typer.Option("--test-to", formats=["%Y-%m-%d"], help="Last day forecast")
    ],
    cell: Annotated[float, typer.Option(help="Cell side [m]")] = 150.0,
    model: Annotated[
        list[str] | None,
        typer.Option(help="Models to score (repeatable); default: every model but sepp"),
    ] = None,
    kind: Annotated[
        list[str] | None, typer.Option(help="Only incidents of this kind (repeatable)")
    ] = None,
    boot: Annotated[int, typer.Option(help="Bootstrap resamples of the days", min=100)] = 1000,
    as_json: Annotated[bool, typer.Option("--json", help="Print every figure as JSON")] = False,
) -> None:
    """Forecast every day from TEST_FROM to TEST_TO from the incidents before each day, with
    each model at its default parameters (fixed before any test day), and print the pooled hit
    rate and PAI at 1, 2, 5, 10 and 20 % of the area with bootstrap-over-days 95 % intervals,
    the log score and the calibration slope."""
    from stadswacht.forecast.hotspots.backtest import backtest
    from stadswacht.forecast.hotspots.grid import grid_over, read_polygon
    from stadswacht.forecast.hotspots.incidents import day_number, read_incidents
    from stadswacht.forecast.hotspots.runs import _FUNCTIONS, MODELS

    names = model or [m for m in _FUNCTIONS if m != "sepp"]
    unknown = [m for m in names if m not in _FUNCTIONS]
    if unknown:
        raise _fail(f"unknown model(s) {', '.join(unknown)}; choose from {', '.join(_FUNCTIONS)}")
    first = int(day_number(test_from.date().isoformat()))
    last = int(day_number(test_to.date().isoformat()))
    if last < first:
        raise _fail(f"--test-to {test_to.date()} is before --test-from {test_from.date()}")
    try:
        with Progress(
            SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
            console=err, transient=True,
        ) as progress:  # fmt: skip
            task = progress.add_task(f"reading {incidents.name}", total=None)
            inc, _meta = read_incidents(incidents)
            if kind:
                inc = inc.of_kind(*kind)
            polygon, _ = read_polygon(area, crs=inc.crs)
            grid = grid_over(polygon, cell, crs=inc.crs)

            def say(text: str) -> None:
                progress.update(task, description=text)

            result = backtest(
                inc,
                grid,
                {m: _FUNCTIONS[m] for m in names},
                range(first, last + 1),
                params={m: MODELS[m] for m in names},
                n_boot=boot,
                progress=say,
            )
    except (StadswachtError, ValueError, OSError) as exc:
        raise _fail(exc) from exc
    figures: dict[str, Any] = {
        "days": len(result.days),
        "events": int(result.events.sum()),
        "cells": int(grid.n_inside),
        "models": {},
    }
    for name, s in result.scores.items():
        figures["models"][name] = {
            "coverage": list(s.coverages),
            "hit_rate": [
                [round(i.estimate, 4), round(i.lo, 4), round(i.hi, 4)] for i in s.hit_rate
            ],
            "pai": [[round(i.estimate, 3), round(i.lo, 3), round(i.hi, 3)] for i in s.pai],
            "log_score": round(s.log_score, 4),
            "calibration_slope": round(s.calibration_slope, 3),
        }
    if as_json:
        print(json.dumps(figures))
        return
    console.print(
        f"{figures['days']} days, {figures['events']} incidents scored, {figures['cells']} cells"
    )
    for name, f in figures["models"].items():
        pais = ", ".join(
            f"{c:.0%}: {p[0]:.2f} [{p[1]:.2f}-{p[2]:.2f}]"
            for c, p in zip(f["coverage"], f["pai"], strict=True)
        )
        console.print(f"  {name}: PAI {pais}; calibration slope {f['calibration_slope']}")

"""``stadswacht forecast hotspots``: on a real slice of incidents and a small polygon it writes
the GeoJSON and PNG maps and keeps the run in the store, with who ran it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from stadswacht.forecast.hotspots.cli import hotspots_app
from stadswacht.forecast.hotspots.runs import ForecastRun
from stadswacht.store import open_store

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "crime"
CHICAGO = FIXTURES / "chicago_aggravated_assaults_2019-10-01_03.csv"


@pytest.fixture
def area(tmp_path: Path) -> Path:
    """A polygon over Chicago's South Side (WGS 84 GeoJSON)."""
    ring = [[-87.75, 41.70], [-87.55, 41.70], [-87.55, 41.90], [-87.75, 41.90], [-87.75, 41.70]]
    path = tmp_path / "area.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {},
         "geometry": {"type": "Polygon", "coordinates": [ring]}},
    ]}))  # fmt: skip
    return path


def test_writes_both_maps_and_stores_the_run(area: Path, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/stadswacht.db"
    out = tmp_path / "maps"
    result = CliRunner().invoke(
        hotspots_app,
        ["hotspots", str(CHICAGO), "--area", str(area), "--cell", "250", "--model", "naive_count",
         "--out", str(out), "--top", "5", "--agency", "police", "--database-url", db, "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["day"] == "2019-10-04"  # the day after the last incident
    geojson, png = out / "naive_count-2019-10-04.geojson", out / "naive_count-2019-10-04.png"
    assert summary["geojson"] == str(geojson) and summary["png"] == str(png)
    fc = json.loads(geojson.read_text())
    assert fc["type"] == "FeatureCollection" and fc["features"]
    assert png.read_bytes()[:4] == b"\x89PNG"

    store = open_store(db)
    try:
        run = ForecastRun.from_stored(store.get_forecast_run(summary["id"]))
        latest = store.latest_forecast_run(agency="police", model="naive_count")
    finally:
        store.close()
    assert latest is not None and latest.id == run.id
    assert run.created_by.startswith("cli:") and run.agency == "police"
    assert run.classification == "TLP:AMBER" and run.inputs_hash == summary["inputs_hash"]
    assert run.n_incidents == summary["n_incidents"] > 50


def test_a_chosen_day_a_summary_and_no_store(area: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        hotspots_app,
        ["hotspots", str(CHICAGO), "--area", str(area), "--day", "2019-10-03",
         "--out", str(tmp_path), "--no-store"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "near_repeat_smoothed for 2019-10-03" in result.stdout and "not stored" in result.stdout
    assert (tmp_path / "near_repeat_smoothed-2019-10-03.png").exists()


def test_errors_say_what_was_wrong(area: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    bad = runner.invoke(
        hotspots_app, ["hotspots", str(CHICAGO), "--area", str(area), "--model", "magic"]
    )
    assert bad.exit_code == 1 and "unknown model 'magic'" in bad.output
    person = runner.invoke(
        hotspots_app,
        ["hotspots", str(FIXTURES / "medellin_homicides_20.csv"), "--area", str(area), "--no-store",
         "--out", str(tmp_path)],
    )  # fmt: skip
    assert person.exit_code == 1 and "person-level" in person.output


def test_backtest_prints_pai_and_hit_rate_at_each_coverage_for_every_model(area: Path) -> None:
    result = CliRunner().invoke(
        hotspots_app,
        ["backtest", str(CHICAGO), "--area", str(area), "--cell", "250",
         "--test-from", "2019-10-03", "--test-to", "2019-10-03", "--boot", "200", "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert figures["days"] == 1 and figures["events"] > 20
    assert set(figures["models"]) >= {"naive_count", "retrospective_kde", "near_repeat_smoothed"}
    for f in figures["models"].values():
        assert f["coverage"] == [0.01, 0.02, 0.05, 0.1, 0.2]
        for estimate, lo, hi in f["pai"] + f["hit_rate"]:
            assert lo <= estimate <= hi
    late = CliRunner().invoke(
        hotspots_app,
        ["backtest", str(CHICAGO), "--area", str(area), "--test-from", "2019-10-03",
         "--test-to", "2019-10-01"],
    )  # fmt: skip
    assert late.exit_code == 1 and "before --test-from" in late.output


def test_a_run_with_audit_areas_keeps_its_bias_audit(area: Path, tmp_path: Path) -> None:
    """Two halves of the area (west, east): the audit gives each half's share of flagged cells
    and of reported crime, the shares sum to one and the ratio is their quotient."""
    halves = tmp_path / "halves.geojson"
    west = [[-87.75, 41.70], [-87.65, 41.70], [-87.65, 41.90], [-87.75, 41.90], [-87.75, 41.70]]
    east = [[-87.65, 41.70], [-87.55, 41.70], [-87.55, 41.90], [-87.65, 41.90], [-87.65, 41.70]]
    halves.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": n},
         "geometry": {"type": "Polygon", "coordinates": [ring]}}
        for n, ring in (("west", west), ("east", east))
    ]}))  # fmt: skip
    db = f"sqlite:///{tmp_path}/stadswacht.db"
    result = CliRunner().invoke(
        hotspots_app,
        ["hotspots", str(CHICAGO), "--area", str(area), "--cell", "250", "--model", "naive_count",
         "--out", str(tmp_path), "--database-url", db, "--audit-areas", str(halves), "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    bias = summary["bias"]
    rows = {r["area"]: r for r in bias["areas"]}
    assert set(rows) == {"west", "east"}
    assert bias["flagged_cells"] > 0 and bias["reference_incidents"] > 50
    assert sum(r["flagged_share"] for r in rows.values()) == pytest.approx(1, abs=1e-3)
    assert sum(r["crime_share"] for r in rows.values()) == pytest.approx(1, abs=1e-3)
    for r in rows.values():
        assert r["ratio"] == pytest.approx(r["flagged_share"] / r["crime_share"], rel=0.01)
    store = open_store(db)
    try:
        run = ForecastRun.from_stored(store.get_forecast_run(summary["id"]))
    finally:
        store.close()
    assert run.bias == bias  # kept with the run
    # Without areas the run says it has no audit, and how to get one.
    plain = CliRunner().invoke(
        hotspots_app,
        ["hotspots", str(CHICAGO), "--area", str(area), "--cell", "250", "--model", "naive_count",
         "--out", str(tmp_path), "--no-store"],
    )  # fmt: skip
    assert plain.exit_code == 0 and "no bias audit" in plain.stdout

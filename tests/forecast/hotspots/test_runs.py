"""Forecast runs: the inputs hash changes exactly when an input does, and a run keeps what it
was made from, who made it and its classification, and survives a round trip."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from stadswacht.forecast.hotspots import Incidents, grid_over
from stadswacht.forecast.hotspots.grid import Grid
from stadswacht.forecast.hotspots.models import near_repeat_smoothed
from stadswacht.forecast.hotspots.runs import (
    MODELS,
    ForecastRun,
    grid_from_definition,
    inputs_hash,
    run_forecast,
)

CRS = 26971
DAY = "2020-03-01"  # day 18322


def _incidents(n: int = 400, seed: int = 1) -> Incidents:
    rng = np.random.default_rng(seed)
    t = 18322 - rng.uniform(0.0, 700.0, n)
    hot = rng.random(n) < 0.5  # half of them around one corner: a hotspot
    x = np.where(hot, rng.normal(300, 60, n), rng.uniform(0, 1500, n))
    y = np.where(hot, rng.normal(300, 60, n), rng.uniform(0, 1500, n))
    return Incidents(t, np.clip(x, 1, 1499), np.clip(y, 1, 1499), "burglary", CRS, "minute")


def _grid(cell: float = 150.0) -> Grid:
    return grid_over(shapely.box(0, 0, 1500, 1500), cell, crs=CRS)


def _hash(inc: Incidents, grid: Grid, model: str = "naive_count", **params: object) -> str:
    return inputs_hash(inc, grid, model, DAY, {**MODELS[model], **params})


def test_inputs_hash_changes_with_every_input_and_with_nothing_else() -> None:
    inc, grid = _incidents(), _grid()
    base = _hash(inc, grid)
    # Same inputs: same hash; the order incidents come in does not matter.
    shuffled = inc.select(np.random.default_rng(2).permutation(len(inc)))
    assert _hash(shuffled, grid) == base == _hash(_incidents(), _grid())
    # Incidents on or after the day are not inputs (no model may read them).
    later = Incidents([18322.0, 18400.5], [10.0, 20.0], [10.0, 20.0], "burglary", CRS)
    joined = Incidents(
        np.r_[inc.t_day, later.t_day], np.r_[inc.x, later.x], np.r_[inc.y, later.y],
        np.r_[inc.kind, later.kind], CRS, "minute",
    )  # fmt: skip
    assert _hash(joined, grid) == base
    # Each input changes it.
    moved_x = inc.x.copy()
    moved_x[7] += 0.01
    renamed = np.where(np.arange(len(inc)) == 3, "theft", "burglary")
    changed = {
        "an incident moved": _hash(Incidents(inc.t_day, moved_x, inc.y, inc.kind, CRS), grid),
        "one incident fewer": _hash(inc.select(np.arange(1, len(inc))), grid),
        "a kind renamed": _hash(Incidents(inc.t_day, inc.x, inc.y, renamed, CRS), grid),
        "the cell size": _hash(inc, _grid(100.0)),
        "the area": _hash(inc, grid_over(shapely.box(0, 0, 1500, 1400), crs=CRS)),
        "the model": _hash(inc, grid, "retrospective_kde"),
        "a parameter": _hash(inc, grid, window_days=365.0),
        "the day": inputs_hash(inc, grid, "naive_count", "2020-03-02", MODELS["naive_count"]),
    }
    assert base not in changed.values()
    assert len(set(changed.values())) == len(changed), changed


def test_a_run_keeps_its_inputs_parameters_author_and_is_amber() -> None:
    inc, grid = _incidents(), _grid()
    run = run_forecast(
        inc, grid, "near_repeat_smoothed", DAY, {"boost": 0.5}, by="cli:ann", agency="police"
    )
    assert run.model == "near_repeat_smoothed" and run.day == DAY
    assert run.parameters == {**MODELS["near_repeat_smoothed"], "boost": 0.5}
    assert run.created_by == "cli:ann" and run.agency == "police"
    assert run.classification == "TLP:AMBER"
    assert run.inputs_hash == inputs_hash(inc, grid, run.model, DAY, run.parameters)
    assert run.n_incidents == len(inc) and run.kinds == ["burglary"]
    # The forecast kept is the model's (float32 precision), and the top 20 % ranked.
    expected = near_repeat_smoothed(inc, grid, 18322.0, **run.parameters)
    np.testing.assert_allclose(run.forecast(), expected, rtol=1e-6, atol=1e-9)
    assert len(run.cells) == round(0.2 * grid.n_inside)
    values = [c["expected"] for c in run.cells]
    assert values == sorted(values, reverse=True)
    assert [c["rank"] for c in run.cells][:3] == [1, 2, 3]
    assert run.cells[0]["cell"] == int(np.argmax(expected))
    # Round trips: the stored document and the grid.
    assert ForecastRun.from_stored(run.to_stored()) == run
    g2 = grid_from_definition(run.grid)
    assert (g2.mask == grid.mask).all() and (g2.x0, g2.cell, g2.nx) == (grid.x0, grid.cell, grid.nx)
    # Nothing in a run is about a person.
    assert not {"name", "suspect", "victim", "person"} & set(run.to_doc())


@pytest.mark.parametrize("model", sorted(MODELS))
def test_every_model_runs_and_each_run_is_new(model: str) -> None:
    inc, grid = _incidents(), _grid()
    a = run_forecast(inc, grid, model, DAY, by="u", agency="police")
    b = run_forecast(inc, grid, model, DAY, by="u", agency="police")
    assert a.id != b.id and a.inputs_hash == b.inputs_hash
    assert a.expected_total > 0 and a.cells


def test_unknown_models_and_parameters_are_refused_by_name() -> None:
    inc, grid = _incidents(), _grid()
    with pytest.raises(ValueError, match="unknown hotspot model 'magic'"):
        run_forecast(inc, grid, "magic", DAY, by="u", agency="police")
    with pytest.raises(ValueError, match=r"no parameter\(s\) \['radius'\]"):
        run_forecast(inc, grid, "naive_count", DAY, {"radius": 3}, by="u", agency="police")
    with pytest.raises(ValueError, match="EPSG:26971"):
        run_forecast(inc, grid_over(shapely.box(0, 0, 9, 9), crs=32631), "naive_count", DAY,
                     by="u", agency="police")  # fmt: skip

"""Hotspot forecasts: the latest run and a run by id, as a GeoJSON layer of its top cells.

Runs are made by the command line or a scheduled job (``stadswacht forecast hotspots``), never
through the API. A run belongs to the agency that made it and is ``TLP:AMBER``: the policy
decision point (:mod:`stadswacht.api.policy`) shows it to that agency's roles that may read
forecasts, and to another agency only under an agreement for kind ``forecast`` (redacted to its
fields, audited). A run id the caller may not read is "not found".

A forecast is about places, never persons (EU AI Act art. 5(1)(d)): no field of a run names or
describes a person; ``created_by`` names the staff member (or ``cli:<user>``) who ran it, for
accountability.
"""

from __future__ import annotations

from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Query, Request

from stadswacht.api.deps import CurrentUser, PlatformDep
from stadswacht.api.policy import gate
from stadswacht.errors import NotFound
from stadswacht.forecast.hotspots.maps import DEFAULT_TOP, top_cells_geojson
from stadswacht.forecast.hotspots.runs import ForecastRun
from stadswacht.sharing.model import Action, ObjectKind
from stadswacht.store.base import StoredForecastRun

__all__ = ["router"]

router = APIRouter(tags=["forecasts"])

_SCAN = 50
"""Runs looked at for the latest one the caller may read."""

Top = Annotated[
    float,
    Query(gt=0, le=0.2, description="Fraction of the area's cells in the layer (top 5 %: 0.05)"),
]


def _doc(stored: StoredForecastRun, top: float) -> dict[str, Any]:
    """What the API shows of a run: its record (not the packed grid and values) and the layer."""
    run = ForecastRun.from_stored(stored)
    return {
        "id": run.id, "kind": "hotspots", "agency": run.agency,
        "classification": run.classification, "model": run.model, "day": run.day,
        "parameters": run.parameters, "created_at": run.created_at,
        "created_by": run.created_by, "inputs_hash": run.inputs_hash,
        "n_incidents": run.n_incidents, "incidents_start": run.incidents_start,
        "incidents_end": run.incidents_end, "kinds": run.kinds,
        "expected_total": run.expected_total, "cell_m": run.grid["cell"],
        "crs": run.grid["crs"], "recent_days": run.recent_days, "top": top,
        "geojson": top_cells_geojson(run, min(top, run.top_fraction)),
    }  # fmt: skip


@router.get("/v1/forecasts/hotspots/latest")
async def latest_hotspots(
    request: Request,
    user: CurrentUser,
    platform: PlatformDep,
    model: Annotated[str | None, Query(description="Only runs of this model")] = None,
    top: Top = DEFAULT_TOP,
) -> dict[str, Any]:
    """The newest hotspot forecast the caller may read (latest day forecast, then latest made),
    with a GeoJSON FeatureCollection of its top cells; 404 when there is none."""
    g = gate(request, user)
    agencies = g.agencies(ObjectKind.FORECAST)

    def newest() -> list[StoredForecastRun]:
        return platform.store.list_forecast_runs(agencies=agencies, model=model, limit=_SCAN)

    # The store narrows to the agencies the caller could see; the policy decides per run.
    for stored in await anyio.to_thread.run_sync(newest):
        doc = _doc(stored, top)
        if g.decide(Action.READ, ObjectKind.FORECAST, doc).allow:
            return g.one(Action.READ, ObjectKind.FORECAST, doc)
    raise NotFound("no hotspot forecast" + (f" of model {model!r}" if model else ""))


@router.get("/v1/forecasts/hotspots/{run_id}")
async def get_hotspots(
    request: Request, user: CurrentUser, platform: PlatformDep, run_id: str, top: Top = DEFAULT_TOP
) -> dict[str, Any]:
    """One hotspot forecast run with its top cells as GeoJSON, if the caller may read it
    (otherwise: not found, so ids of other agencies are not disclosed)."""
    stored = await anyio.to_thread.run_sync(platform.store.get_forecast_run, run_id)
    return gate(request, user).one(Action.READ, ObjectKind.FORECAST, _doc(stored, top))

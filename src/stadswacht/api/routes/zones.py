"""Zones: the crowd state of every zone now (occupancy, density, level of service, flows,
warning) and its density forecast from 5 min to 3 h ahead with an 80 % band.

The forecast says what it rests on (``forecast_basis``): ``"trend+normal"`` (the zone's recent
trend, relaxing to its normal for that weekday and time: points to 3 h), ``"trend"`` (no history
yet: points only as far as the trend reaches, 30 min), ``"normal"`` (no recent trend: the normal
band alone) or ``"none"``. See :mod:`stadswacht.detect.crowd.zone_forecast`.

Zone states are aggregates of counts (never of persons). A zone's state belongs to the
agency responsible for the zone: its users see it, other agencies' users under a sharing
agreement (:mod:`stadswacht.api.policy`); a zone with no responsible agency is for every
signed-in user. Counts of fewer people
than ``min_published_count`` (default 5) are published coarsened: the number becomes ``null``
and ``"<5"`` stands beside it (``occupancy_coarse``, ``in_coarse``, ``out_coarse``). They come
from this process's crowd detector: on a process that runs no detectors the answer is 503.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from fastapi import APIRouter, HTTPException, Request, status

from stadswacht.api.deps import CurrentUser, PlatformDep
from stadswacht.api.policy import gate as policy_gate
from stadswacht.model.reading import format_epoch
from stadswacht.sharing.model import Action, ObjectKind

router = APIRouter(tags=["zones"])


@router.get("/v1/zones")
async def zone_states(
    request: Request, user: CurrentUser, platform: PlatformDep
) -> list[dict[str, Any]]:
    """Every crowd zone's state, with its forecast (``time``, ``horizon_min``, ``density``,
    ``low``, ``high`` [persons/m²], 80 % band) up to 3 hours ahead, and ``forecast_basis``."""
    worker = platform.detectors
    if worker is None:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            "this process runs no detectors (STADSWACHT_DETECTORS=false): ask the one that does",
        )
    stage = worker.crowd
    now = stage.watermark if stage.watermark > float("-inf") else time.time()
    out = []
    for zone, state in stage.states(now).items():
        area = stage.area(zone)
        doc = _coarsen(dataclasses.asdict(state), platform.settings.min_published_count)
        doc["name"] = area.name if area else zone
        doc["agency"] = area.agency if area else None
        doc["updated"] = None if state.updated_s is None else format_epoch(state.updated_s)
        outlook = stage.outlook(zone, now)
        doc["forecast_basis"] = outlook.basis
        doc["forecast"] = [
            {
                "time": format_epoch(t),
                "horizon_min": round((t - now) / 60),
                "density": round(v, 3),
                "low": round(lo, 3),
                "high": round(hi, 3),
            }
            for t, v, lo, hi in outlook.points
        ]
        out.append(doc)
    # A zone without a responsible agency is nobody's: its aggregate counts are for everyone.
    g = policy_gate(request, user)
    owned = [d for d in out if d.get("agency")]
    shown = g.filter(Action.LIST, ObjectKind.ZONE_STATE, ({**d, "id": d["zone"]} for d in owned))
    return [d for d in out if not d.get("agency")] + shown


def _coarsen(doc: dict[str, Any], minimum: int) -> dict[str, Any]:
    """Replace counts of fewer than ``minimum`` people by ``None`` and a ``"<minimum"`` note.

    >>> _coarsen({"occupancy": 3.4, "density": 0.001, "gates": [
    ...     {"gate": "g", "in_per_min": 12.0, "out_per_min": 2.0}]}, 5)["gates"]
    [{'gate': 'g', 'in_per_min': 12.0, 'out_per_min': None, 'out_coarse': '<5'}]
    """
    below = f"<{minimum}"
    if doc.get("occupancy") is not None and doc["occupancy"] < minimum:
        doc.update(occupancy=None, occupancy_sd=None, density=None, occupancy_coarse=below)
    for gate in doc.get("gates", []):
        for side in ("in", "out"):
            if gate.get(f"{side}_per_min") is not None and gate[f"{side}_per_min"] < minimum:
                gate[f"{side}_per_min"] = None
                gate[f"{side}_coarse"] = below
                gate.pop(f"{side}_pmm", None)
    return doc

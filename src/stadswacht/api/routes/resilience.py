"""Resilience: the infrastructure dependency graph, "what if this fails", and coverage after the
k worst failures (``docs/resilience.md``).

The graph comes from the file ``STADSWACHT_INFRA_GRAPH_FILE`` (read again when it changes),
completed with the registered devices' positions and owners; without it every route answers
404. Infrastructure layout is sensitive: only the roles that plan or run operations or manage
devices may use these routes (``operator``, ``supervisor``, ``analyst``, ``integrator``;
administrators always), and each node is an object of kind ``device`` owned by its agency,
``TLP:AMBER`` unless the file says otherwise: the policy decision point shows a user the nodes
of their own agency and those of others under a sharing agreement (redacted, audited), as for
``/v1/devices``. A node the caller may not see is left out of every answer (and may not be
named in ``fail``). Blind spots and coverage reveal where the sensors are, so they are computed
over the sensors the caller may see: a caller who sees only some of a capability's sensors
gets the figures for those (``"basis": "own and shared sensors only"``, with the number of
sensors left out), which say nothing about the others. Zone ids and names are not sensitive
and are always shown.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any, Literal

import anyio
from fastapi import APIRouter, HTTPException, Query, Request, status
from pydantic import BaseModel, Field
from shapely.geometry import Polygon

from stadswacht.api.auth import Principal, require
from stadswacht.api.deps import CurrentUser
from stadswacht.api.policy import Gate, gate
from stadswacht.model import Area, Role
from stadswacht.pipeline import Platform
from stadswacht.resilience import (
    CAPABILITIES,
    InfraGraph,
    InfraGraphError,
    Node,
    assess,
    attach_devices,
    cascade,
    coverage_report,
    geometry_from_geojson,
    geometry_to_geojson,
    read_infra,
)
from stadswacht.resilience.graph import node_feature
from stadswacht.sharing.model import Action, ObjectKind

__all__ = ["ROLES", "router"]

log = logging.getLogger(__name__)

router = APIRouter(tags=["resilience"])

ROLES = (Role.OPERATOR, Role.SUPERVISOR, Role.ANALYST, Role.INTEGRATOR)
"""Roles that may see the infrastructure (administrators always may)."""

DEFAULT_CLASSIFICATION = "TLP:AMBER"
"""A node's classification when the file gives none: the layout is need-to-know."""

_cache: dict[Path, tuple[int, InfraGraph]] = {}
_lock = threading.Lock()


def _file_graph(platform: Platform) -> InfraGraph:
    """The graph of the configured file, read once per change of the file."""
    own = getattr(platform, "infra", None)
    if isinstance(own, InfraGraph):
        return own
    path = platform.settings.infra_graph_file
    if path is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            "no infrastructure graph is configured: set STADSWACHT_INFRA_GRAPH_FILE "
            "(docs/resilience.md)",
        )
    try:
        mtime = path.stat().st_mtime_ns
    except OSError as exc:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, f"cannot read the infrastructure graph: {exc}"
        ) from exc
    with _lock:
        hit = _cache.get(path)
        if hit is not None and hit[0] == mtime:
            return hit[1]
        try:
            graph, _ = read_infra(path)
        except InfraGraphError as exc:
            log.error("infrastructure graph not valid: %s", exc)
            raise HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE,
                f"the infrastructure graph file is not valid; an administrator must fix it: {exc}",
            ) from exc
        _cache[path] = (mtime, graph)
        return graph


def _load(platform: Platform) -> tuple[InfraGraph, list[Area]]:
    """The graph completed with the registered devices, and the platform's areas (zones)."""
    graph = _file_graph(platform)
    devices = platform.registry.list(None)
    return attach_devices(graph, devices), platform.store.list_areas()


async def _context(request: Request, user: Principal) -> tuple[InfraGraph, list[Area], Gate]:
    require(user, *ROLES)
    platform: Platform = request.app.state.platform
    graph, areas = await anyio.to_thread.run_sync(_load, platform)
    return graph, areas, gate(request, user)


def _doc(graph: InfraGraph, n: Node) -> dict[str, Any]:
    """A node as the policy sees it: a device-kind object with its owner and classification."""
    f = node_feature(n)
    return {
        "id": n.id,
        "kind": n.kind,
        "agency": n.agency or graph.default_agency or "",
        "classification": n.classification or DEFAULT_CLASSIFICATION,
        "geometry": f["geometry"],
        **{k: v for k, v in f["properties"].items() if k not in ("kind", "agency")},
    }


def _feature(doc: dict[str, Any]) -> dict[str, Any]:
    props = {k: v for k, v in doc.items() if k not in ("id", "geometry")}
    return {
        "type": "Feature",
        "id": doc["id"],
        "geometry": doc.get("geometry"),
        "properties": props,
    }


def _visible(g: Gate, graph: InfraGraph, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The docs of the nodes among ``ids`` the caller may see (redacted; audited)."""
    shown = g.filter(Action.LIST, ObjectKind.DEVICE, (_doc(graph, graph.nodes[i]) for i in ids))
    return {d["id"]: d for d in shown}


BASIS_ALL = "all sensors"
"""The basis of a capability's figures when the caller sees every sensor of it."""
BASIS_OWN = "own and shared sensors only"
"""The basis when some sensors are of other agencies and not shared with the caller."""


def _sensors(graph: InfraGraph) -> dict[str, list[str]]:
    """Per capability the ids of the sensors serving it."""
    return {cap: [n.id for n in graph.nodes.values() if cap in n.capability]
            for cap in CAPABILITIES}  # fmt: skip


def _sensor_view(
    graph: InfraGraph, seen: Iterable[str]
) -> tuple[InfraGraph, dict[str, dict[str, Any]]]:
    """The graph as a caller who sees the nodes ``seen`` may count it (only those sensors serve
    a capability; the others still fail and are still depended on), and per capability the
    basis, the sensors seen and the number left out."""
    sensors = _sensors(graph)
    seen = set(seen)
    basis = {}
    for cap, ids in sensors.items():
        left_out = sum(i not in seen for i in ids)
        basis[cap] = {
            "basis": BASIS_OWN if left_out else BASIS_ALL,
            "sensors_seen": len(ids) - left_out,
            "sensors_left_out": left_out,
        }
    if all(b["sensors_left_out"] == 0 for b in basis.values()):
        return graph, basis
    return graph.counting_only(seen), basis


@router.get("/v1/resilience/graph")
async def infra_graph(request: Request, user: CurrentUser) -> dict[str, Any]:
    """The infrastructure the caller may see: nodes as GeoJSON Features (a point, else the
    node's polygon: a substation's supply area, a place), the dependency edges between them
    (``source`` needs ``target``; ``group`` numbers the node's requirements, ``any_of``: one of
    several alternatives), and the study area."""
    graph, _, g = await _context(request, user)
    shown = _visible(g, graph, graph.nodes)
    edges = [
        {"source": a, "target": b, "group": d["group"], "any_of": d["any_of"]}
        for a, b, d in graph.graph.edges(data=True)
        if a in shown and b in shown
    ]
    ring = graph.study_area()
    out: dict[str, Any] = {
        "type": "FeatureCollection",
        "name": graph.name,
        "features": [_feature(d) for d in shown.values()],
        "edges": edges,
        "area": geometry_to_geojson(Polygon(ring)),
        "parameters": graph.parameters,
    }
    if user.is_admin:
        out["warnings"] = graph.warnings
    return out


class WhatIf(BaseModel):
    """Nodes that fail, and/or an area that floods (every node located in it fails)."""

    fail: list[str] = Field(default_factory=list, max_length=1000, description="Node ids")
    flood: dict[str, Any] | None = Field(
        default=None, description="GeoJSON Polygon, MultiPolygon or Feature (WGS84)"
    )


@router.post("/v1/resilience/whatif")
async def what_if(body: WhatIf, request: Request, user: CurrentUser) -> dict[str, Any]:
    """What goes down if ``fail`` fail and ``flood`` floods: the failed nodes with their cause,
    and per capability the sensors lost and the blind spots (GeoJSON, WGS84): ``gunshot`` where
    fewer than 3 working acoustic sensors hear a shot (``blind``; ``lost``: located before, not
    after), ``hazard`` where no gauge speaks any more, ``crowd`` the zones that lose their
    count."""
    graph, areas, g = await _context(request, user)
    if not body.fail and body.flood is None:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "name nodes in 'fail' or an area in 'flood'"
        )
    flood = None
    if body.flood is not None:
        try:
            flood = geometry_from_geojson(body.flood)
        except ValueError as exc:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"flood: {exc}") from exc
    known = [i for i in dict.fromkeys(body.fail) if i in graph.nodes]
    visible = _visible(g, graph, known)
    unknown = [i for i in dict.fromkeys(body.fail) if i not in visible]
    if unknown:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"fail: no such node in the infrastructure graph: {', '.join(unknown)}",
        )

    def run() -> dict[str, Any]:
        result = cascade(graph, list(visible), flood)
        # The sensors the figures are computed from are read: audited.
        sensor_ids = dict.fromkeys(i for ids in _sensors(graph).values() for i in ids)
        view, basis = _sensor_view(graph, _visible(g, graph, sensor_ids))
        a = assess(view, result, areas)
        shown = _visible(g, graph, sorted(result.failed))
        failed = []
        for i, d in shown.items():
            cause = result.cause[i]
            if cause not in ("initial", "flood") and cause.split(":")[-1] not in shown:
                cause = "withheld"
            failed.append({"id": i, "kind": d["kind"], "name": d.get("name"), "cause": cause,
                           "geometry": d.get("geometry")})  # fmt: skip
        summary = a.summary()
        caps: dict[str, Any] = {}
        for cap in CAPABILITIES:
            b = {k: basis[cap][k] for k in ("basis", "sensors_left_out")}
            if cap == "crowd":
                caps[cap] = {**summary["crowd"], **b, "zones_geojson": a.to_geojson("crowd")}
            elif basis[cap]["sensors_seen"] == 0:
                # Nothing of the caller's to locate with: no figures rather than "all blind".
                caps[cap] = {"sensors": 0, "failed": [], "covered_before": None,
                             "covered_after": None, "lost_share": None, **b,
                             "blind": None, "lost": None}  # fmt: skip
            else:
                caps[cap] = {
                    **summary[cap],
                    **b,
                    "blind": a.to_geojson(cap, "blind"),
                    "lost": a.to_geojson(cap, "lost"),
                }
        return {
            "fail": list(visible),
            "flood": None if flood is None else geometry_to_geojson(flood),
            "failed": failed,
            "unprotected": [i for i in result.unprotected if i in shown],
            "capabilities": caps,
        }

    return await anyio.to_thread.run_sync(run)


@router.get("/v1/resilience/coverage")
async def coverage(
    request: Request,
    user: CurrentUser,
    k: Annotated[int, Query(ge=0, le=5, description="How many single failures")] = 1,
    method: Annotated[
        Literal["greedy", "exact"], Query(description="How the worst failures are searched")
    ] = "greedy",
    recommend: Annotated[
        bool, Query(description="Also the best added sensor and added backup power")
    ] = True,
) -> dict[str, Any]:
    """Per capability the share of the study area (crowd: of the zones) covered before and
    after the ``k`` worst single failures, which nodes they are, and the one added sensor and
    the one added backup power that would raise that worst case most."""
    graph, areas, g = await _context(request, user)

    def run() -> dict[str, Any]:
        seen = _visible(g, graph, graph.nodes)
        hidden = set(graph.nodes) - set(seen)
        view, basis = _sensor_view(graph, seen)
        report = coverage_report(
            view, k, zones=[a.id for a in areas], method=method, recommend=recommend
        )
        for cap, doc in report["capabilities"].items():
            doc.update(basis=basis[cap]["basis"], sensors_left_out=basis[cap]["sensors_left_out"])
            for part in (doc, doc.get("add_sensor") or {}, doc.get("add_backup") or {}):
                if "failures" in part:
                    part["failures"] = [f if f not in hidden else None for f in part["failures"]]
            for step in doc.get("steps", []):
                if step["node"] in hidden:
                    step["node"] = None
            backup = doc.get("add_backup")
            if backup and (backup["node"] in hidden or set(backup["requirement"]) & hidden):
                doc["add_backup"] = {"withheld": True}
        report["zones"] = {a.id: a.name for a in areas}
        return report

    return await anyio.to_thread.run_sync(run)

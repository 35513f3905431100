"""The infrastructure dependency graph: sensors, gateways, links, power, pumping stations and
the places they protect, read from a YAML or JSON file (``docs/resilience.md``).

An edge ``A → B`` means "A depends on B": A fails if B fails. A node's ``depends_on`` is a list
of requirements, all of which must hold; a requirement is one node id or an ``any_of`` group of
alternatives, which holds while at least one alternative works (a battery beside the mains, a
second uplink).

>>> g = parse_infra({"nodes": [
...     {"id": "ss", "kind": "substation", "agency": "grid"},
...     {"id": "ups", "kind": "backup_power", "agency": "grid"},
...     {"id": "gw", "kind": "gateway", "agency": "city",
...      "depends_on": [{"any_of": ["ss", "ups"]}]},
...     {"id": "s1", "kind": "acoustic", "agency": "police", "position": [4.29, 52.09],
...      "depends_on": ["gw", "ss"]}]})
>>> g.requirements("s1")
(frozenset({'gw'}), frozenset({'ss'}))
>>> sorted(g.dependents("ss"))
[('gw', 0), ('s1', 1)]
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import jsonschema
import networkx as nx
import numpy as np
import yaml

from stadswacht.errors import InfraGraphError
from stadswacht.model.device import Device
from stadswacht.resilience.schema import INFRA_KINDS, SCHEMA

__all__ = [
    "CAPABILITY_OF_KIND",
    "DEFAULT_PARAMETERS",
    "POWER_KINDS",
    "InfraGraph",
    "InfraGraphError",
    "Node",
    "attach_devices",
    "parse_infra",
    "read_infra",
]

LonLat = tuple[float, float]
Ring = tuple[LonLat, ...]


CAPABILITY_OF_KIND: dict[str, str] = {
    "acoustic": "gunshot",
    "people_counter": "crowd",
    "camera_counter": "crowd",
    "water_gauge": "hazard",
    "rain_gauge": "hazard",
}
"""The capability a sensor of each kind serves, unless the node names its own."""

POWER_KINDS = frozenset({"substation", "feeder"})
"""Kinds that supply electric power (a requirement on them alone is a power dependency)."""

DEFAULT_PARAMETERS: dict[str, Any] = {
    "gunshot_range_m": 800.0,
    "gunshot_min_sensors": 3,
    "water_gauge_range_m": 3000.0,
    "rain_gauge_range_m": 1000.0,
    "flood_unprotected": True,
}
"""Parameters of the analysis, overridden by the file's ``parameters``.

- ``gunshot_range_m``: how far an acoustic sensor hears a shot [m] (a node's ``range_m``
  overrides it); a shot is located only where ``gunshot_min_sensors`` (3: a TDOA fix needs two
  independent time differences) working sensors hear it;
- ``water_gauge_range_m``, ``rain_gauge_range_m``: how far a gauge speaks for [m];
- ``flood_unprotected``: when a pumping station (or a place) fails, the area it protects
  floods and every node located in it fails (worst case; false: report it only).
"""


@dataclass(frozen=True, slots=True)
class Node:
    """One piece of infrastructure or one sensor.

    ``requires`` holds the node's requirements, each a set of alternatives (one element: a
    plain dependency). ``position``, ``polygon`` and ``protects`` are in WGS84 ``(lon, lat)``.
    ``counted`` false: a sensor left out of every capability (one the user may not see, see
    :meth:`InfraGraph.counting_only`); it still fails and is still depended on.
    """

    id: str
    kind: str
    agency: str | None = None
    name: str | None = None
    classification: str | None = None
    position: LonLat | None = None
    polygon: Ring | None = None
    protects: Ring | None = None
    range_m: float | None = None
    zone: str | None = None
    gate: str | None = None
    mode: str | None = None
    capabilities: frozenset[str] = field(default_factory=frozenset)
    requires: tuple[frozenset[str], ...] = ()
    counted: bool = True

    @property
    def capability(self) -> frozenset[str]:
        """What the node is for: its own ``capabilities``, else its kind's (nothing when it
        is not ``counted``)."""
        if not self.counted:
            return frozenset()
        if self.capabilities:
            return self.capabilities
        cap = CAPABILITY_OF_KIND.get(self.kind)
        return frozenset({cap}) if cap else frozenset()

    @property
    def flood_area(self) -> Ring | None:
        """The area that floods when this node fails: ``protects``, or a place's polygon."""
        if self.protects is not None:
            return self.protects
        return self.polygon if self.kind == "place" else None


class InfraGraph:
    """A validated dependency graph (a :class:`networkx.DiGraph`, edges A → B: A needs B).

    Args:
        nodes: The nodes; every id in their ``requires`` must be one of them.
        area: The study area ring, or ``None`` (then: the sensors' extent plus their range).
        parameters: Overrides of :data:`DEFAULT_PARAMETERS`.
        name: A title for the graph.
        warnings: What was noticed while reading it (kept, shown by the API).
        default_agency: The owner of a sensor that names none and is not registered.
    """

    def __init__(
        self,
        nodes: Iterable[Node],
        *,
        area: Ring | None = None,
        parameters: Mapping[str, Any] | None = None,
        name: str = "",
        warnings: Sequence[str] = (),
        default_agency: str | None = None,
    ) -> None:
        self.nodes: dict[str, Node] = {}
        for n in nodes:
            if n.id in self.nodes:
                raise InfraGraphError(f"node id {n.id!r} appears twice; ids must be unique")
            self.nodes[n.id] = n
        self.area = area
        self.parameters: dict[str, Any] = {**DEFAULT_PARAMETERS, **(parameters or {})}
        self.name = name
        self.warnings = list(warnings)
        self.default_agency = default_agency
        self.graph: nx.DiGraph[str] = nx.DiGraph()
        self.graph.add_nodes_from(self.nodes)
        self._dependents: dict[str, list[tuple[str, int]]] = {i: [] for i in self.nodes}
        for n in self.nodes.values():
            for g, alternatives in enumerate(n.requires):
                for b in alternatives:
                    if b not in self.nodes:
                        raise InfraGraphError(f"node {n.id!r} depends on {b!r}, which is no node")
                    self.graph.add_edge(n.id, b, group=g, any_of=len(alternatives) > 1)
                    self._dependents[b].append((n.id, g))
        located = [n for n in self.nodes.values() if n.position is not None]
        self._located_ids = [n.id for n in located]
        self._located_xy = np.array(
            [n.position for n in located if n.position is not None], dtype=float
        ).reshape(-1, 2)

    def __len__(self) -> int:
        return len(self.nodes)

    def __repr__(self) -> str:
        return f"InfraGraph({self.name!r}, {len(self.nodes)} nodes, {self.n_edges} edges)"

    @property
    def n_edges(self) -> int:
        """Number of dependency edges."""
        return int(self.graph.number_of_edges())

    def requirements(self, node: str) -> tuple[frozenset[str], ...]:
        """What ``node`` needs: each element a set of alternatives, any one of which will do."""
        return self.nodes[node].requires

    def dependents(self, node: str) -> list[tuple[str, int]]:
        """``(dependent, requirement index)`` for every node that needs ``node``."""
        return self._dependents[node]

    def located(self) -> tuple[list[str], np.ndarray]:
        """Ids and ``(lon, lat)`` array of every node with a position."""
        return self._located_ids, self._located_xy

    def sensors(self, capability: str) -> list[Node]:
        """The located nodes serving ``capability`` (``gunshot``, ``crowd``, ``hazard``)."""
        return [
            n for n in self.nodes.values() if capability in n.capability and n.position is not None
        ]

    def with_nodes(self, nodes: Iterable[Node]) -> InfraGraph:
        """A copy in which the given nodes replace (or join) those with the same id."""
        merged = dict(self.nodes)
        for n in nodes:
            merged[n.id] = n
        return InfraGraph(
            merged.values(),
            area=self.area,
            parameters=self.parameters,
            name=self.name,
            warnings=self.warnings,
            default_agency=self.default_agency,
        )

    def counting_only(self, sensors: Iterable[str]) -> InfraGraph:
        """A copy in which only the given sensors serve their capabilities; every other sensor
        stays in the graph (its dependencies, its position, its failure) but counts for none.

        Coverage and blind spots on it are those of a user who sees only ``sensors``; they
        reveal nothing about the others. The study area stays the same (the other sensors
        keep their positions).

        >>> g = parse_infra({"defaults": {"agency": "c"}, "nodes": [
        ...     {"id": "a", "kind": "acoustic", "position": [4.29, 52.09]},
        ...     {"id": "b", "kind": "acoustic", "position": [4.30, 52.09]}]})
        >>> [n.id for n in g.counting_only(["a"]).sensors("gunshot")]
        ['a']
        """
        keep = set(sensors)
        return InfraGraph(
            (
                n if n.id in keep or not n.capability else replace(n, counted=False)
                for n in self.nodes.values()
            ),
            area=self.area,
            parameters=self.parameters,
            name=self.name,
            warnings=self.warnings,
            default_agency=self.default_agency,
        )

    def study_area(self) -> Ring:
        """The study area: the file's ``area``, else the box around every located node
        widened by the gunshot range."""
        if self.area is not None:
            return self.area
        _, xy = self.located()
        if len(xy) == 0:
            raise InfraGraphError("the graph has no 'area' and no located node to derive one")
        pad_m = float(self.parameters["gunshot_range_m"])
        lat0 = float(xy[:, 1].mean())
        dlat = pad_m / 111_320.0
        dlon = pad_m / (111_320.0 * max(math.cos(math.radians(lat0)), 1e-6))
        x0, y0 = xy.min(axis=0)
        x1, y1 = xy.max(axis=0)
        return (
            (float(x0 - dlon), float(y0 - dlat)),
            (float(x1 + dlon), float(y0 - dlat)),
            (float(x1 + dlon), float(y1 + dlat)),
            (float(x0 - dlon), float(y1 + dlat)),
        )

    def to_geojson(self) -> dict[str, Any]:
        """Nodes as GeoJSON Features (a point, else the node's polygon, else no geometry) and
        the edges as a list, ``{"type": "FeatureCollection", "features", "edges"}``."""
        return {
            "type": "FeatureCollection",
            "name": self.name,
            "features": [node_feature(n) for n in self.nodes.values()],
            "edges": [
                {"source": a, "target": b, "group": d["group"], "any_of": d["any_of"]}
                for a, b, d in self.graph.edges(data=True)
            ],
        }


def node_feature(n: Node) -> dict[str, Any]:
    """One node as a GeoJSON Feature; its requirements as lists in ``depends_on``."""
    geometry: dict[str, Any] | None = None
    if n.position is not None:
        geometry = {"type": "Point", "coordinates": list(n.position)}
    elif n.polygon is not None:
        geometry = {"type": "Polygon", "coordinates": [_closed(n.polygon)]}
    props: dict[str, Any] = {
        "kind": n.kind,
        "name": n.name,
        "agency": n.agency,
        "capabilities": sorted(n.capability),
        "depends_on": [sorted(g) for g in n.requires],
    }
    for key in ("zone", "gate", "mode", "range_m", "classification"):
        if getattr(n, key) is not None:
            props[key] = getattr(n, key)
    if n.polygon is not None and n.position is not None:
        props["polygon"] = _closed(n.polygon)
    if n.protects is not None:
        props["protects"] = _closed(n.protects)
    return {"type": "Feature", "id": n.id, "geometry": geometry, "properties": props}


def _closed(ring: Ring) -> list[list[float]]:
    out = [list(v) for v in ring]
    return [*out, out[0]]


def _path(parts: Iterable[str | int]) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "(top level)"


def _ring(raw: Sequence[Sequence[float]]) -> Ring:
    ring = tuple((float(v[0]), float(v[1])) for v in raw)
    return ring[:-1] if len(ring) > 3 and ring[0] == ring[-1] else ring


def parse_infra(doc: Any, source: str = "<infra graph>") -> InfraGraph:
    """Validate a parsed graph document against :data:`~stadswacht.resilience.schema.SCHEMA`
    and the cross-references, and build the graph.

    Raises:
        InfraGraphError: every problem found, one per line, with the path of the bad item.
    """
    validator = jsonschema.Draft202012Validator(SCHEMA)
    problems = []
    for err in sorted(validator.iter_errors(doc), key=lambda e: [str(p) for p in e.absolute_path]):
        message = err.message
        if err.validator == "oneOf" and isinstance(err.instance, dict):
            message = f"{err.instance!r} is neither a node id nor {{any_of: [ids]}}"
        problems.append(f"{source}: {_path(err.absolute_path)}: {message}")
    if problems:
        raise InfraGraphError("\n".join(problems))
    defaults = doc.get("defaults") or {}
    ids: dict[str, int] = {}
    for i, item in enumerate(doc["nodes"]):
        if item["id"] in ids:
            problems.append(
                f"{source}: nodes[{i}].id: {item['id']!r} is already the id of nodes"
                f"[{ids[item['id']]}]; ids must be unique"
            )
        ids.setdefault(item["id"], i)
    nodes = []
    for i, item in enumerate(doc["nodes"]):
        requires: list[frozenset[str]] = []
        seen: set[str] = set()
        for j, req in enumerate(item.get("depends_on") or []):
            alternatives = [req] if isinstance(req, str) else list(req["any_of"])
            for k, b in enumerate(alternatives):
                where = f"nodes[{i}].depends_on[{j}]" + (
                    "" if isinstance(req, str) else f".any_of[{k}]"
                )
                if b not in ids:
                    problems.append(f"{source}: {where}: {b!r} is not the id of any node")
                elif b == item["id"]:
                    problems.append(f"{source}: {where}: a node cannot depend on itself")
                elif b in seen:
                    problems.append(
                        f"{source}: {where}: {item['id']!r} already depends on {b!r}; "
                        "name each node once per node (use one any_of group for alternatives)"
                    )
                seen.add(b)
            requires.append(frozenset(alternatives))
        kind = item.get("kind")
        if item.get("protects") is not None and kind not in (None, "pumping_station", "place"):
            problems.append(
                f"{source}: nodes[{i}].protects: only a pumping_station or a place protects an "
                f"area; {item['id']!r} is a {kind}"
            )
        nodes.append(
            Node(
                id=item["id"],
                kind=kind or "",
                # A sensor's agency comes from the registry (attach_devices) unless given.
                agency=item.get("agency")
                or (defaults.get("agency") if kind in INFRA_KINDS else None),
                name=item.get("name"),
                classification=item.get("classification") or defaults.get("classification"),
                position=None if "position" not in item else (
                    float(item["position"][0]), float(item["position"][1])),
                polygon=_ring(item["polygon"]) if "polygon" in item else None,
                protects=_ring(item["protects"]) if "protects" in item else None,
                range_m=item.get("range_m"),
                zone=item.get("zone"),
                gate=item.get("gate"),
                mode=item.get("mode"),
                capabilities=frozenset(item.get("capabilities") or ()),
                requires=tuple(requires),
            )
        )  # fmt: skip
    if problems:
        raise InfraGraphError("\n".join(problems))
    return InfraGraph(
        nodes,
        area=_ring(doc["area"]) if "area" in doc else None,
        parameters=doc.get("parameters"),
        name=str(doc.get("name", "")),
        default_agency=defaults.get("agency"),
    )


def read_infra(path: Path | str) -> tuple[InfraGraph, dict[str, Any]]:
    """Read an infrastructure graph file (``.yaml``, ``.yml`` or ``.json``).

    Returns:
        The graph, and metadata: ``source`` (the path), ``sha256`` of the file, ``name``,
        ``nodes`` and ``edges``.

    Raises:
        InfraGraphError: the file cannot be read or parsed, or is not valid (path of each item).
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InfraGraphError(f"cannot read the infrastructure graph {path}: {exc}") from exc
    try:
        doc = json.loads(raw) if path.suffix == ".json" else yaml.safe_load(raw)
    except (yaml.YAMLError, ValueError) as exc:
        raise InfraGraphError(f"{path} is not valid YAML/JSON: {exc}") from exc
    graph = parse_infra(doc, str(path))
    meta = {
        "source": str(path),
        "sha256": hashlib.sha256(raw).hexdigest(),
        "name": graph.name,
        "nodes": len(graph),
        "edges": graph.n_edges,
    }
    return graph, meta


def attach_devices(graph: InfraGraph, devices: Iterable[Device]) -> InfraGraph:
    """The graph with its sensors completed from the registered devices of the same id.

    A registered device gives its kind, agency, zone (its ``area``) and position where the
    file leaves them out; a position in the file that differs from the registered one by more
    than 5 m gives way to the registered one (a warning says so). A node without a kind that
    is not a registered device becomes ``other`` (with a warning), and so does not serve any
    capability.
    """
    by_id = {d.id: d for d in devices}
    warnings = list(graph.warnings)
    changed = []
    for n in graph.nodes.values():
        d = by_id.get(n.id)
        if d is None:
            if not n.kind:
                warnings.append(f"{n.id}: no kind in the file and not a registered device")
            if not n.kind or n.agency is None:
                changed.append(
                    replace(n, kind=n.kind or "other", agency=n.agency or graph.default_agency)
                )
            continue
        pos = (d.position.lon, d.position.lat)
        if n.position is not None and _distance_m(n.position, pos) > 5.0:
            warnings.append(
                f"{n.id}: position in the file {list(n.position)} differs from the registered "
                f"{list(pos)}; the registered one is used"
            )
        kind = n.kind or ("gateway" if d.kind.value == "gateway" else d.kind.value)
        changed.append(
            replace(
                n,
                kind=kind,
                agency=n.agency or d.agency,
                zone=n.zone or d.area,
                position=pos,
            )
        )
    out = graph.with_nodes(changed)
    out.warnings = warnings
    return out


def _distance_m(a: LonLat, b: LonLat) -> float:
    """Equirectangular distance between two (lon, lat) points [m]; exact enough below 10 km."""
    lat = math.radians((a[1] + b[1]) / 2)
    dx = math.radians(b[0] - a[0]) * math.cos(lat) * 6_371_008.8
    dy = math.radians(b[1] - a[1]) * 6_371_008.8
    return math.hypot(dx, dy)

"""Cascading failure: what goes down when some nodes fail and/or an area floods.

The failed set is the least fixed point of: a node fails when it is failed at the start, when
it is located in a flooded area, or when one of its requirements has lost every alternative.
A failed pumping station (or place) floods the area it protects, when the graph's parameter
``flood_unprotected`` is true (the default): every node located there fails too. It is
computed by propagation from the initial failures, each dependency edge looked at once
(linear in the size of the affected part of the graph); cycles of dependencies are allowed.

>>> from stadswacht.resilience.graph import parse_infra
>>> g = parse_infra({"defaults": {"agency": "city"}, "nodes": [
...     {"id": "ss", "kind": "substation"}, {"id": "ups", "kind": "backup_power"},
...     {"id": "gw", "kind": "gateway", "depends_on": [{"any_of": ["ss", "ups"]}]},
...     {"id": "s1", "kind": "acoustic", "depends_on": ["gw", "ss"]}]})
>>> sorted(cascade(g, ["ss"]).failed)
['s1', 'ss']
>>> sorted(cascade(g, ["ss", "ups"]).failed)
['gw', 's1', 'ss', 'ups']
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import shapely
from shapely.geometry import Polygon

from stadswacht.resilience.graph import InfraGraph

__all__ = ["Cascade", "cascade", "nodes_inside"]

INITIAL = "initial"
"""The cause of a node failed at the start."""
FLOOD = "flood"
"""The cause of a node in the given flood area."""


@dataclass(frozen=True)
class Cascade:
    """The outcome of a cascade.

    Attributes:
        initial: The nodes failed at the start (given and flooded).
        failed: Every node that is down at the fixed point.
        cause: For each failed node, why: ``"initial"``, ``"flood"``, ``"flood:<node>"`` (in
            the area a failed node protected) or the id of the requirement that failed it.
        unprotected: Failed nodes whose protected area was lost (pumping stations, places).
        flood: The flood area given, in WGS84, or ``None``.
    """

    initial: frozenset[str]
    failed: frozenset[str]
    cause: Mapping[str, str] = field(default_factory=dict)
    unprotected: tuple[str, ...] = ()
    flood: Any = None

    def chain(self, node: str) -> list[str]:
        """The chain of causes from ``node`` back to an initial failure or a flood.

        >>> Cascade(frozenset({"a"}), frozenset({"a", "b"}), {"a": "initial", "b": "a"}).chain("b")
        ['b', 'a']
        """
        out = [node]
        while self.cause.get(out[-1]) in self.failed and out[-1] not in self.initial:
            out.append(self.cause[out[-1]])
            if len(out) > len(self.failed):
                break
        return out


def nodes_inside(graph: InfraGraph, area: Any) -> list[str]:
    """Ids of the located nodes inside ``area`` (a shapely geometry in WGS84); a node exactly
    on the boundary counts as inside (it gets wet)."""
    ids, xy = graph.located()
    if len(ids) == 0 or area is None or area.is_empty:
        return []
    minx, miny, maxx, maxy = area.bounds
    box = (xy[:, 0] >= minx) & (xy[:, 0] <= maxx) & (xy[:, 1] >= miny) & (xy[:, 1] <= maxy)
    idx = box.nonzero()[0]
    if len(idx) == 0:
        return []
    shapely.prepare(area)
    inside = shapely.intersects_xy(area, xy[idx, 0], xy[idx, 1])
    return [ids[i] for i in idx[inside]]


def cascade(
    graph: InfraGraph,
    fail: Iterable[str] = (),
    flood: Any = None,
    *,
    flood_unprotected: bool | None = None,
) -> Cascade:
    """What goes down when ``fail`` fail and ``flood`` floods.

    Args:
        graph: The dependency graph.
        fail: Ids of the nodes that fail first.
        flood: A flooded area (shapely polygonal geometry in WGS84): every node located in it
            fails.
        flood_unprotected: Whether the area of a failed pumping station or place floods;
            default: the graph's parameter ``flood_unprotected``.

    Raises:
        KeyError: an id in ``fail`` is no node of the graph (the message names it).
    """
    if flood_unprotected is None:
        flood_unprotected = bool(graph.parameters["flood_unprotected"])
    failed: set[str] = set()
    cause: dict[str, str] = {}
    queue: deque[str] = deque()
    unprotected: list[str] = []

    def down(node: str, why: str) -> None:
        if node not in failed:
            failed.add(node)
            cause[node] = why
            queue.append(node)

    for node in fail:
        if node not in graph.nodes:
            raise KeyError(f"{node!r} is no node of the infrastructure graph")
        down(node, INITIAL)
    if flood is not None:
        for node in nodes_inside(graph, flood):
            down(node, FLOOD)
    initial = frozenset(failed)
    alive: dict[tuple[str, int], int] = {}
    nodes = graph.nodes
    while queue:
        b = queue.popleft()
        area = nodes[b].flood_area
        if area is not None:
            unprotected.append(b)
            if flood_unprotected:
                for node in nodes_inside(graph, Polygon(area)):
                    down(node, f"flood:{b}")
        for a, g in graph.dependents(b):
            if a in failed:
                continue
            key = (a, g)
            left = alive.get(key)
            if left is None:
                left = len(nodes[a].requires[g])
            left -= 1
            alive[key] = left
            if left == 0:
                down(a, b)
    return Cascade(initial, frozenset(failed), cause, tuple(unprotected), flood)

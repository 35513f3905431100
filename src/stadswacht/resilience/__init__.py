"""Resilience analysis: the infrastructure dependency graph, cascading failures, blind spots,
coverage and redundancy (``docs/resilience.md``).

Contract: batch analytics on a graph read from a file (:func:`read_infra`) and the platform's
devices and zones handed in by the caller; it imports ``model`` (and ``errors``) only, does no
I/O but reading the graph file, and keeps no state. ``pipeline`` and ``api`` compose it.

- :mod:`~stadswacht.resilience.graph`: the graph, its file format and validation;
- :mod:`~stadswacht.resilience.cascade`: what fails when nodes fail or an area floods;
- :mod:`~stadswacht.resilience.blindspots`: where a shot can no longer be located, which
  zones lose their counts, which areas lose their gauges;
- :mod:`~stadswacht.resilience.coverage`: coverage after the *k* worst failures, and the best
  added sensor or backup power.

>>> g = parse_infra({"defaults": {"agency": "city"}, "nodes": [
...     {"id": "ss", "kind": "substation"},
...     {"id": "s1", "kind": "acoustic", "position": [4.29, 52.09], "depends_on": ["ss"]}]})
>>> sorted(cascade(g, ["ss"]).failed)
['s1', 'ss']
"""

from __future__ import annotations

from stadswacht.resilience.blindspots import (
    Assessment,
    CapabilityLoss,
    ZoneCount,
    assess,
    crowd_zones,
    k_coverage,
)
from stadswacht.resilience.cascade import Cascade, cascade, nodes_inside
from stadswacht.resilience.coverage import (
    AddedBackup,
    AddedSensor,
    CoverageModel,
    WorstCase,
    best_added_sensor,
    best_backup,
    coverage_report,
    worst_case,
)
from stadswacht.resilience.geo import LocalProjection, geometry_from_geojson, geometry_to_geojson
from stadswacht.resilience.graph import (
    DEFAULT_PARAMETERS,
    InfraGraph,
    InfraGraphError,
    Node,
    attach_devices,
    parse_infra,
    read_infra,
)
from stadswacht.resilience.schema import CAPABILITIES, NODE_KINDS, SCHEMA

__all__ = [
    "CAPABILITIES",
    "DEFAULT_PARAMETERS",
    "NODE_KINDS",
    "SCHEMA",
    "AddedBackup",
    "AddedSensor",
    "Assessment",
    "CapabilityLoss",
    "Cascade",
    "CoverageModel",
    "InfraGraph",
    "InfraGraphError",
    "LocalProjection",
    "Node",
    "WorstCase",
    "ZoneCount",
    "assess",
    "attach_devices",
    "best_added_sensor",
    "best_backup",
    "cascade",
    "coverage_report",
    "crowd_zones",
    "geometry_from_geojson",
    "geometry_to_geojson",
    "k_coverage",
    "nodes_inside",
    "parse_infra",
    "read_infra",
    "worst_case",
]

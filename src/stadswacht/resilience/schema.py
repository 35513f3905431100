"""The JSON Schema of an infrastructure graph file (YAML or JSON), ``docs/resilience.md``.

Kept as a Python constant, so it ships with the package without package data; dump it with
``python -c "import json, stadswacht.resilience.schema as s; print(json.dumps(s.SCHEMA))"``.

>>> SCHEMA["required"]
['nodes']
"""

from __future__ import annotations

from typing import Any, Final

__all__ = ["CAPABILITIES", "INFRA_KINDS", "NODE_KINDS", "SCHEMA", "SENSOR_KINDS"]

SENSOR_KINDS: Final = (
    "acoustic",
    "people_counter",
    "camera_counter",
    "water_gauge",
    "rain_gauge",
    "weather",
    "power_monitor",
)
"""Kinds of a registered sensor (``stadswacht.model.DeviceKind`` but gateway and other)."""

INFRA_KINDS: Final = (
    "gateway",
    "link",
    "substation",
    "feeder",
    "backup_power",
    "pumping_station",
    "place",
    "other",
)
"""Kinds of the infrastructure the sensors depend on.

- ``gateway``: a LoRaWAN, Wi-Fi or LTE gateway that forwards the readings of sensors;
- ``link``: a network link: fibre backhaul, mobile cell, radio relay;
- ``substation``, ``feeder``: electric power; ``polygon`` is the area the node supplies;
- ``backup_power``: a battery, UPS or generator (usually an ``any_of`` alternative);
- ``pumping_station``: keeps ``protects`` (a polder) dry; when it fails that area floods;
- ``place``: an area (``polygon``) that floods when it fails (a polder, a tunnel, a dike ring).
"""

NODE_KINDS: Final = SENSOR_KINDS + INFRA_KINDS
"""Every kind a node may have."""

CAPABILITIES: Final = ("gunshot", "crowd", "hazard")
"""What the sensors are for: locating shots, counting crowds, watching water levels."""

_LONLAT: dict[str, Any] = {
    "type": "array",
    "prefixItems": [
        {"type": "number", "minimum": -180, "maximum": 180},
        {"type": "number", "minimum": -90, "maximum": 90},
    ],
    "minItems": 2,
    "maxItems": 2,
    "description": "[lon, lat], WGS84 (EPSG:4326), GeoJSON order",
}
_RING: dict[str, Any] = {
    "type": "array",
    "items": _LONLAT,
    "minItems": 3,
    "description": "a polygon ring of [lon, lat] vertices (closed or not)",
}
_ID: dict[str, Any] = {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9_.:#-]{0,63}$"}
_TLP: dict[str, Any] = {
    "type": "string",
    "pattern": r"^(?i:(TLP:)?(CLEAR|GREEN|AMBER|AMBER\+STRICT|RED))$",
}

SCHEMA: Final[dict[str, Any]] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://stadswacht.example/schemas/infra-graph.json",
    "title": "Stadswacht infrastructure dependency graph",
    "type": "object",
    "additionalProperties": False,
    "required": ["nodes"],
    "properties": {
        "version": {"const": 1},
        "name": {"type": "string", "maxLength": 200},
        "description": {"type": "string"},
        "area": {**_RING, "description": "the study area (coverage shares are of it)"},
        "defaults": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"agency": _ID, "classification": _TLP},
        },
        "parameters": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "gunshot_range_m": {"type": "number", "exclusiveMinimum": 0},
                "gunshot_min_sensors": {"type": "integer", "minimum": 1},
                "water_gauge_range_m": {"type": "number", "exclusiveMinimum": 0},
                "rain_gauge_range_m": {"type": "number", "exclusiveMinimum": 0},
                "flood_unprotected": {"type": "boolean"},
            },
        },
        "nodes": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["id"],
                "properties": {
                    "id": _ID,
                    "kind": {"enum": list(NODE_KINDS)},
                    "name": {"type": "string", "maxLength": 200},
                    "agency": _ID,
                    "classification": _TLP,
                    "position": _LONLAT,
                    "polygon": _RING,
                    "protects": _RING,
                    "range_m": {"type": "number", "exclusiveMinimum": 0},
                    "zone": _ID,
                    "gate": _ID,
                    "mode": {"enum": ["flow", "occupancy"]},
                    "capabilities": {
                        "type": "array",
                        "items": {"enum": list(CAPABILITIES)},
                        "uniqueItems": True,
                    },
                    "depends_on": {
                        "type": "array",
                        "items": {
                            "oneOf": [
                                _ID,
                                {
                                    "type": "object",
                                    "additionalProperties": False,
                                    "required": ["any_of"],
                                    "properties": {
                                        "any_of": {"type": "array", "items": _ID, "minItems": 1}
                                    },
                                },
                            ]
                        },
                    },
                },
            },
        },
    },
}
"""JSON Schema (draft 2020-12) of an infrastructure graph file."""

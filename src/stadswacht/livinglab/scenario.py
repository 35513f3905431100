"""Scenarios: a simulated city area over a time span, with ground-truth events, read from YAML.

The format is described in ``docs/scenarios.md`` and checked by ``scenario.schema.json`` (JSON
Schema 2020-12) and then by cross-checks the schema cannot express (a sensor's agency and zone
exist, an event lies within the time span, ...). Every mistake is reported with the file, the
line and the field, e.g.::

    scenarios/x.yaml, line 12, field area.zones[0].polygon: [[4.3, 52.1], [4.31, 52.1]] is too short

Durations and offsets are seconds or text such as ``6h``, ``90m``, ``2h13m7s``.

>>> parse_duration("2h13m7.5s")
7987.5
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jsonschema
import yaml

from stadswacht.detect.hazard.thresholds import Threshold, threshold_from_dict
from stadswacht.errors import ConfigurationError, ScenarioError
from stadswacht.model import Agency, Area, DeviceKind, Position

__all__ = [
    "Scenario",
    "ScenarioError",
    "SensorSpec",
    "Zone",
    "load_schema",
    "parse_duration",
    "parse_scenario",
    "read_scenario",
]

SENSOR_KINDS: dict[str, DeviceKind] = {
    "acoustic": DeviceKind.ACOUSTIC,
    "people_counter": DeviceKind.PEOPLE_COUNTER,
    "water_gauge": DeviceKind.WATER_GAUGE,
    "rain_gauge": DeviceKind.RAIN_GAUGE,
    "weather": DeviceKind.WEATHER,
    "power_monitor": DeviceKind.POWER_MONITOR,
}
"""Sensor groups of a scenario and the device kind each registers as."""

MAX_DURATION_S = 6 * 86_400.0
"""Longest scenario [s]: the platform refuses readings older than 7 days (``too_old``)."""

_DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?$")

Path_ = tuple[str | int, ...]


def parse_duration(value: float | str) -> float:
    """A duration or offset [s] from seconds or text such as ``1h30m``, ``90s``, ``0.5s``."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    m = _DURATION.match(str(value))
    if not m or not str(value):
        raise ValueError(f"{value!r} is not a duration such as 6h, 90m, 2h13m7s or 30")
    h, mi, s = (float(g) if g else 0.0 for g in m.groups())
    return h * 3600 + mi * 60 + s


@cache
def load_schema() -> dict[str, Any]:
    """The scenario JSON Schema shipped with the package."""
    text = resources.files("stadswacht.livinglab").joinpath("scenario.schema.json").read_text()
    schema: dict[str, Any] = json.loads(text)
    return schema


@dataclass(frozen=True, slots=True)
class Zone:
    """A zone of the area: its polygon, walkable area [m²] and gates (id → width [m])."""

    area: Area
    walkable_area_m2: float
    gates: dict[str, float]

    @property
    def id(self) -> str:
        """The zone's id."""
        return self.area.id


@dataclass(frozen=True, slots=True)
class SensorSpec:
    """One simulated sensor, as it is registered on the platform."""

    id: str
    group: str
    kind: DeviceKind
    agency: str
    position: Position
    zone: str | None = None
    gate: str | None = None
    mode: str = "line"


@dataclass(frozen=True, slots=True)
class EventSpec:
    """One injected event: its type, id, offset from the start [s] and its own parameters."""

    type: str
    id: str
    at_s: float
    params: dict[str, Any]
    line: int = 0


@dataclass(frozen=True)
class Scenario:
    """A validated scenario. ``raw`` is the document as read; the rest is derived from it."""

    name: str
    seed: int
    duration_s: float
    area: Area
    zones: tuple[Zone, ...]
    agencies: tuple[Agency, ...]
    sensors: tuple[SensorSpec, ...]
    events: tuple[EventSpec, ...]
    raw: dict[str, Any] = field(repr=False)
    source: str = "<scenario>"

    @property
    def time(self) -> dict[str, Any]:
        """The ``time`` section."""
        section: dict[str, Any] = self.raw["time"]
        return section

    @property
    def interval_s(self) -> float:
        """Reporting interval of counters, gauges and weather [s]."""
        return parse_duration(self.time.get("interval", 60))

    @property
    def heartbeat_s(self) -> float:
        """Heartbeat interval of acoustic sensors [s]."""
        return parse_duration(self.time.get("heartbeat", 300))

    @property
    def timezone(self) -> ZoneInfo:
        """The local time zone of the area (daily and weekly rhythms are in local time)."""
        return ZoneInfo(self.time.get("timezone", "Europe/Amsterdam"))

    def section(self, name: str) -> dict[str, Any]:
        """A top-level section (``processes``, ``acoustics``, ``tolerances``), empty if absent."""
        value: dict[str, Any] = self.raw.get(name) or {}
        return value

    def thresholds(self) -> list[Threshold]:
        """The warning thresholds in force during the scenario (checked when it was read)."""
        return [threshold_from_dict(t) for t in self.raw.get("thresholds") or []]

    def sensor(self, sensor_id: str) -> SensorSpec:
        """The sensor with this id."""
        for s in self.sensors:
            if s.id == sensor_id:
                return s
        raise KeyError(sensor_id)

    def start_time(self, now: datetime) -> datetime:
        """The simulated start for a replay that begins at ``now`` (aware).

        The rule keeps every reading inside the platform's window (at most ``max_clock_skew_s``
        ahead, at most ``max_reading_age_s`` old): the whole scenario lies in the past and ends
        at the latest at ``now``. Without ``time.start`` it ends exactly at ``now``; with a
        local time of day (``"00:00"``) it starts at the latest such moment that still lets it
        end by ``now``; an explicit RFC 3339 start is taken as given. Replayed at any speed
        >= 1 a reading is then never sent before its own time, and is at most
        ``duration + 1 day`` old when it arrives.
        """
        start = self.time.get("start")
        if start is None:
            return now - timedelta(seconds=self.duration_s)
        if "T" in start:
            return datetime.fromisoformat(start.replace("Z", "+00:00")).astimezone(UTC)
        tz = self.timezone
        parts = [int(p) for p in start.split(":")]
        tod = time(parts[0], parts[1], parts[2] if len(parts) > 2 else 0)
        latest = now - timedelta(seconds=self.duration_s)
        day: date = latest.astimezone(tz).date()
        for back in range(3):
            cand = datetime.combine(day - timedelta(days=back), tod, tzinfo=tz).astimezone(UTC)
            if cand <= latest:
                return cand
        raise AssertionError("unreachable: a day earlier always fits")  # pragma: no cover


# --- reading with line numbers -----------------------------------------------------------


class _Marks:
    """Line (1-based) of each value and each mapping key, by path."""

    def __init__(self) -> None:
        self.value: dict[Path_, int] = {}
        self.key: dict[Path_, int] = {}

    def line(self, path: Path_, *, key: bool = False) -> int:
        """The line of ``path`` (or of its key), else of the nearest enclosing node."""
        p = tuple(path)
        if key and p in self.key:
            return self.key[p]
        while p not in self.value and p:
            p = p[:-1]
        return self.value.get(p, 1)


def _construct(loader: yaml.SafeLoader, node: yaml.Node, path: Path_, marks: _Marks) -> Any:
    marks.value[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for k_node, v_node in node.value:
            key = loader.construct_object(k_node, deep=True)
            marks.key[(*path, key)] = k_node.start_mark.line + 1
            out[key] = _construct(loader, v_node, (*path, key), marks)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_construct(loader, n, (*path, i), marks) for i, n in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


def _field(path: Path_) -> str:
    text = ""
    for p in path:
        text += f"[{p}]" if isinstance(p, int) else (f".{p}" if text else str(p))
    return text or "(top level)"


class _Reporter:
    def __init__(self, source: str, marks: _Marks) -> None:
        self.source = source
        self.marks = marks
        self.problems: list[tuple[int, str]] = []

    def add(self, path: Path_, message: str, *, key: bool = False) -> None:
        line = self.marks.line(path, key=key)
        self.problems.append((line, f"{self.source}, line {line}, field {_field(path)}: {message}"))

    def raise_if_any(self) -> None:
        if self.problems:
            lines = [m for _, m in sorted(self.problems)]
            more = f"\n({len(lines)} problems)" if len(lines) > 1 else ""
            raise ScenarioError("\n".join(lines) + more)


def _schema_errors(doc: Any, rep: _Reporter) -> None:
    validator = jsonschema.Draft202012Validator(load_schema())
    for err in sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path)):
        path: Path_ = tuple(err.absolute_path)
        if err.validator == "additionalProperties" and isinstance(err.instance, dict):
            allowed = set(err.schema.get("properties", {}))
            for extra in sorted(set(err.instance) - allowed, key=str):
                rep.add(
                    (*path, extra),
                    f"unknown field {extra!r}; allowed here: {', '.join(sorted(allowed))}",
                    key=True,
                )
            continue
        if err.validator in ("allOf", "if", "then"):
            continue  # their own sub-errors are reported
        rep.add(path, err.message)


def _positions(doc: dict[str, Any]) -> Position:
    lon, lat = doc
    return Position(lat=float(lat), lon=float(lon))


def _cross_check(doc: dict[str, Any], rep: _Reporter) -> None:
    duration = parse_duration(doc["time"]["duration"])
    if not 0 < duration <= MAX_DURATION_S:
        rep.add(
            ("time", "duration"),
            f"{duration:g} s is not within (0, {MAX_DURATION_S:g}] s: the platform refuses "
            "readings older than 7 days",
        )
    tz = doc["time"].get("timezone", "Europe/Amsterdam")
    try:
        ZoneInfo(tz)
    except (ValueError, KeyError, OSError):
        rep.add(("time", "timezone"), f"{tz!r} is not an IANA time zone such as Europe/Amsterdam")
    agencies = {a["id"] for a in doc["agencies"]}
    zones = {z["id"]: z for z in doc["area"]["zones"]}
    for kind, items in (("zone", doc["area"]["zones"]), ("event", doc.get("events") or [])):
        seen: set[str] = set()
        for i, item in enumerate(items):
            if item["id"] in seen:
                dup: Path_ = ("area", "zones", i, "id") if kind == "zone" else ("events", i, "id")
                rep.add(dup, f"{kind} id {item['id']!r} is used twice")
            seen.add(item["id"])
    for i, z in enumerate(doc["area"]["zones"]):
        ring = [tuple(v) for v in z["polygon"]]
        if ring[0] == ring[-1]:
            ring = ring[:-1]
        if len(set(ring)) < 3:
            rep.add(("area", "zones", i, "polygon"), "a polygon needs at least 3 distinct vertices")
    sensors: dict[str, str] = {}
    for group, items in (doc.get("sensors") or {}).items():
        for i, s in enumerate(items):
            where: Path_ = ("sensors", group, i)
            if s["id"] in sensors:
                rep.add((*where, "id"), f"sensor id {s['id']!r} is used twice")
            sensors[s["id"]] = group
            if s["agency"] not in agencies:
                rep.add((*where, "agency"), f"agency {s['agency']!r} is not in agencies")
            zone = s.get("zone")
            if zone is not None and zone not in zones:
                rep.add((*where, "zone"), f"zone {zone!r} is not in area.zones")
            gate = s.get("gate")
            if gate is not None:
                gates = {g["id"] for g in (zones.get(zone or "", {}).get("gates") or [])}
                if gate not in gates:
                    rep.add((*where, "gate"), f"gate {gate!r} is not a gate of zone {zone!r}")
    for i, ev in enumerate(doc.get("events") or []):
        where = ("events", i)
        at = parse_duration(ev["at"])
        length = parse_duration(ev.get("duration", 0))
        if ev["type"] == "crowd_surge":
            length = sum(parse_duration(ev.get(k, 0)) for k in ("build_up", "hold", "release"))
        if at > duration:
            rep.add((*where, "at"), f"{ev['at']} is after the scenario's end ({duration:g} s)")
        elif at + length > duration:
            rep.add(
                (*where, "duration"),
                f"the event runs to {at + length:g} s, past the scenario's end ({duration:g} s)",
            )
        if "zone" in ev and ev["zone"] not in zones:
            rep.add((*where, "zone"), f"zone {ev['zone']!r} is not in area.zones")
        for j, zid in enumerate(ev.get("zones") or []):  # post_chatter
            if zid not in zones:
                rep.add((*where, "zones", j), f"zone {zid!r} is not in area.zones")
        for key in ("sensor",):
            if key in ev and ev[key] not in sensors:
                rep.add((*where, key), f"sensor {ev[key]!r} is not in sensors")
        for key in ("sensors", "devices", "gauges"):
            for j, sid in enumerate(ev.get(key) or []):
                if sid not in sensors:
                    rep.add((*where, key, j), f"sensor {sid!r} is not in sensors")
        if ev["type"] == "power_cut" and "polygon" not in ev and "sensors" not in ev:
            rep.add(where, "a power_cut needs a polygon or a list of sensors")


def parse_scenario(text: str, source: str = "<scenario>") -> Scenario:
    """Validate a scenario given as YAML text; ``source`` names it in error messages.

    Raises:
        ScenarioError: the YAML is malformed or the scenario breaks the schema or a cross-check;
            the message lists every problem with its line and field.
    """
    try:
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            marks = _Marks()
            doc = _construct(loader, node, (), marks) if node is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 0
        raise ScenarioError(f"{source}, line {line}: not valid YAML: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{source}: not valid YAML: {exc}") from None
    rep = _Reporter(source, marks)
    if not isinstance(doc, dict):
        rep.add((), "a scenario is a mapping with name, seed, time, area, agencies, sensors")
        rep.raise_if_any()
        raise AssertionError("unreachable")  # pragma: no cover
    _schema_errors(doc, rep)
    rep.raise_if_any()
    _cross_check(doc, rep)
    rep.raise_if_any()
    return _build(doc, source, marks)


def read_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file (see :func:`parse_scenario`)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(f"{p}: cannot read the scenario: {exc.strerror}") from None
    return parse_scenario(text, str(p))


def _build(doc: dict[str, Any], source: str, marks: _Marks) -> Scenario:
    a = doc["area"]
    area = Area(id=a["id"], name=a["name"], polygon=tuple(tuple(v) for v in a["polygon"]))
    zones = tuple(
        Zone(
            area=Area(
                id=z["id"],
                name=z["name"],
                polygon=tuple(tuple(v) for v in z["polygon"]),
                walkable_area_m2=float(z["walkable_area_m2"]),
                gates={str(g["id"]): float(g["width_m"]) for g in z.get("gates") or []},
                agency=z.get("agency"),
                security_lead=z.get("security_lead"),
            ),
            walkable_area_m2=float(z["walkable_area_m2"]),
            gates={str(g["id"]): float(g["width_m"]) for g in z.get("gates") or []},
        )
        for z in a["zones"]
    )
    sensors = tuple(
        SensorSpec(
            id=s["id"],
            group=group,
            kind=SENSOR_KINDS[group],
            agency=s["agency"],
            position=_positions(s["position"]),
            zone=s.get("zone"),
            gate=s.get("gate"),
            mode=s.get("mode", "line"),
        )
        for group, items in (doc.get("sensors") or {}).items()
        for s in items
    )
    events = tuple(
        EventSpec(
            type=ev["type"],
            id=ev["id"],
            at_s=parse_duration(ev["at"]),
            params=ev,
            line=marks.line(("events", i)),
        )
        for i, ev in enumerate(doc.get("events") or [])
    )
    duration = parse_duration(doc["time"]["duration"])
    assert math.isfinite(duration)
    for i, item in enumerate(doc.get("thresholds") or []):
        where = f"{source}:{marks.line(('thresholds', i))}: thresholds[{i}]"
        try:
            threshold_from_dict(item, where)
        except ConfigurationError as exc:
            raise ScenarioError(str(exc)) from exc
        if item["device"] not in {s.id for s in sensors}:
            raise ScenarioError(f"{where}: device {item['device']!r} is not a sensor here")
    return Scenario(
        name=doc["name"],
        seed=int(doc["seed"]),
        duration_s=duration,
        area=area,
        zones=zones,
        agencies=tuple(Agency(id=g["id"], name=g["name"]) for g in doc["agencies"]),
        sensors=sensors,
        events=events,
        raw=doc,
        source=source,
    )

"""The living-lab evaluator: a score card per detector kind against a scenario's ground truth.

Contract: :func:`score` is pure. It takes what a replay produced (the :class:`ReplayReport`,
which carries the simulation and its ground truth) and the detections the platform made, and
returns the score card; the CLI (``stadswacht evaluate``) runs the replay and writes the card.
A detector kind with no detector in the platform yet is reported as ``"status": "not built"``
with the number of ground-truth events it will be scored on: never as zero, never as perfect.

What is scored:

- each detector kind that has a detector: :func:`score_detections` (detection rate, false alarms per
  hour, localisation error, latency), within the tolerances the scenario sets.
- ``ingest``: every genuine reading stored exactly once and none refused (``unexpected``),
  and each attack reading's outcome against what the scenario expects (forged and spoofed
  readings must be refused as ``bad_signature``, replayed ones as ``replay``).

>>> DETECTOR_KINDS
('gunshot', 'crowd', 'hazard', 'infra', 'websignal')
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from stadswacht.detect.hazard.thresholds import Threshold
from stadswacht.livinglab.runner import ReplayReport
from stadswacht.livinglab.simulator import TruthEvent
from stadswacht.model import parse_time

__all__ = [
    "DETECTOR_KINDS",
    "TARGETS",
    "TRUTH_FOR",
    "score",
    "score_crowd",
    "score_detections",
    "score_hazard",
    "score_infra",
    "write_scorecard",
]

DETECTOR_KINDS = ("gunshot", "crowd", "hazard", "infra", "websignal")
"""The detector kinds of DESIGN.md, in the order the score card lists them."""

TRUTH_FOR: dict[str, tuple[str, ...]] = {
    "gunshot": ("gunshot", "fireworks", "impulsive_noise"),
    "crowd": ("crowd_surge",),
    "hazard": ("water_rise",),
    "infra": ("power_cut", "sensor_failure", "cyber_attack"),
    "websignal": ("post_burst", "post_spam"),
}
"""Ground-truth event types each detector kind is scored on (fireworks and ordinary impulsive
noise are the gunshot detector's confusers: it is scored on not firing for them)."""


def score(
    report: ReplayReport,
    detections: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
    *,
    elapsed_s: float | None = None,
) -> dict[str, Any]:
    """The score card of one replay.

    Args:
        report: what the replay sent and how the platform answered.
        detections: per detector kind, the detections the platform made; a kind that is
            absent has no detector yet.
        elapsed_s: wall-clock time of the replay [s], for the ingest rate.
    """
    detections = detections or {}
    truth = report.simulation.truth
    by_type = Counter(t.type for t in truth)
    card: dict[str, Any] = {
        "scenario": report.simulation.scenario.name,
        "start": report.simulation.start.isoformat(),
        "source": "simulated (living lab); no figure here comes from real data",
        "ingest": _ingest(report, elapsed_s),
    }
    for kind in DETECTOR_KINDS:
        events = {t: by_type[t] for t in TRUTH_FOR[kind] if by_type[t]}
        if kind not in detections:
            card[kind] = {"status": "not built", "truth_events": events}
        elif kind == "hazard":
            card[kind] = score_hazard(
                detections[kind],
                truth,
                _levels_sent(report),
                report.simulation.scenario.thresholds(),
                report.simulation.scenario.duration_s,
            )
            card[kind]["truth_events"] = events
        elif kind == "infra":
            sc = report.simulation.scenario
            card[kind] = score_infra(
                detections[kind],
                truth,
                sc.section("tolerances"),
                sc.duration_s,
                {s.id: float(sc.heartbeat_s if s.group == "acoustic" else sc.interval_s)
                 for s in sc.sensors},
            )  # fmt: skip
            card[kind]["truth_events"] = events
        elif kind == "websignal":
            card[kind] = score_websignal(
                detections[kind], truth, report.simulation.scenario.duration_s
            )
            card[kind]["truth_events"] = events
        elif kind == "crowd":
            zones = [z.id for z in report.simulation.scenario.zones]
            card[kind] = score_crowd(
                detections[kind], truth, zones, report.simulation.scenario.duration_s
            )
            card[kind]["truth_events"] = events
        else:
            card[kind] = score_detections(
                kind,
                detections[kind],
                truth,
                report.simulation.scenario.section("tolerances"),
                report.simulation.scenario.duration_s,
            )
            card[kind]["truth_events"] = events
    return card


TARGETS: dict[str, tuple[str, ...]] = {
    "gunshot": ("gunshot",),
    "crowd": ("crowd_surge",),
    "hazard": ("water_rise",),
    "infra": ("power_cut", "sensor_failure", "cyber_attack"),
    "websignal": ("post_burst",),
}
"""Ground-truth types a detector kind must find; the rest of :data:`TRUTH_FOR` are confusers."""

_DEFAULT_TOLERANCE = {"time_s": 60.0, "distance_m": 100.0}


def score_detections(
    kind: str,
    detections: Sequence[Mapping[str, Any]],
    truth: Sequence[TruthEvent],
    tolerances: Mapping[str, Any],
    duration_s: float,
) -> dict[str, Any]:
    """Match one detector kind's detections to the ground truth and score them.

    A detection is ``{"type", "time", "position": [lon, lat] or None, "detected_at"}`` (times
    RFC 3339), optionally with ``decision_delay_s`` (from the last evidence reaching the sensor
    to the detection being raised). It matches the nearest-in-time unmatched true event of the
    same ``type`` within the scenario's tolerance for that type (``time_s``, and ``distance_m``
    when both have a position); each true event matches at most one detection. Figures, with
    the three denominators audits of ShotSpotter asked for: detection rate (share of true
    events detected), precision (share of detections that were true events), localisation
    error [m] over detected true events (median, p90); false alarms (unmatched detections) per
    hour; latency from the event to the detection being raised [s] (median, p90; negative: a
    warning ahead) and the decision delay (median, p90, p95) where detections give it.

    >>> from stadswacht.livinglab.simulator import TruthEvent
    >>> shot = TruthEvent("s1", "gunshot", "2026-11-25T02:13:07Z", "2026-11-25T02:13:08Z",
    ...                   position=(4.2925, 52.0915))
    >>> det = {"type": "gunshot", "time": "2026-11-25T02:13:07.2Z",
    ...        "position": [4.29255, 52.0915], "detected_at": "2026-11-25T02:13:08.5Z"}
    >>> card = score_detections("gunshot", [det], [shot], {}, 3600)
    >>> card["detection_rate"], card["false_alarms_per_hour"], card["latency_s"]["median"]
    (1.0, 0.0, 1.5)
    >>> round(card["localisation_error_m"]["median"], 1)
    3.4
    """
    targets = [t for t in truth if t.type in TARGETS.get(kind, ())]
    unmatched = {t.id: t for t in targets}
    errors: list[float] = []
    latencies: list[float] = []
    delays = [
        float(d["decision_delay_s"]) for d in detections if d.get("decision_delay_s") is not None
    ]
    false_alarms = 0
    for det in sorted(detections, key=lambda d: str(d["time"])):
        tol = {**_DEFAULT_TOLERANCE, **dict(tolerances.get(str(det["type"]), {}))}
        t_det = parse_time(str(det["time"]))
        best: tuple[float, TruthEvent] | None = None
        for ev in unmatched.values():
            if ev.type != det["type"]:
                continue
            dt = abs((t_det - parse_time(ev.start)).total_seconds())
            if dt > float(tol["time_s"]):
                continue
            pos = det.get("position")
            far = (
                pos is not None
                and ev.position is not None
                and _distance_m(ev.position, (float(pos[0]), float(pos[1])))
                > float(tol["distance_m"])
            )
            if far:
                continue
            if best is None or dt < best[0]:
                best = (dt, ev)
        if best is None:
            false_alarms += 1
            continue
        ev = best[1]
        del unmatched[ev.id]
        pos = det.get("position")
        if pos is not None and ev.position is not None:
            errors.append(_distance_m(ev.position, (float(pos[0]), float(pos[1]))))
        if det.get("detected_at"):
            raised = parse_time(str(det["detected_at"]))
            latencies.append((raised - parse_time(ev.start)).total_seconds())
    found = len(targets) - len(unmatched)
    return {
        **_counts(len(targets), found, len(detections), false_alarms, duration_s),
        "precision": round(found / len(detections), 3) if detections else None,
        "localisation_error_m": _spread(errors),
        "latency_s": _spread(latencies),
        "decision_delay_s": _spread(delays),
        "missed": sorted(unmatched),
    }


INFRA_TOLERANCE_S = 900.0
"""Default time tolerance of an infrastructure truth event [s]: a detection whose (estimated)
start lies this long before its start to this long after its end belongs to it."""


def _infra_devices(ev: TruthEvent) -> set[str]:
    d = ev.details
    if ev.type == "sensor_failure":
        return {str(d.get("sensor"))}
    if ev.type == "power_cut":
        return {str(x) for x in d.get("sensors", ())}
    return {str(x) for x in d.get("devices", ())}


def _infra_group(det: Mapping[str, Any]) -> tuple[str, str | None]:
    """A detection's group and agency: ``det["group"]``/``det["agency"]`` when given, else from
    its id (``<group>:<agency>`` for a finding reported per agency, see
    ``stadswacht.pipeline.infra.group_of``).

    >>> _infra_group({"id": "infra-outage-bosjes-1764003600:police"})
    ('infra-outage-bosjes-1764003600', 'police')
    """
    ident = str(det.get("id", ""))
    group, sep, agency = ident.rpartition(":")
    if not sep or not group or not re.fullmatch(r"[a-z0-9][a-z0-9_.-]{0,63}", agency):
        group, agency = ident, ""
    return str(det.get("group") or group), det.get("agency") or agency or None


def score_infra(
    detections: Sequence[Mapping[str, Any]],
    truth: Sequence[TruthEvent],
    tolerances: Mapping[str, Any],
    duration_s: float,
    intervals: Mapping[str, float],
) -> dict[str, Any]:
    """Score infrastructure detections against the injected sensor failures, power cuts and
    cyber attacks.

    A detection is ``{"type", "devices", "time", "detected_at"}`` (``type`` as the detection's
    ``details["type"]``, ``time`` its estimated start). It *concerns* a true event when it
    names one of the event's devices and its time lies within the event (widened by the
    scenario's ``time_s`` tolerance for the type, default 900 s); it *detects* the event when
    it also has the event's type. Figures per truth type: detection rate and time to detection
    (first detecting detection raised, minus the event's start [s]); for silent sensors that
    time in the sensor's own reporting intervals (``intervals``: device → [s]); per power cut
    the number of detections concerning it, counted as distinct groups (a finding over devices
    of several agencies is reported once per agency, under one group id: the target is one),
    and per agency (``detections_per_outage_per_agency``, the target one each); false alarms:
    detections that concern no true event, per device per day.

    >>> ev = TruthEvent("f", "sensor_failure", "2026-11-25T00:00:00Z", "2026-11-25T01:00:00Z",
    ...                 details={"sensor": "c1", "mode": "silent"})
    >>> det = {"type": "sensor_failure", "devices": ["c1"], "time": "2026-11-25T00:00:00Z",
    ...        "detected_at": "2026-11-25T00:01:00.5Z"}
    >>> card = score_infra([det], [ev], {}, 86400, {"c1": 60.0})
    >>> card["detection_rate"], card["silent_detection_intervals"], card["false_alarms"]
    (1.0, {'f': 1.008}, 0)
    """
    targets = [t for t in truth if t.type in TARGETS["infra"]]
    concerned: dict[str, list[Mapping[str, Any]]] = {t.id: [] for t in targets}
    false_alarms = 0
    for det in detections:
        t_det = parse_time(str(det["time"]))
        hit = False
        for ev in targets:
            tol = float(dict(tolerances.get(ev.type, {})).get("time_s", INFRA_TOLERANCE_S))
            lo = (parse_time(ev.start) - t_det).total_seconds()
            hi = (t_det - parse_time(ev.end)).total_seconds()
            if lo <= tol and hi <= tol and _infra_devices(ev) & set(det.get("devices", ())):
                concerned[ev.id].append(det)
                hit = True
        false_alarms += not hit
    by_type: dict[str, dict[str, Any]] = {}
    by_event: dict[str, dict[str, Any]] = {}
    silent: dict[str, float] = {}
    per_outage: dict[str, int] = {}
    per_agency: dict[str, dict[str, int]] = {}
    latencies: list[float] = []
    for ev in targets:
        mine = [d for d in concerned[ev.id] if d.get("type") == ev.type]
        entry = by_type.setdefault(ev.type, {"events": 0, "detected": 0, "_ttd": []})
        entry["events"] += 1
        ttd = None
        if mine:
            first = min(parse_time(str(d["detected_at"])) for d in mine)
            ttd = (first - parse_time(ev.start)).total_seconds()
            entry["detected"] += 1
            entry["_ttd"].append(ttd)
            latencies.append(ttd)
            if ev.type == "sensor_failure" and ev.details.get("mode") == "silent":
                step = intervals.get(str(ev.details.get("sensor")))
                if step:
                    silent[ev.id] = round(ttd / step, 3)
        if ev.type == "power_cut":
            # Detections of the outage itself, not those that detect another true event in
            # it (an attack on its silent sensors is a second event, rightly detected apart).
            own = [
                d
                for d in concerned[ev.id]
                if not any(
                    d in concerned[o.id] and d.get("type") == o.type
                    for o in targets
                    if o.id != ev.id
                )
            ]
            per_outage[ev.id] = len({_infra_group(d)[0] for d in own})
            agencies: dict[str, set[str]] = {}
            for d in own:
                group, agency = _infra_group(d)
                agencies.setdefault(agency or "?", set()).add(group)
            per_agency[ev.id] = {a: len(g) for a, g in sorted(agencies.items())}
        by_event[ev.id] = {
            "type": ev.type,
            "mode": ev.details.get("mode"),
            "detected": ttd is not None,
            "time_to_detection_s": None if ttd is None else round(ttd, 3),
            "detections": len(concerned[ev.id]),
            "checks": sorted({str(d.get("check")) for d in mine}),
        }
    for entry in by_type.values():
        ttds = entry.pop("_ttd")
        entry["detection_rate"] = round(entry["detected"] / entry["events"], 3)
        entry["time_to_detection_s"] = _spread(ttds)
    found = sum(e["detected"] for e in by_type.values())
    days = max(duration_s, 1.0) / 86400
    n_devices = max(len(intervals), 1)
    return {
        "status": "scored",
        "events": len(targets),
        "detected": found,
        "detection_rate": round(found / len(targets), 3) if targets else None,
        "detections": len(detections),
        "precision": round((len(detections) - false_alarms) / len(detections), 3)
        if detections
        else None,
        "by_type": by_type,
        "by_event": by_event,
        "silent_detection_intervals": silent,
        "detections_per_outage": per_outage,
        "detections_per_outage_per_agency": per_agency,
        "false_alarms": false_alarms,
        "false_alarms_per_hour": round(false_alarms / (duration_s / 3600), 3),
        "false_alarms_per_device_per_day": round(false_alarms / n_devices / days, 4),
        "localisation_error_m": None,
        "latency_s": _spread(latencies),
        "decision_delay_s": None,
        "missed": sorted(e for e, v in by_event.items() if not v["detected"]),
    }


WEBSIGNAL_MARGIN_S = 900.0
"""A web-signal detection in a burst's zone that starts at most this long before the burst's
first post, or while people are still posting, belongs to it [s]: the detector's window is
15 min, so its start (the first post of the window) can precede the first injected post."""


def score_websignal(
    detections: Sequence[Mapping[str, Any]], truth: Sequence[TruthEvent], duration_s: float
) -> dict[str, Any]:
    """Score web-signal burst detections against the injected post bursts and spam.

    A detection is ``{"zone", "time", "detected_at"}`` (``time``: the burst's start). It
    matches the unmatched ``post_burst`` of its zone whose span (first post - margin to last
    post) holds its ``time``. Figures: detection rate, precision, false alarms per hour, time
    to detection (``detected_at`` minus the burst's first post) [s], and the false alarms
    during single-author spam (``post_spam``, same zone, first post - margin to last post +
    margin), which must be none.
    """
    bursts = [t for t in truth if t.type == "post_burst"]
    spam = [t for t in truth if t.type == "post_spam"]
    unmatched = {t.id: t for t in bursts}
    ttd: dict[str, float] = {}
    false_alarms = 0
    during_spam = 0
    for det in sorted(detections, key=lambda d: str(d["time"])):
        t = parse_time(str(det["time"]))

        def within(ev: TruthEvent, after: float, t: datetime = t) -> bool:
            lo = (parse_time(ev.start) - t).total_seconds() <= WEBSIGNAL_MARGIN_S
            return lo and (t - parse_time(ev.end)).total_seconds() <= after

        hit = next(
            (ev for ev in unmatched.values() if ev.zone == det.get("zone") and within(ev, 0.0)),
            None,
        )
        if hit is None:
            false_alarms += 1
            if any(ev.zone == det.get("zone") and within(ev, WEBSIGNAL_MARGIN_S) for ev in spam):
                during_spam += 1
            continue
        del unmatched[hit.id]
        ttd[hit.id] = round(
            (parse_time(str(det["detected_at"])) - parse_time(hit.start)).total_seconds(), 1
        )
    found = len(bursts) - len(unmatched)
    return {
        **_counts(len(bursts), found, len(detections), false_alarms, duration_s),
        "precision": round(found / len(detections), 3) if detections else None,
        "latency_s": _spread(list(ttd.values())),
        "time_to_detection_by_burst_s": ttd,
        "localisation_error_m": None,
        "decision_delay_s": None,
        "missed": sorted(unmatched),
        "spam_events": len(spam),
        "detections_during_spam": during_spam,
    }


def _counts(
    events: int, found: int, detections: int, false_alarms: int, duration_s: float
) -> dict[str, Any]:
    """The figures every detector kind's card starts with.

    >>> _counts(4, 3, 5, 2, 7200)["false_alarms_per_hour"]
    1.0
    """
    return {
        "status": "scored",
        "events": events,
        "detected": found,
        "detection_rate": round(found / events, 3) if events else None,
        "detections": detections,
        "false_alarms": false_alarms,
        "false_alarms_per_hour": round(false_alarms / (duration_s / 3600), 3),
    }


CROWD_MARGIN_S = 1800.0
"""A crowd warning within this long after a surge ends still belongs to it [s]."""


def score_crowd(
    warnings: Sequence[Mapping[str, Any]],
    truth: Sequence[TruthEvent],
    zones: Sequence[str],
    duration_s: float,
) -> dict[str, Any]:
    """Score crowd warnings against the injected surges.

    A warning is ``{"zone", "time"}`` (when it was first raised, RFC 3339), optionally with
    ``level``. For each surge whose zone's true density reaches 4 persons/m² (the truth's
    ``crosses["4"]``), the lead time is that moment minus the first warning raised in the zone
    from the surge's start on (negative: the warning came late; none: missed). A warning is
    false when it is not raised during a surge of its zone (start to end + 30 min). Figures:
    lead time [s] (median, p90 ... and per surge id), surges warned, false warnings per zone
    per day.
    """
    surges = [t for t in truth if t.type == "crowd_surge"]
    leads: list[float] = []
    by_surge: dict[str, float] = {}
    missed: list[str] = []
    warned = 0
    for ev in surges:
        start = parse_time(ev.start)
        mine = sorted(
            parse_time(str(w["time"]))
            for w in warnings
            if w.get("zone") == ev.zone
            and start <= parse_time(str(w["time"])) <= parse_time(ev.end)
        )
        if mine:
            warned += 1
        crossing = ev.details.get("crosses", {}).get("4")
        if crossing is None:
            continue
        if not mine:
            missed.append(ev.id)
            continue
        leads.append((parse_time(str(crossing)) - mine[0]).total_seconds())
        by_surge[ev.id] = round(leads[-1], 3)
    false = 0
    for w in warnings:
        t = parse_time(str(w["time"]))
        if not any(
            ev.zone == w.get("zone")
            and parse_time(ev.start) <= t
            and (t - parse_time(ev.end)).total_seconds() <= CROWD_MARGIN_S
            for ev in surges
        ):
            false += 1
    days = max(duration_s, 1.0) / 86400
    return {
        "status": "scored",
        "surges": len(surges),
        "surges_warned": warned,
        "surges_crossing_4": len(leads) + len(missed),
        "warnings": len(warnings),
        "lead_time_to_4_s": _spread(leads),
        "lead_time_to_4_by_surge_s": by_surge,
        "missed_crossings": missed,
        "false_warnings": false,
        "false_warnings_per_zone_per_day": round(false / max(len(zones), 1) / days, 3),
    }


HAZARD_MARGIN_S = 3600.0
"""A hazard warning raised up to this long after a water rise ends still belongs to it [s]."""


def score_hazard(
    warnings: Sequence[Mapping[str, Any]],
    truth: Sequence[TruthEvent],
    readings: Mapping[str, Sequence[tuple[datetime, float]]],
    thresholds: Sequence[Threshold],
    duration_s: float,
) -> dict[str, Any]:
    """Score hazard warnings against the injected water rises.

    A warning is one episode (``{"threshold", "time", "first_warned": {level: time}}``). For
    each water rise and each level of a water-level threshold that the gauge's readings
    actually reach during the rise, the lead time is the first reading at or above the level
    minus the moment the episode first warned at that level (negative: late; no episode:
    missed). An episode is false when it begins outside every water rise (start to end + 1 h).
    Figures: lead time per level [s] (median, p90, p95, n), per rise and level, missed
    crossings, false warnings per day.
    """
    rises = [t for t in truth if t.type == "water_rise"]
    leads: dict[str, list[float]] = {}
    by_event: dict[str, dict[str, float | None]] = {}
    missed: list[str] = []
    for ev in rises:
        start, end = parse_time(ev.start), parse_time(ev.end)
        for th in thresholds:
            if th.reading_kind != "water_level" or th.kind != "level":
                continue
            series = [(t, v) for t, v in readings.get(th.device, []) if start <= t <= end]
            episodes = [
                w
                for w in warnings
                if w.get("threshold") == th.id
                and start <= parse_time(str(w["time"]))
                and (parse_time(str(w["time"])) - end).total_seconds() <= HAZARD_MARGIN_S
            ]
            for level in th.levels:
                crossing = next((t for t, v in series if v >= level.value), None)
                if crossing is None:
                    continue
                key = f"{ev.id}:{th.id}:{level.name}"
                warned = [
                    parse_time(str(w["first_warned"][level.name]))
                    for w in episodes
                    if level.name in w.get("first_warned", {})
                ]
                if not warned:
                    missed.append(key)
                    by_event.setdefault(ev.id, {})[level.name] = None
                    continue
                lead = (crossing - min(warned)).total_seconds()
                leads.setdefault(level.name, []).append(lead)
                by_event.setdefault(ev.id, {})[level.name] = round(lead, 1)
    false = 0
    for w in warnings:
        t = parse_time(str(w["time"]))
        if not any(
            parse_time(ev.start) <= t
            and (t - parse_time(ev.end)).total_seconds() <= HAZARD_MARGIN_S
            for ev in rises
        ):
            false += 1
    days = max(duration_s, 1.0) / 86400
    return {
        "status": "scored",
        "rises": len(rises),
        "warnings": len(warnings),
        "lead_time_s": {name: _spread(v) for name, v in leads.items()},
        "lead_time_by_rise_s": by_event,
        "missed_crossings": missed,
        "false_warnings": false,
        "false_warnings_per_day": round(false / days, 3),
    }


def _levels_sent(report: ReplayReport) -> dict[str, list[tuple[datetime, float]]]:
    """Each water gauge's genuine readings ``(time, level)`` as sent, in time order."""
    out: dict[str, list[tuple[datetime, float]]] = {}
    for e in report.simulation.genuine():
        r = e.reading
        if r["kind"] == "water_level":
            out.setdefault(r["device"], []).append(
                (parse_time(str(r["time"])), float(r["values"]["level_cm_nap"]))
            )
    for series in out.values():
        series.sort()
    return out


def _spread(values: Sequence[float]) -> dict[str, float] | None:
    if not values:
        return None
    ordered = sorted(values)

    def q(p: float) -> float:
        i = p * (len(ordered) - 1)
        lo, hi = int(i), min(int(i) + 1, len(ordered) - 1)
        return round(ordered[lo] + (ordered[hi] - ordered[lo]) * (i - lo), 3)

    return {"median": q(0.5), "p90": q(0.9), "p95": q(0.95), "n": len(ordered)}


def _distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance between two ``(lon, lat)`` points [m] (haversine)."""
    lon1, lat1, lon2, lat2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6_371_008.8 * math.asin(math.sqrt(h))


def _ingest(report: ReplayReport, elapsed_s: float | None) -> dict[str, Any]:
    genuine = sum(1 for _ in report.simulation.genuine())
    expected: dict[str, str] = {}
    for t in report.simulation.truth:
        if t.type == "cyber_attack":
            expected[str(t.details.get("mode"))] = str(t.details.get("expected_reason"))
    attacks: dict[str, dict[str, Any]] = {}
    for (mode, outcome), n in sorted(report.attacks.items()):
        entry = attacks.setdefault(
            mode, {"sent": 0, "outcomes": {}, "expected": expected.get(mode)}
        )
        entry["sent"] += n
        entry["outcomes"][outcome] = n
    for mode, entry in attacks.items():
        entry["refused_as_expected"] = entry["outcomes"].get(entry["expected"], 0)
        if mode == "replayed":
            # An identical copy within the duplicate window is answered "duplicate": refused
            # too (nothing stored again), and a replay burst for the infra detector.
            entry["refused_as_expected"] += entry["outcomes"].get("duplicate", 0)
        entry["stored"] = entry["outcomes"].get("accepted", 0)
    out: dict[str, Any] = {
        "status": "scored",
        "genuine_sent": genuine,
        "genuine_stored": report.accepted - sum(a["stored"] for a in attacks.values()),
        "genuine_refused": len(report.unexpected),
        "duplicates": report.duplicates,
        "attacks": attacks,
        "answered_by": report.by,
    }
    if elapsed_s:
        out["readings_per_s"] = round(report.sent / elapsed_s)
    return out


def write_scorecard(card: Mapping[str, Any], report: ReplayReport, out_dir: Path) -> list[Path]:
    """Write the score card as JSON, Markdown and a PNG timeline; return the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / "scorecard.json", out_dir / "scorecard.md", out_dir / "timeline.png"]
    paths[0].write_text(json.dumps(card, indent=2) + "\n")
    paths[1].write_text(_markdown(card))
    _timeline(report, paths[2])
    return paths


def _markdown(card: Mapping[str, Any]) -> str:
    ing = card["ingest"]
    lines = [
        f"# Score card: {card['scenario']}",
        "",
        f"Replay starting {card['start']}. {card['source'].capitalize()}.",
        "",
        "## Ingest",
        "",
        f"- genuine readings: {ing['genuine_sent']} sent, {ing['genuine_stored']} stored, "
        f"{ing['genuine_refused']} refused; duplicates answered: {ing['duplicates']}",
    ]
    if "readings_per_s" in ing:
        lines.append(f"- replay rate: {ing['readings_per_s']} readings/s")
    lines += [
        "",
        "| attack | sent | expected | refused as expected | stored | outcomes |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for mode, a in ing["attacks"].items():
        outcomes = ", ".join(f"{k} {v}" for k, v in a["outcomes"].items())
        lines.append(
            f"| {mode} | {a['sent']} | {a['expected']} | {a['refused_as_expected']} | "
            f"{a['stored']} | {outcomes} |"
        )
    lines += [
        "",
        "## Detectors",
        "",
        "| kind | status | ground-truth events |",
        "| --- | --- | --- |",
    ]
    for kind in DETECTOR_KINDS:
        d = card[kind]
        events = ", ".join(f"{k} {v}" for k, v in d.get("truth_events", {}).items()) or "none"
        lines.append(f"| {kind} | {d['status']} | {events} |")
    scored = [
        k for k in DETECTOR_KINDS if card[k]["status"] == "scored" and "detection_rate" in card[k]
    ]
    if scored:
        lines += [
            "",
            "| kind | detected | detection rate | precision | false alarms / h | "
            "error median / p90 [m] | latency median [s] | decision delay p95 [s] |",
            "| --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
    for kind in scored:
        d = card[kind]
        err, lat, dec = d["localisation_error_m"], d["latency_s"], d["decision_delay_s"]
        error = f"{err['median']} / {err['p90']}" if err else "-"
        lines.append(
            f"| {kind} | {d['detected']}/{d['events']} | {d['detection_rate']} | "
            f"{d['precision']} | {d['false_alarms_per_hour']} | "
            f"{error} | "
            f"{lat['median'] if lat else '-'} | {dec['p95'] if dec else '-'} |"
        )
    crowd = card.get("crowd", {})
    if crowd.get("status") == "scored":
        lead = crowd["lead_time_to_4_s"]
        lines += [
            "",
            "| crowd | surges warned | lead time to 4 p/m², median [min] | missed crossings | "
            "false warnings / zone / day |",
            "| --- | --- | --- | --- | --- |",
            f"| crowd | {crowd['surges_warned']}/{crowd['surges']} | "
            f"{round(lead['median'] / 60, 1) if lead else '-'} | "
            f"{len(crowd['missed_crossings'])} | {crowd['false_warnings_per_zone_per_day']} |",
        ]
    lines += ["", "![timeline](timeline.png)", ""]
    return "\n".join(lines)


def _timeline(report: ReplayReport, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sim = report.simulation
    minutes = Counter(int(e.send_s // 60) for e in sim.genuine())
    fig, ax = plt.subplots(figsize=(10, 3.2), dpi=100)
    xs = sorted(minutes)
    ax.plot(
        [x / 60 for x in xs],
        [minutes[x] for x in xs],
        lw=1,
        color="#3b82f6",
        label="genuine readings per minute",
    )
    attack_s = [e.send_s / 3600 for e in sim.attacks()]
    if attack_s:
        ax.scatter(
            attack_s,
            [0] * len(attack_s),
            marker="x",
            color="#ef4444",
            label="attack readings",
            zorder=3,
        )
    top = max(minutes.values(), default=1)
    ax.set_ylim(0, top * 1.6)
    shown: dict[float, int] = {}
    for t in sim.truth:
        if t.type == "impulsive_noise":
            continue
        at = (parse_time(t.start) - sim.start).total_seconds()
        ax.axvline(at / 3600, color="#f59e0b", lw=0.8, ls="--")
        slot = round(at / 1800)  # labels of events within 30 min of each other stack up
        n = shown.get(slot, 0)
        shown[slot] = n + 1
        ax.text(
            at / 3600,
            top * (1.55 - 0.14 * n),
            t.type.replace("_", " "),
            fontsize=7,
            va="top",
            ha="left",
            color="#92400e",
        )
    ax.set_xlabel("hours since scenario start (simulated)")
    ax.set_ylabel("readings / min")
    ax.set_title(f"{sim.scenario.name}: readings and injected events (simulated)", fontsize=9)
    ax.legend(loc="lower right", fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)

"""The correlator: given a detection and the open incidents, join one or open a new one.

Pure: no store, no bus, no clock of its own. :func:`fuse` is the whole decision; the service
runs it inside the store's atomic :meth:`~stadswacht.store.base.Store.fuse_incident`, so the
candidates it sees are every open incident committed before it.

- A detection already held by an incident (a new version of it: another round, a better fix)
  updates its evidence there; it is never correlated twice.
- Otherwise it joins the first candidate (latest ``last_time`` first) that some rule lets it
  join (:func:`joins`), or opens an incident of its own. Kinds in ``rules.ignore`` open none.

The incident's kind, owner, position, classification and severity follow from its evidence
(:func:`summarise`); its procedure from its kind (:func:`~stadswacht.fusion.sop.apply_sop`).

>>> from datetime import UTC, datetime
>>> from stadswacht.model import Detection, Position
>>> shot = Detection(id="g1", kind="gunshot", detector="gunshot", agency="police", area="iz",
...     time="2026-11-25T02:13:07Z", detected_at="2026-11-25T02:13:08Z",
...     position=Position(lat=52.0915, lon=4.2925), probability=0.93)
>>> now = datetime(2026, 11, 25, 2, 13, 8, tzinfo=UTC)
>>> inc = fuse(shot, None, [], now=now)
>>> inc.id, inc.kind, int(inc.severity), inc.status.value
('inc-g1', 'gunshot', 3, 'new')
>>> crowd = shot.model_copy(update={"id": "c1", "kind": "crowd", "agency": "municipality",
...                                  "time": "2026-11-25T02:14:00Z"})
>>> inc = fuse(crowd, None, [inc], now=now)
>>> inc.id, sorted(inc.kinds), int(inc.severity), inc.version
('inc-g1', ['crowd', 'gunshot'], 4, 2)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from stadswacht.fusion.incident import Evidence, Incident, Severity, Status, TimelineEntry
from stadswacht.fusion.rules import DEFAULT_RULES, CorrelationRule, RuleSet, distance_m
from stadswacht.fusion.sop import DEFAULT_SOPS, Sop, apply_sop
from stadswacht.model import Detection, format_time
from stadswacht.model.reading import parse_time_ns
from stadswacht.sharing.model import Classification

__all__ = ["evidence_of", "fuse", "joins", "open_incident", "summarise"]

_LEVEL_BUMP = {"critical": 1}
"""Severity added for a detection's ``details.level`` (a crowd warning gone critical)."""


def evidence_of(detection: Detection, rules: RuleSet = DEFAULT_RULES) -> Evidence:
    """What an incident keeps of a detection: id, version, kind, place, time, its own severity
    and the detail values the rules correlate on."""
    d = detection
    bump = 0
    level_index = d.details.get("level_index")
    if isinstance(level_index, int) and not isinstance(level_index, bool):
        bump = max(0, level_index)
    elif isinstance(d.details.get("level"), str):
        bump = _LEVEL_BUMP.get(d.details["level"], 0)
    base = rules.severity.get(d.kind, rules.default_severity)
    wanted = {k for r in rules.rules for k in r.keys}
    keys = {k: str(d.details[k]) for k in sorted(wanted) if d.details.get(k) is not None}
    return Evidence(
        detection=d.id,
        version=d.version,
        kind=d.kind,
        agency=d.agency,
        area=d.area,
        time=d.time,
        position=d.position,
        probability=d.probability,
        severity=min(5, max(1, base + bump)),
        keys=keys,
    )


def joins(rule: CorrelationRule, ev: Evidence, incident: Incident) -> bool:
    """Whether evidence ``ev`` joins ``incident`` under ``rule``.

    Kinds: ``ev``'s kind and all the incident's in the rule's. Time: within ``window_s`` of the
    incident's first to last detection. Place: within ``radius_m`` of any of its evidence, or
    (``same_area``) in the area of any of it. Keys: equal to every evidence's that has them.
    Owner (``same_agency``): the agency of every evidence.
    """
    if ev.kind not in rule.kinds or not incident.kinds <= rule.kinds:
        return False
    if rule.same_agency and any(e.agency != ev.agency for e in incident.detections):
        return False
    t_us = _us(ev.time)
    window_us = rule.window_s * 1e6
    if not incident.first_us - window_us <= t_us <= incident.last_us + window_us:
        return False
    for key in rule.keys:
        if any(e.keys.get(key) != ev.keys.get(key) for e in incident.detections):
            return False
    return any(_near(rule, ev, e) for e in incident.detections)


def _near(rule: CorrelationRule, a: Evidence, b: Evidence) -> bool:
    if rule.same_area and a.area is not None and a.area == b.area:
        return True
    if rule.radius_m is not None and a.position is not None and b.position is not None:
        pa, pb = a.position, b.position
        return distance_m(pa.lat, pa.lon, pb.lat, pb.lon) <= rule.radius_m
    return False


def summarise(incident: Incident, rules: RuleSet, sops: Mapping[str, Sop]) -> Incident:
    """The incident with kind, owner, place, times, classification, severity and title made
    again from its evidence, and the procedure of its kind. Severity never goes down by
    itself: a person who sees it lower says so in the incident's notes."""
    ev = incident.detections
    lead = min(ev, key=lambda e: (rules.rank(e.kind), e.time, e.detection))
    kinds = sorted({e.kind for e in ev}, key=lambda k: (rules.rank(k), k))
    rule = next((r for r in rules.rules if r.name == incident.rule), None)
    boost = rule.boost if rule is not None else 0
    severity = min(5, max(e.severity for e in ev) + boost * (len(kinds) - 1))
    classification = max(
        (rules.classification.get(k, rules.default_classification) for k in kinds),
        key=lambda c: c.rank,
        default=Classification.AMBER,
    )
    position = lead.position or next((e.position for e in ev if e.position), None)
    area = lead.area or next((e.area for e in ev if e.area), None)
    place = (
        f"in {area}" if area else (f"at {position.lat:.5f}, {position.lon:.5f}" if position else "")
    )
    others = [k for k in kinds if k != lead.kind]
    title = " ".join(filter(None, [lead.kind, place])) + (
        f" (with {', '.join(others)})" if others else ""
    )
    times = sorted(e.time for e in ev)
    changed = incident.model_copy(
        update={
            "kind": lead.kind,
            "agency": lead.agency,
            "position": position,
            "area": area,
            "classification": classification,
            "severity": Severity(max(int(incident.severity), severity)),
            "title": title,
            "first_time": min(times, key=_us),
            "last_time": max(times, key=_us),
        }
    )
    return apply_sop(changed, sops)


def _us(t: str) -> int:
    return parse_time_ns(t) // 1000


def open_incident(
    detection: Detection,
    now: datetime,
    rules: RuleSet = DEFAULT_RULES,
    sops: Mapping[str, Sop] = DEFAULT_SOPS,
) -> Incident:
    """A new incident (version 1) resting on ``detection`` alone; its id is ``inc-<id>``."""
    ev = evidence_of(detection, rules)
    stamp = format_time(now)
    incident = Incident(
        id=f"inc-{detection.id}",
        kind=detection.kind,
        title=detection.kind,
        severity=Severity(ev.severity),
        agency=detection.agency,
        first_time=detection.time,
        last_time=detection.time,
        opened_at=stamp,
        detections=[ev],
        timeline=[
            TimelineEntry(
                event="opened",
                at=stamp,
                by="stadswacht",
                role="system",
                to_status=Status.NEW,
                why=f"detection {detection.id} ({detection.kind}, p={detection.probability:.2f})",
            )
        ],
    )
    return summarise(incident, rules, sops)


def _with_evidence(
    incident: Incident,
    ev: Evidence,
    rule: str | None,
    now: datetime,
    rules: RuleSet,
    sops: Mapping[str, Sop],
) -> Incident:
    held = [e for e in incident.detections if e.detection != ev.detection]
    updated = incident.model_copy(update={"detections": [*held, ev], "rule": rule or incident.rule})
    updated = summarise(updated, rules, sops)
    if updated.kind != incident.kind:
        entry = TimelineEntry(
            event="evidence",
            at=format_time(now),
            by="stadswacht",
            role="system",
            from_status=incident.status,
            to_status=incident.status,
            why=f"{ev.kind} detection {ev.detection} joined: now a {updated.kind} incident",
        )
        updated = updated.model_copy(update={"timeline": [*updated.timeline, entry]})
    return updated.model_copy(update={"version": incident.version + 1})


def fuse(
    detection: Detection,
    attached: Incident | None,
    candidates: Sequence[Incident],
    *,
    now: datetime,
    rules: RuleSet = DEFAULT_RULES,
    sops: Mapping[str, Sop] = DEFAULT_SOPS,
) -> Incident | None:
    """The incident to store for ``detection``, or ``None`` when nothing changes.

    Args:
        attached: the incident that already holds this detection, if any.
        candidates: open incidents that it might join, preferred first.
        now: the platform's clock (opening time, response deadline).

    Returns:
        ``attached`` with the newer version of the detection; or a candidate it joins, with
        ``version`` one higher; or a new incident; ``None`` for an old or repeated version, or
        an ignored kind.
    """
    ev = evidence_of(detection, rules)
    if attached is not None:
        held = next((e for e in attached.detections if e.detection == detection.id), None)
        if held is not None and held.version >= detection.version:
            return None  # redelivered, or an older version late
        return _with_evidence(attached, ev, None, now, rules, sops)
    if detection.kind in rules.ignore:
        return None
    for incident in candidates:
        if not incident.open:
            continue
        for rule in rules.rules:
            if joins(rule, ev, incident):
                return _with_evidence(incident, ev, rule.name, now, rules, sops)
    return open_incident(detection, now, rules, sops)

"""The correlator: which detections become one incident, and what that incident says."""

from __future__ import annotations

from datetime import timedelta

from stadswacht.fusion.correlator import fuse
from stadswacht.fusion.incident import Incident, Severity, Status
from stadswacht.fusion.rules import DEFAULT_RULES, CorrelationRule, RuleSet
from stadswacht.model import Detection
from stadswacht.sharing.model import Classification
from tests.fusion.factories import PLACE, T0, detection, moved

NOW = T0 + timedelta(seconds=1)


def _run(*detections: Detection) -> list[Incident]:
    """Feed detections one by one, as the service does; the incidents made, by id."""
    incidents: dict[str, Incident] = {}
    holder: dict[str, str] = {}
    for d in detections:
        attached = incidents.get(holder.get(d.id, ""))
        candidates = sorted(incidents.values(), key=lambda i: (-i.last_us, i.id))
        result = fuse(d, attached, candidates, now=NOW)
        if result is not None:
            incidents[result.id] = result
            holder[d.id] = result.id
    return sorted(incidents.values(), key=lambda i: i.id)


def test_a_gunshot_a_crowd_outflow_and_a_burst_of_posts_are_one_more_severe_incident() -> None:
    shot = detection("g1", "gunshot")
    outflow = detection("c1", "crowd", after_s=40, position=moved(PLACE, east_m=180))
    posts = detection("w1", "websignal", after_s=300, position=None)  # same area, no point
    (alone,) = _run(shot)
    assert alone.severity is Severity.SERIOUS
    (incident,) = _run(shot, outflow, posts)
    assert incident.id == "inc-g1" and incident.rule == "violence"
    assert [(e.detection, e.version) for e in incident.detections] == [
        ("g1", 1), ("c1", 1), ("w1", 1),
    ]  # fmt: skip
    assert incident.severity is Severity.EXTREME  # 3 for the shot, +1 for each further kind
    assert incident.kind == "gunshot" and incident.agency == "police"
    assert incident.position == PLACE  # the gunshot's fix, not the crowd zone's centre
    assert incident.classification is Classification.AMBER
    assert incident.title == "gunshot in iz (with crowd, websignal)"
    assert incident.first_time == shot.time and incident.last_time == posts.time
    assert incident.version == 3 and incident.status is Status.NEW


def test_detections_too_far_apart_in_space_or_time_make_separate_incidents() -> None:
    shot = detection("g1", "gunshot")
    far = detection("c1", "crowd", after_s=10, area="malieveld", position=moved(PLACE, 2000))
    late = detection("w1", "websignal", after_s=601, position=PLACE)
    near_in_other_area = detection("c2", "crowd", area="other", position=moved(PLACE, 250))
    got = _run(shot, far, late, near_in_other_area)
    assert [i.id for i in got] == ["inc-c1", "inc-g1", "inc-w1"]
    assert [e.detection for e in got[1].detections] == ["g1", "c2"]  # within 300 m


def test_a_crowd_warning_first_becomes_a_gunshot_incident_when_shots_join() -> None:
    outflow = detection("c1", "crowd")
    shot = detection("g1", "gunshot", after_s=5)
    (incident,) = _run(outflow, shot)
    assert incident.id == "inc-c1"
    assert incident.kind == "gunshot" and incident.agency == "police" and incident.sop == "gunshot"
    assert incident.timeline[-1].event == "evidence"
    assert "now a gunshot incident" in incident.timeline[-1].why
    assert incident.severity is Severity.SEVERE


def test_crowd_warnings_of_one_zone_are_one_incident_and_each_is_shown() -> None:
    a = detection("cw-koekamp-1", "crowd", area="koekamp", position=None)
    b = detection("cw-koekamp-2", "crowd", area="koekamp", after_s=1800, position=None)
    c = detection("cw-malieveld-1", "crowd", area="malieveld", position=None)
    got = _run(a, b, c)
    assert [(i.id, len(i.detections)) for i in got] == [
        ("inc-cw-koekamp-1", 2), ("inc-cw-malieveld-1", 1),
    ]  # fmt: skip
    assert got[0].classification is Classification.GREEN and got[0].sop == "crowd"


def test_hazard_warnings_join_only_warnings_of_the_same_hazard() -> None:
    surge = detection("h1", "hazard", details={"hazard": "storm_surge", "level_index": 0})
    higher = detection(
        "h2", "hazard", after_s=3600, details={"hazard": "storm_surge", "level_index": 1}
    )
    rain = detection("h3", "hazard", after_s=60, details={"hazard": "cloudburst"})
    got = _run(surge, higher, rain)
    assert [(i.id, [e.detection for e in i.detections]) for i in got] == [
        ("inc-h1", ["h1", "h2"]), ("inc-h3", ["h3"]),
    ]  # fmt: skip
    assert got[0].severity is Severity.SERIOUS  # base 2, +1 for the orange level


def test_a_new_version_updates_the_evidence_and_a_repeat_changes_nothing() -> None:
    v1 = detection("g1", "gunshot")
    v2 = detection("g1", "gunshot", version=2, details={"rounds": 3})
    (incident,) = _run(v1, v2)
    assert [(e.detection, e.version) for e in incident.detections] == [("g1", 2)]
    assert incident.version == 2
    assert fuse(v2, incident, [incident], now=NOW) is None  # redelivered
    assert fuse(v1, incident, [incident], now=NOW) is None  # an older version, late


def test_fireworks_open_no_incident() -> None:
    assert _run(detection("f1", "fireworks")) == []


def test_closed_incidents_take_no_new_evidence() -> None:
    (incident,) = _run(detection("g1"))
    closed = incident.model_copy(update={"status": Status.FALSE_ALARM})
    result = fuse(detection("g2", after_s=5), None, [closed], now=NOW)
    assert result is not None and result.id == "inc-g2"


def test_a_rule_with_radius_only_ignores_the_area() -> None:
    rules = RuleSet(
        rules=(CorrelationRule(name="r", kinds=frozenset({"gunshot"}), window_s=60, radius_m=50),)
    )
    first = fuse(detection("g1"), None, [], now=NOW, rules=rules)
    assert first is not None
    same_area_far = detection("g2", position=moved(PLACE, 80))
    assert fuse(same_area_far, None, [first], now=NOW, rules=rules).id == "inc-g2"  # type: ignore[union-attr]
    close = detection("g3", position=moved(PLACE, 40), area=None)
    assert fuse(close, None, [first], now=NOW, rules=rules).id == "inc-g1"  # type: ignore[union-attr]
    assert DEFAULT_RULES.rules[0].same_area


def test_infra_findings_of_different_agencies_are_one_incident_per_agency() -> None:
    """An outage is reported once per affected agency (each naming only its own devices):
    each agency gets one incident about its own devices, never one owned by another."""
    police = detection("g:police", "infra", agency="police")
    police2 = detection("g2:police", "infra", agency="police", after_s=60)
    town = detection("g:municipality", "infra", agency="municipality", after_s=5)
    incidents = _run(police, town, police2)
    owners = sorted((i.agency, sorted(e.detection for e in i.detections)) for i in incidents)
    assert owners == [("municipality", ["g:municipality"]), ("police", ["g2:police", "g:police"])]

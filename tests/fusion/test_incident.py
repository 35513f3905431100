"""The incident lifecycle: allowed transitions by role, recorded, mandatory steps first."""

from __future__ import annotations

from datetime import timedelta

import pytest

from stadswacht.errors import PermissionDenied
from stadswacht.fusion.correlator import open_incident
from stadswacht.fusion.incident import (
    TRANSITIONS,
    Incident,
    IncidentError,
    Status,
    TransitionDenied,
    TransitionNotAllowed,
    transition,
)
from stadswacht.fusion.sop import mark_step
from stadswacht.model import Role
from tests.fusion.factories import T0, detection

AT = T0 + timedelta(minutes=1)


def _new() -> Incident:
    return open_incident(detection("g1"), T0)


def _steps_done(incident: Incident) -> Incident:
    for step in incident.open_mandatory_steps():
        incident = mark_step(incident, step, done=True, by="ops", role="operator", note="", at=AT)
    return incident


def test_each_transition_records_who_when_from_to_and_why() -> None:
    i = transition(_new(), "acknowledged", by="ops", role="operator", why="seen", at=AT)
    i = transition(i, Status.DISPATCHED, by="ops", role=Role.OPERATOR, why="unit 12", at=AT)
    entries = [(e.by, e.at, e.from_status, e.to_status, e.why) for e in i.timeline[1:]]
    assert entries == [
        ("ops", "2026-11-25T02:14:07.000000Z", Status.NEW, Status.ACKNOWLEDGED, "seen"),
        ("ops", "2026-11-25T02:14:07.000000Z", Status.ACKNOWLEDGED, Status.DISPATCHED, "unit 12"),
    ]
    assert i.status is Status.DISPATCHED and i.version == 3


@pytest.mark.parametrize(
    ("path", "to"),
    [
        ([], "new"),
        (["dispatched"], "acknowledged"),
        (["false_alarm"], "dispatched"),
        (["acknowledged"], "acknowledged"),
    ],
)
def test_a_transition_not_in_the_table_is_refused_and_says_where_it_can_go(
    path: list[str], to: str
) -> None:
    i = _new()
    for step in path:
        i = transition(i, step, by="boss", role="supervisor", why="x", at=AT)
    with pytest.raises(TransitionNotAllowed, match="can go to"):
        transition(i, to, by="boss", role="supervisor", why="x", at=AT)


def test_an_operator_may_not_resolve_or_reopen() -> None:
    i = _steps_done(transition(_new(), "dispatched", by="ops", role="operator", why="x", at=AT))
    with pytest.raises(TransitionDenied, match="ask a supervisor") as caught:
        transition(i, "resolved", by="ops", role="operator", why="done", at=AT)
    assert isinstance(caught.value, PermissionDenied)  # the API answers 403
    closed = transition(i, "false_alarm", by="ops", role="operator", why="a door", at=AT)
    with pytest.raises(TransitionDenied):
        transition(closed, "acknowledged", by="ops", role="operator", why="again", at=AT)
    reopened = transition(closed, "acknowledged", by="boss", role="supervisor", why="again", at=AT)
    assert reopened.status is Status.ACKNOWLEDGED and reopened.open


def test_resolving_needs_every_mandatory_step_done_first() -> None:
    i = transition(_new(), "dispatched", by="ops", role="operator", why="x", at=AT)
    assert i.open_mandatory_steps() == ["verify", "dispatch", "report"]
    i = mark_step(i, "verify", done=True, by="ops", role="operator", note="camera 4", at=AT)
    with pytest.raises(TransitionNotAllowed, match="dispatch, report"):
        transition(i, "resolved", by="boss", role="supervisor", why="done", at=AT)
    i = _steps_done(i)
    resolved = transition(i, "resolved", by="boss", role="supervisor", why="done", at=AT)
    assert resolved.status is Status.RESOLVED and not resolved.open
    assert [s.done for s in resolved.steps] == [True, True, False, True]  # 'inform' optional
    assert resolved.steps[0].note == "camera 4" and resolved.steps[0].by == "ops"


def test_a_transition_needs_a_reason() -> None:
    with pytest.raises(IncidentError, match="say why"):
        transition(_new(), "acknowledged", by="ops", role="operator", why="  ", at=AT)


def test_steps_of_a_closed_incident_or_unknown_steps_are_refused() -> None:
    i = _new()
    with pytest.raises(IncidentError, match="verify, dispatch, inform, report"):
        mark_step(i, "nope", done=True, by="ops", role="operator", note="", at=AT)
    closed = transition(i, "false_alarm", by="ops", role="operator", why="x", at=AT)
    with pytest.raises(IncidentError, match="reopen it"):
        mark_step(closed, "verify", done=True, by="ops", role="operator", note="", at=AT)


def test_only_supervisors_resolve_and_reopen_in_the_table() -> None:
    for (_, to), roles in TRANSITIONS.items():
        if to is Status.RESOLVED or _ in (Status.RESOLVED, Status.FALSE_ALARM):
            assert Role.OPERATOR not in roles
        else:
            assert Role.OPERATOR in roles and Role.ANALYST not in roles

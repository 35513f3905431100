"""Procedures: steps from YAML, and escalation to a supervisor when nobody responds in time."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest

from stadswacht.bus.inproc import InprocBus
from stadswacht.config import Settings
from stadswacht.errors import ConfigurationError
from stadswacht.fusion.correlator import open_incident
from stadswacht.fusion.incident import Status, transition
from stadswacht.fusion.service import FusionService, change_status
from stadswacht.fusion.sop import DEFAULT_SOPS, apply_sop, escalate, overdue, read_sops
from stadswacht.model import Role
from stadswacht.store import SQLiteStore
from tests.fusion.factories import T0, detection


def test_a_new_incident_escalates_once_when_its_response_time_runs_out() -> None:
    incident = open_incident(detection("g1"), T0)
    assert incident.respond_by == "2026-11-25T02:14:07.000000Z"  # gunshot: 60 s
    assert not overdue(incident, T0 + timedelta(seconds=60))
    assert escalate(incident, T0 + timedelta(seconds=60)) is None
    later = T0 + timedelta(seconds=61)
    escalated = escalate(incident, later)
    assert escalated is not None and escalated.escalated and escalated.version == 2
    assert escalated.escalate_to is Role.SUPERVISOR
    assert escalated.timeline[-1].event == "escalation"
    assert "escalated to the supervisor" in escalated.timeline[-1].why
    assert escalate(escalated, later + timedelta(hours=1)) is None  # once


def test_an_acknowledged_incident_does_not_escalate() -> None:
    incident = open_incident(detection("g1"), T0)
    acked = transition(incident, "acknowledged", by="ops", role="operator", why="x", at=T0)
    assert not overdue(acked, T0 + timedelta(days=1))


def test_the_service_escalates_with_a_moved_clock_and_publishes(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    clock = [T0]

    async def main() -> tuple[list[str], list[str]]:
        bus = InprocBus()
        sub = await bus.subscribe("stadswacht.incidents.>")
        service = FusionService(store, bus, Settings(env="test"), clock=lambda: clock[0])
        service.handle(detection("g1"))
        service.handle(detection("c1", "crowd", area="koekamp", position=None))
        clock[0] = T0 + timedelta(seconds=90)  # past the gunshot's 60 s, not the crowd's 120 s
        first = [i.id for i in await asyncio.to_thread(service.escalate_overdue)]
        change_status(store, bus, "inc-c1", "acknowledged", by="ops", role="operator",
                      why="seen", at=clock[0])  # fmt: skip
        clock[0] = T0 + timedelta(hours=1)
        second = [i.id for i in await asyncio.to_thread(service.escalate_overdue)]
        got = []
        for _ in range(4):
            msg = await sub.__anext__()
            await msg.ack()
            got.append(msg.msg_id)
        assert sub.queue.empty()  # type: ignore[attr-defined]
        await bus.close()
        return first + second, got

    escalated, published = asyncio.run(main())
    assert escalated == ["inc-g1"]
    assert published == ["inc-g1:1", "inc-c1:1", "inc-g1:2", "inc-c1:2"]
    assert store.get_incident("inc-c1").status == Status.ACKNOWLEDGED.value
    store.close()


def test_procedures_are_read_from_yaml(tmp_path: Path) -> None:
    path = tmp_path / "sops.yaml"
    path.write_text(
        "gunshot:\n"
        "  title: Shots\n"
        "  response_s: 30\n"
        "  steps:\n"
        "    - {id: verify, text: Look, mandatory: true}\n"
        "    - {id: call, text: Call}\n"
    )
    sops = read_sops(path)
    incident = apply_sop(open_incident(detection("g1"), T0, sops=sops), sops)
    assert [(s.id, s.mandatory) for s in incident.steps] == [("verify", True), ("call", False)]
    assert incident.respond_by == "2026-11-25T02:13:37.000000Z"
    other = open_incident(detection("x1", "infra"), T0, sops=sops)  # no procedure of its own
    assert [s.id for s in other.steps] == ["assess", "report"]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("gunshot: [1]\n", "expected a mapping"),
        ("gunshot: {response_s: 0}\n", "response_s"),
        ("gunshot: {steps: [{id: a, text: x}, {id: a, text: y}]}\n", "repeat"),
        ("gunshot: {stepz: []}\n", "stepz"),
    ],
)
def test_a_malformed_procedure_file_says_what_is_wrong(
    tmp_path: Path, text: str, problem: str
) -> None:
    path = tmp_path / "sops.yaml"
    path.write_text(text)
    with pytest.raises(ConfigurationError, match=problem):
        read_sops(path)


def test_the_default_procedures_have_mandatory_steps_and_deadlines() -> None:
    for kind, sop in DEFAULT_SOPS.items():
        assert sop.kind == kind and sop.response_s > 0
        assert any(s.mandatory for s in sop.steps)

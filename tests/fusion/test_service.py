"""The fusion service on the bus: detections in, each incident version out on its subject."""

from __future__ import annotations

import asyncio
from pathlib import Path

from stadswacht.bus.inproc import InprocBus
from stadswacht.config import Settings
from stadswacht.fusion.incident import Incident
from stadswacht.fusion.service import FusionService
from stadswacht.pipeline.detectors import publish_detections
from stadswacht.store import SQLiteStore
from stadswacht.store.base import IncidentQuery
from tests.fusion.factories import T0, detection


def test_each_crowd_warning_and_gunshot_is_shown_as_an_incident_on_the_bus(
    tmp_path: Path,
) -> None:
    store = SQLiteStore(tmp_path / "s.db")

    async def main() -> list[tuple[str, str]]:
        bus = InprocBus()
        out = await bus.subscribe("stadswacht.incidents.>")
        service = FusionService(store, bus, Settings(env="test"), clock=lambda: T0)
        await service.start()
        bus.publish([("stadswacht.detections.iz.gunshot", b"not json", "bad:1")])
        warning = detection("cw-koekamp", "crowd", area="koekamp", position=None)
        await asyncio.to_thread(
            publish_detections,
            store,
            bus,
            [detection("g1"), warning, detection("f1", "fireworks")],
        )
        await asyncio.to_thread(
            publish_detections, store, bus, [warning.model_copy(update={"version": 2})]
        )
        got = []
        for _ in range(3):
            msg = await asyncio.wait_for(out.__anext__(), 10)
            await msg.ack()
            got.append((msg.subject, Incident.model_validate_json(msg.data).id))
        await service.stop()
        await bus.close()
        return got

    assert asyncio.run(main()) == [
        ("stadswacht.incidents.iz", "inc-g1"),
        ("stadswacht.incidents.koekamp", "inc-cw-koekamp"),
        ("stadswacht.incidents.koekamp", "inc-cw-koekamp"),  # its second version
    ]
    assert {i.id for i in store.list_incidents(IncidentQuery())} == {"inc-cw-koekamp", "inc-g1"}
    store.close()

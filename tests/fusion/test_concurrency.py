"""Exactly one incident: 50 detections of one event arriving at once through two workers.

Each worker is a :class:`FusionService` with its own store connection to the same database,
as two processes would be; the store's atomic ``fuse_incident`` is what makes them agree.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from stadswacht.bus.inproc import InprocBus
from stadswacht.config import Settings
from stadswacht.fusion.service import FusionService, from_stored
from stadswacht.model import Detection
from stadswacht.pipeline.detectors import publish_detections
from stadswacht.store import Store, open_store
from stadswacht.store.base import IncidentQuery
from tests.fusion.factories import PLACE, T0, detection, moved
from tests.support.postgres import PostgresUnavailable, postgres_server

KINDS = ("gunshot", "crowd", "websignal")


def _event(n: int = 50) -> list[Detection]:
    """``n`` detections of one shooting: a mix of kinds, within 5 s and 40 m."""
    return [
        detection(
            f"d{i:02d}",
            KINDS[i % 3],
            after_s=(i % 10) * 0.5,
            position=moved(PLACE, east_m=(i % 7) * 5.0, north_m=(i % 5) * 8.0),
        )
        for i in range(n)
    ]


def _two_workers_at_once(url: str) -> Store:
    """Deliver the event's detections through two workers, 25 each, all at the same moment."""
    stores = [open_store(url), open_store(url)]
    bus = InprocBus()  # publishing only; nobody listens
    workers = [FusionService(s, bus, Settings(env="test"), clock=lambda: T0) for s in stores]
    event = _event()
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def run(worker: FusionService, share: list[Detection]) -> None:
        try:
            barrier.wait()
            for d in share:
                worker.handle(d)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(w, event[i::2])) for i, w in enumerate(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert sum(w.changed for w in workers) == 50
    stores[1].close()
    return stores[0]


def _assert_one_incident_with_all(store: Store) -> None:
    (only,) = store.list_incidents(IncidentQuery())
    incident = from_stored(only)
    assert sorted(e.detection for e in incident.detections) == [f"d{i:02d}" for i in range(50)]
    assert incident.kinds == set(KINDS) and incident.kind == "gunshot"
    assert incident.severity == 5 and incident.version == 50
    assert {store.incident_of(f"d{i:02d}") for i in range(50)} == {incident.id}


def test_fifty_detections_through_two_workers_make_one_incident_on_sqlite(
    tmp_path: Path,
) -> None:
    store = _two_workers_at_once(f"sqlite:///{tmp_path / 'stadswacht.db'}")
    _assert_one_incident_with_all(store)
    store.close()


def test_two_services_on_one_bus_each_seeing_every_detection_make_one_incident(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'stadswacht.db'}"
    stores = [open_store(url), open_store(url)]

    async def main() -> None:
        bus = InprocBus()
        services = [
            FusionService(s, bus, Settings(env="test"), clock=lambda: T0, durable=None)
            for s in stores
        ]
        for service in services:
            await service.start()
        await asyncio.to_thread(publish_detections, stores[0], bus, _event())
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            found = stores[0].list_incidents(IncidentQuery())
            if len(found) == 1 and found[0].version == 50:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)  # both have had every message
        for service in services:
            await service.stop()
        await bus.close()

    asyncio.run(main())
    _assert_one_incident_with_all(stores[0])
    for s in stores:
        s.close()


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    try:
        with postgres_server() as server:
            yield server.create_database("stadswacht_fusion")
    except PostgresUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.mark.integration
def test_fifty_detections_through_two_workers_make_one_incident_on_postgresql(
    pg_url: str,
) -> None:
    store = _two_workers_at_once(pg_url)
    _assert_one_incident_with_all(store)
    store.close()

"""``/readyz``: ready, degraded (store or bus down, ingest buffering: 200 with what waits), and
unready (ingest cannot accept: 503)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, cast

import pytest
from fastapi.testclient import TestClient

from stadswacht.api import create_app
from stadswacht.bus.inproc import InprocBus
from stadswacht.config import Settings
from stadswacht.errors import BusError
from stadswacht.model import DeviceKind, Position
from stadswacht.model.signing import load_private_key
from stadswacht.pipeline import Platform
from stadswacht.store import open_store
from stadswacht.store.base import Store
from tests.conftest import FakeDevice
from tests.ingest.test_spool import FaultyStore, wait_for


class FlakyInprocBus(InprocBus):
    """The in-process bus, failing ``publish`` and ``ping`` while ``down``."""

    down = False

    def publish(self, items: Sequence[tuple[str, bytes, str]]) -> None:
        if self.down:
            raise BusError("injected fault: the bus is down")
        super().publish(items)

    def ping(self) -> None:
        if self.down:
            raise BusError("injected fault: the bus is down")
        super().ping()


Env = tuple[TestClient, FaultyStore, FlakyInprocBus, Callable[[], FakeDevice]]


def _env(tmp_path: Path, **settings: Any) -> Iterator[Env]:
    s = Settings(
        env="test",
        database_url=f"sqlite:///{tmp_path}/t.db",
        spool_drain_interval_s=0.02,
        **settings,
    )
    store = FaultyStore(open_store(s.database_url))
    bus = FlakyInprocBus()
    platform = Platform.from_settings(s, store=cast(Store, store), bus=bus)

    def device() -> FakeDevice:
        reg = platform.registry.register(
            "iz-wx-01", kind=DeviceKind.WEATHER, position=Position(lat=52.09, lon=4.28),
            agency="municipality", area="international-zone",
        )  # fmt: skip
        assert reg.private_key is not None
        return FakeDevice("iz-wx-01", load_private_key(reg.private_key))

    try:
        with TestClient(create_app(platform=platform)) as client:
            yield client, store, bus, device
    finally:
        store.down = bus.down = False
        platform.ingestor.close()
        asyncio.run(platform.close())


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    yield from _env(tmp_path)


@pytest.fixture
def no_spool(tmp_path: Path) -> Iterator[Env]:
    yield from _env(tmp_path, spool_max_bytes=0)


def test_ready_then_degraded_while_the_store_is_down_then_ready(env: Env) -> None:
    client, store, _, device = env
    dev = device()
    assert client.post("/v1/readings", json=dev.reading()).json()["accepted"] == 1
    assert client.get("/readyz").json() == {"status": "ready"}

    store.down = True
    posted = client.post("/v1/readings", json={"readings": [dev.reading(), dev.reading()]})
    assert posted.status_code == 202
    assert posted.json() == {"accepted": 0, "duplicates": [], "rejected": [], "buffered": [0, 1]}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    doc = ready.json()
    assert doc == {
        "status": "degraded",
        "store": "down",
        "bus": "ok",
        "buffered_readings": 2,
        "unpublished": 0,
        "since": doc["since"],
    }
    assert doc["since"].endswith("+00:00")

    store.down = False
    wait_for(lambda: client.get("/readyz").json() == {"status": "ready"})
    assert store.inner.count_readings() == 3


def test_degraded_while_the_bus_is_down_with_what_waits_to_be_published(env: Env) -> None:
    client, _, bus, device = env
    dev = device()
    bus.down = True
    posted = client.post("/v1/readings", json={"readings": [dev.reading()]})
    assert posted.status_code == 200 and posted.json()["accepted"] == 1
    doc = client.get("/readyz").json()
    assert (doc["status"], doc["store"], doc["bus"]) == ("degraded", "ok", "down")
    assert doc["unpublished"] == 1 and doc["buffered_readings"] == 0
    bus.down = False
    wait_for(lambda: client.get("/readyz").json() == {"status": "ready"})


def test_unready_when_the_store_is_down_and_there_is_no_spool(no_spool: Env) -> None:
    client, store, _, device = no_spool
    dev = device()
    store.down = True
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["status"] == "unready" and ready.json()["store"] == "down"
    assert "no ingest spool" in ready.json()["detail"]
    posted = client.post("/v1/readings", json={"readings": [dev.reading()]})
    assert posted.status_code == 503  # as before the spool: nothing was stored, retry

"""The real device client against the real server whose store fails: readings are buffered
(202), then refused with 503 once the spool is full (the client keeps them), and every one is
stored exactly once after the store is back."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import httpx
import pytest

from stadswacht.api import create_app
from stadswacht.client import Backoff, DeviceClient, HttpTransport
from stadswacht.config import Settings
from stadswacht.errors import TransportError
from stadswacht.model import DeviceKind, Position
from stadswacht.model.signing import sign_reading
from stadswacht.pipeline import Platform
from stadswacht.store import open_store
from stadswacht.store.base import ReadingQuery, Store
from tests.ingest.test_spool import FaultyStore, wait_for
from tests.support.server import serve


@pytest.fixture
def degraded(tmp_path: Path) -> Iterator[tuple[Platform, FaultyStore, str]]:
    settings = Settings(
        env="test",
        database_url=f"sqlite:///{tmp_path}/t.db",
        spool_max_bytes=8_000,  # about 20 readings
        spool_drain_interval_s=0.02,
    )
    faulty = FaultyStore(open_store(settings.database_url))
    platform = Platform.from_settings(settings, store=cast(Store, faulty))
    try:
        with serve(create_app(platform=platform)) as url:
            yield platform, faulty, url
    finally:
        faulty.down = False
        platform.ingestor.close()
        asyncio.run(platform.close())


def test_spool_full_means_503_and_the_client_keeps_its_readings_until_the_store_is_back(
    degraded: tuple[Platform, FaultyStore, str],
) -> None:
    platform, faulty, url = degraded
    reg = platform.registry.register(
        "iz-wx-01", kind=DeviceKind.WEATHER, position=Position(lat=52.09, lon=4.28),
        agency="municipality", area="international-zone",
    )  # fmt: skip
    assert reg.private_key is not None
    client = DeviceClient(
        "iz-wx-01",
        reg.private_key,
        HttpTransport(url),
        batch_size=1000,
        max_batch=5,
        backoff=Backoff(base=0.02, cap=0.1),
    )
    try:
        sent = [client.queue("temperature", {"temperature_c": 10.0 + i}) for i in range(5)]
        assert client.flush(5).accepted == 5

        faulty.down = True
        sent += [client.queue("temperature", {"temperature_c": 20.0 + i / 10}) for i in range(60)]
        with pytest.raises(TransportError, match="spool is full"):
            client.flush(0.5)  # the platform asks for Retry-After >= 1 s
        spooled = platform.ingestor.health().buffered_readings
        assert 0 < spooled < 60
        assert client.pending == 60 - spooled  # the refused ones are still on the device

        # What a device sees on the wire: 503, Retry-After, and what to do.
        now = client.buffer.head(1)[0].item["time"]
        extra = [
            sign_reading(
                client._key,
                {
                    "device": "iz-wx-01",
                    "seq": 10_000 + i,
                    "time": now,
                    "kind": "temperature",
                    "values": {"temperature_c": 1.0},
                },
            )
            for i in range(20)
        ]
        answer = httpx.post(f"{url}/v1/readings", json={"readings": extra})
        assert answer.status_code == 503
        assert int(answer.headers["retry-after"]) >= 1
        assert "spool is full" in answer.json()["detail"]
        ready = httpx.get(f"{url}/readyz")
        assert ready.status_code == 503 and ready.json()["status"] == "unready"

        faulty.down = False
        wait_for(lambda: platform.ingestor.health().buffered_readings == 0)
        report = client.flush(10)
        assert report.accepted == 60 - spooled and client.pending == 0
    finally:
        client.close()
    rows = faulty.inner.query_readings(ReadingQuery(limit=1000))
    assert [r.seq for r in rows] == [r["seq"] for r in sent]  # each once, in order
    assert httpx.get(f"{url}/readyz").json() == {"status": "ready"}

"""Scaled out: two ingest processes on PostgreSQL and NATS JetStream side by side.

Each process is a real ``stadswacht run`` server. A device's readings are split over both
(with overlapping redeliveries); a durable consumer group of two members on the bus receives
every stored reading exactly once between them, and the store holds each reading once.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest

from stadswacht.bus.nats import NatsBus
from stadswacht.config import Settings
from stadswacht.model import Position
from stadswacht.model.signing import load_private_key
from stadswacht.pipeline import Platform
from tests.conftest import FakeDevice
from tests.support.nats import nats_server
from tests.support.postgres import postgres_server
from tests.support.server import free_port

pytestmark = pytest.mark.integration


@contextmanager
def server(env: dict[str, str], tmp: Path) -> Iterator[str]:
    port = free_port()
    log = (tmp / f"server-{port}.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "stadswacht.cli", "run", "--port", str(port)],
        env={**os.environ, **env},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"server did not start: {(tmp / f'server-{port}.log').read_text()}"
                )
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()


def test_two_ingest_processes_and_a_consumer_group(tmp_path: Path) -> None:
    with ExitStack() as stack:
        pg = stack.enter_context(postgres_server())
        db_url = pg.create_database()
        nats_url = stack.enter_context(nats_server())
        settings = Settings(env="test", database_url=db_url, bus_url=nats_url)
        setup = Platform.from_settings(settings)
        reg = setup.registry.register(
            "iz-wx-01",
            kind="weather",
            position=Position(lat=52.09, lon=4.28),
            agency="municipality",
            area="international-zone",
        )
        asyncio.run(setup.close())
        dev = FakeDevice("iz-wx-01", load_private_key(reg.private_key or ""))
        readings = [dev.reading(values={"temperature_c": float(i % 40) + 0.5}) for i in range(600)]

        env = {
            "STADSWACHT_ENV": "test",
            "STADSWACHT_DATABASE_URL": db_url,
            "STADSWACHT_BUS_URL": nats_url,
            "STADSWACHT_DEVICE_RATE_BURST": "100000",
        }
        received: list[str] = []

        async def consume(stop: asyncio.Event, ready: asyncio.Event) -> None:
            buses = [NatsBus(nats_url), NatsBus(nats_url)]
            subs = [await b.subscribe("stadswacht.readings.>", durable="detectors") for b in buses]
            ready.set()

            async def drain(sub) -> None:  # type: ignore[no-untyped-def]
                async for msg in sub:
                    received.append(json.loads(msg.data)["seq"])
                    await msg.ack()

            tasks = [asyncio.create_task(drain(s)) for s in subs]
            await stop.wait()
            for s in subs:
                await s.close()
            await asyncio.gather(*tasks, return_exceptions=True)
            for b in buses:
                await b.close()

        async def scenario() -> dict[str, int]:
            stop, ready = asyncio.Event(), asyncio.Event()
            consumer = asyncio.create_task(consume(stop, ready))
            await ready.wait()
            a = stack.enter_context(server(env, tmp_path))
            b = stack.enter_context(server(env, tmp_path))
            totals = {"accepted": 0, "duplicates": 0}
            async with httpx.AsyncClient(timeout=30) as http:
                # Each half goes to its own process; the middle third goes to both at once.
                halves = [(a, readings[:400]), (b, readings[200:])]
                answers = await asyncio.gather(
                    *[
                        http.post(f"{url}/v1/readings", json={"readings": part})
                        for url, part in halves
                    ]
                )
            for r in answers:
                assert r.status_code == 200, r.text
                body = r.json()
                assert body["rejected"] == []
                totals["accepted"] += body["accepted"]
                totals["duplicates"] += len(body["duplicates"])
            deadline = time.monotonic() + 20
            while len(received) < 600 and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            await asyncio.sleep(0.5)  # anything extra would arrive now
            stop.set()
            await consumer
            return totals

        totals = asyncio.run(scenario())
        assert totals == {"accepted": 600, "duplicates": 200}
        assert sorted(received) == sorted(r["seq"] for r in readings)
        check = Platform.from_settings(settings)
        try:
            assert check.store.count_readings() == 600
        finally:
            asyncio.run(check.close())

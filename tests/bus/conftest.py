"""Fixtures for the bus contract suite: every test runs on the in-process bus and on NATS.

``buses`` opens buses of one kind that share their messages, as the processes of one
deployment do; ``bus`` is the first of them. Each NATS test gets a stream of its own, deleted
afterwards, so tests never see each other's messages. The NATS server is started once per
session (see ``tests/support/nats.py``).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import nats
import pytest

from stadswacht.bus import Bus, InprocBus
from stadswacht.bus.nats import NatsBus
from tests.support.nats import nats_server

BUS_KINDS = ["inproc", "nats"]
PERSISTENT_BUS_KINDS = ["nats"]
"""Kinds that keep messages while no consumer is there and drop a republished ``msg_id``."""


@pytest.fixture(scope="session")
def nats_url() -> Iterator[str]:
    with nats_server() as url:
        yield url


class Buses:
    """Opens buses of one kind on the same messages: one bus per simulated process."""

    def __init__(self, kind: str, nats_url: str | None) -> None:
        self.kind = kind
        self.nats_url = nats_url
        self.stream = f"STADSWACHT_TEST_{uuid.uuid4().hex[:12]}"
        self.opened: list[Bus] = []

    def open(self) -> Bus:
        """A bus for another process; the in-process bus has only the one."""
        if self.kind == "inproc":
            if not self.opened:
                self.opened.append(InprocBus())
            return self.opened[0]
        assert self.nats_url is not None
        bus = NatsBus(self.nats_url, stream=self.stream, timeout=5.0, connect_timeout=5.0)
        self.opened.append(bus)
        return bus

    async def close(self) -> None:
        for bus in self.opened:
            await bus.close()
        if self.nats_url is not None:
            nc = await nats.connect(self.nats_url)
            try:
                await nc.jetstream().delete_stream(self.stream)
            except nats.js.errors.NotFoundError:
                pass
            finally:
                await nc.close()


async def _buses(kind: str, request: pytest.FixtureRequest) -> AsyncIterator[Buses]:
    url = request.getfixturevalue("nats_url") if kind == "nats" else None
    buses = Buses(kind, url)
    yield buses
    await buses.close()


@pytest.fixture(params=BUS_KINDS)
async def buses(request: pytest.FixtureRequest) -> AsyncIterator[Buses]:
    async for b in _buses(request.param, request):
        yield b


@pytest.fixture(params=PERSISTENT_BUS_KINDS)
async def persistent_buses(request: pytest.FixtureRequest) -> AsyncIterator[Buses]:
    async for b in _buses(request.param, request):
        yield b


@pytest.fixture
def bus(buses: Buses) -> Bus:
    return buses.open()

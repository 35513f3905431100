"""NatsBus beyond the contract: its stream, consumer settings, and how nats errors surface."""

from __future__ import annotations

import asyncio
import os
import threading
import uuid
from collections.abc import AsyncIterator

import nats
import nats.errors
import nats.js.errors
import pytest
from nats.js import api

from stadswacht.bus.nats import NatsBus, consumer_name
from stadswacht.errors import BusError
from tests.bus.conftest import Buses
from tests.support.nats import URL_ENV, _free_port, nats_server

SUBJECT = "stadswacht.readings.iz.power"


@pytest.fixture
async def nats_buses(nats_url: str) -> AsyncIterator[Buses]:
    buses = Buses("nats", nats_url)
    yield buses
    await buses.close()


async def stream_info(url: str, stream: str) -> api.StreamInfo:
    nc = await nats.connect(url)
    try:
        info: api.StreamInfo = await nc.jetstream().stream_info(stream)
        return info
    finally:
        await nc.close()


async def test_stream_is_made_on_first_use_with_file_storage(
    nats_buses: Buses, nats_url: str
) -> None:
    bus = nats_buses.open()
    bus.publish([(SUBJECT, b"{}", "d1:1")])
    info = await stream_info(nats_url, nats_buses.stream)
    assert info.config.subjects == ["stadswacht.>"]
    assert info.config.storage == api.StorageType.FILE
    assert info.config.duplicate_window == 120.0
    assert info.state.messages == 1


async def test_changed_ack_wait_applies_to_an_existing_durable(nats_buses: Buses) -> None:
    bus = nats_buses.open()
    sub = await bus.subscribe("stadswacht.readings.>", durable="crowd", ack_wait=30.0)
    await sub.close()
    sub = await bus.subscribe("stadswacht.readings.>", durable="crowd", ack_wait=0.5)
    bus.publish([(SUBJECT, b"{}", "d1:1")])
    async with asyncio.timeout(5):
        first = await anext(sub)
        again = await anext(sub)  # not acknowledged: back after 0.5 s, not 30 s
    assert (first.msg_id, again.msg_id, again.redelivered) == ("d1:1", "d1:1", True)


def test_consumer_name_differs_per_filter() -> None:
    assert consumer_name("crowd", "stadswacht.readings.iz.>") != consumer_name(
        "crowd", "stadswacht.readings.malieveld.>"
    )


# -- nats errors become BusError -----------------------------------------------------------


async def test_unreachable_server_is_a_bus_error() -> None:
    url = f"nats://127.0.0.1:{_free_port()}"  # nothing listens there
    bus = NatsBus(url, connect_timeout=0.5)
    with pytest.raises(BusError, match=r"cannot reach NATS at nats://127\.0\.0\.1") as info:
        bus.publish([(SUBJECT, b"{}", "d1:1")])
    assert isinstance(info.value.__cause__, nats.errors.Error | OSError)
    with pytest.raises(BusError, match="cannot reach NATS"):
        await bus.subscribe("stadswacht.>")
    await bus.close()


async def test_subject_outside_the_stream_is_a_bus_error(nats_buses: Buses) -> None:
    bus = nats_buses.open()
    with pytest.raises(BusError, match=r"1 of 2 messages were not stored.*'elsewhere\.x'") as info:
        bus.publish([(SUBJECT, b"{}", "d1:1"), ("elsewhere.x", b"{}", "d1:2")])
    assert isinstance(info.value.__cause__, nats.js.errors.NoStreamResponseError)


async def test_stream_that_cannot_be_made_is_a_bus_error(nats_buses: Buses, nats_url: str) -> None:
    nats_buses.open().publish([(SUBJECT, b"{}", "d1:1")])  # its stream takes stadswacht.>
    rival = NatsBus(nats_url, stream=f"RIVAL_{uuid.uuid4().hex[:8]}")
    try:
        with pytest.raises(BusError, match="cannot create or update JetStream stream") as info:
            rival.publish([(SUBJECT, b"{}", "d1:2")])
        assert isinstance(info.value.__cause__, nats.js.errors.APIError)
    finally:
        await rival.close()


async def test_filter_outside_the_stream_is_a_bus_error(nats_buses: Buses) -> None:
    bus = nats_buses.open()
    with pytest.raises(BusError, match=r"cannot subscribe to 'elsewhere\.>'") as info:
        await bus.subscribe("elsewhere.>", durable="crowd")
    assert isinstance(info.value.__cause__, nats.js.errors.APIError)


async def test_durable_name_with_a_dot_is_a_bus_error(nats_buses: Buses) -> None:
    with pytest.raises(BusError, match=r"durable name 'crowd\.iz' is not allowed"):
        await nats_buses.open().subscribe("stadswacht.>", durable="crowd.iz")


async def test_ack_after_close_is_a_bus_error(nats_buses: Buses) -> None:
    bus = nats_buses.open()
    sub = await bus.subscribe("stadswacht.>")
    bus.publish([(SUBJECT, b"{}", "d1:1")])
    async with asyncio.timeout(5):
        msg = await anext(sub)
    await bus.close()
    with pytest.raises(BusError, match="closed"):
        await msg.ack()


async def test_server_gone_is_a_bus_error_and_close_still_returns() -> None:
    if os.environ.get(URL_ENV):
        pytest.skip(f"stops its own server; {URL_ENV} names a server the test must not stop")
    with nats_server() as url:
        bus = NatsBus(url, stream="GONE", timeout=0.5)
        bus.publish([(SUBJECT, b"{}", "d1:1")])
    # the server is stopped now
    with pytest.raises(BusError, match=r"did not acknowledge a batch of 1 messages within 0\.5 s"):
        await asyncio.to_thread(bus.publish, [(SUBJECT, b"{}", "d1:2")])
    async with asyncio.timeout(5):
        await bus.close()


async def test_close_during_a_publish_from_another_thread_does_not_hang(
    nats_buses: Buses,
) -> None:
    bus = nats_buses.open()
    bus.publish([(SUBJECT, b"{}", "warm-up")])
    outcome: list[BaseException | None] = []

    def publish() -> None:
        try:
            bus.publish([(SUBJECT, b"{}", f"d1:{i}") for i in range(20_000)])
            outcome.append(None)
        except BusError as exc:
            outcome.append(exc)

    thread = threading.Thread(target=publish)
    thread.start()
    await asyncio.sleep(0.01)
    async with asyncio.timeout(10):
        await bus.close()
    await asyncio.to_thread(thread.join, 10)
    assert len(outcome) == 1  # stored, or a BusError: never stuck


async def test_member_whose_loop_ended_unclosed_leaves_its_group(nats_buses: Buses) -> None:
    bus = nats_buses.open()

    async def subscribe_and_vanish() -> None:
        await bus.subscribe("stadswacht.readings.>", durable="crowd", ack_wait=0.5)

    await asyncio.to_thread(asyncio.run, subscribe_and_vanish())  # that loop is closed now
    live = await bus.subscribe("stadswacht.readings.>", durable="crowd", ack_wait=0.5)
    bus.publish([(SUBJECT, b"{}", f"d1:{i}") for i in range(10)])
    got: set[str] = set()
    async with asyncio.timeout(5):
        while len(got) < 10:
            msg = await anext(live)
            await msg.ack()
            got.add(msg.msg_id)
    assert got == {f"d1:{i}" for i in range(10)}

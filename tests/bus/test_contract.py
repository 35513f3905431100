"""The bus contract: the same checks on the in-process bus and on NATS JetStream.

Tests taking ``bus``/``buses`` run on both; those taking ``persistent_buses`` run only on a bus
that keeps messages (NATS): resuming a durable consumer and the ``msg_id`` duplicate window.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter

import pytest

from stadswacht.bus import Bus, Message, Subscription, reading_subject
from stadswacht.errors import BusError
from tests.bus.conftest import Buses

WAIT_S = 5.0  # upper bound for a message that should come
QUIET_S = 0.3  # how long to wait for one that should not


async def take(sub: Subscription, n: int, *, ack: bool = True) -> list[Message]:
    """The next ``n`` messages (acknowledged unless ``ack`` is false)."""
    out: list[Message] = []
    async with asyncio.timeout(WAIT_S):
        while len(out) < n:
            msg = await anext(sub)
            if ack:
                await msg.ack()
            out.append(msg)
    return out


async def assert_quiet(sub: Subscription, wait: float = QUIET_S) -> None:
    try:
        async with asyncio.timeout(wait):
            msg = await anext(sub)
    except TimeoutError:
        return
    pytest.fail(f"unexpected message {msg.msg_id!r} on {msg.subject!r}")


def items(n: int, subject: str = "stadswacht.readings.iz.power", prefix: str = "d1"):
    return [(subject, f'{{"seq": {i}}}'.encode(), f"{prefix}:{i}") for i in range(n)]


async def test_round_trip(bus: Bus) -> None:
    sub = await bus.subscribe("stadswacht.readings.>")
    bus.publish(items(3))
    got = await take(sub, 3)
    assert [(m.subject, m.data, m.msg_id, m.redelivered) for m in got] == [
        ("stadswacht.readings.iz.power", b'{"seq": 0}', "d1:0", False),
        ("stadswacht.readings.iz.power", b'{"seq": 1}', "d1:1", False),
        ("stadswacht.readings.iz.power", b'{"seq": 2}', "d1:2", False),
    ]
    await assert_quiet(sub)
    await sub.close()


async def test_subscriber_sees_only_what_is_published_after_it_subscribed(bus: Bus) -> None:
    bus.publish(items(2, prefix="before"))
    sub = await bus.subscribe("stadswacht.readings.>")
    bus.publish(items(1, prefix="after"))
    assert [m.msg_id for m in await take(sub, 1)] == ["after:0"]
    await assert_quiet(sub)


@pytest.mark.parametrize("durable", [None, "crowd"])
async def test_wildcards_partition_by_area_and_kind(bus: Bus, durable: str | None) -> None:
    area = await bus.subscribe("stadswacht.readings.iz.*", durable=durable)
    kind = await bus.subscribe("stadswacht.readings.*.power", durable=durable)
    everything = await bus.subscribe("stadswacht.>", durable=durable)
    too_short = await bus.subscribe("stadswacht.readings.*", durable=durable)
    published = [
        (reading_subject("iz", "power"), b"1", "a:1"),
        (reading_subject("iz", "temperature"), b"2", "a:2"),
        (reading_subject("malieveld", "power"), b"3", "b:1"),
        (reading_subject(None, "count"), b"4", "c:1"),
    ]
    bus.publish(published)
    assert {m.msg_id for m in await take(area, 2)} == {"a:1", "a:2"}
    assert {m.msg_id for m in await take(kind, 2)} == {"a:1", "b:1"}
    assert {m.subject for m in await take(everything, 4)} == {s for s, _, _ in published}
    for sub in (area, kind, everything, too_short):
        await assert_quiet(sub, 0.1)


async def test_plain_subscribers_each_get_every_message(bus: Bus) -> None:
    first = await bus.subscribe("stadswacht.readings.>")
    second = await bus.subscribe("stadswacht.readings.>")
    bus.publish(items(5))
    for sub in (first, second):
        assert [m.msg_id for m in await take(sub, 5)] == [f"d1:{i}" for i in range(5)]


async def test_durable_consumers_of_one_name_split_the_messages(buses: Buses) -> None:
    one, other = buses.open(), buses.open()  # two processes (one, on the in-process bus)
    a = await one.subscribe("stadswacht.readings.>", durable="crowd")
    b = await other.subscribe("stadswacht.readings.>", durable="crowd")
    n = 40
    one.publish(items(n))

    received: list[Message] = []
    done = asyncio.Event()

    async def drain(sub: Subscription) -> list[str]:
        ids = []
        async for msg in sub:
            await msg.ack()
            ids.append(msg.msg_id)
            received.append(msg)
            if len(received) == n:
                done.set()
        return ids

    tasks = [asyncio.create_task(drain(a)), asyncio.create_task(drain(b))]
    async with asyncio.timeout(WAIT_S):
        await done.wait()
    await asyncio.sleep(QUIET_S)  # room for a wrongly duplicated delivery to show up
    await a.close()
    await b.close()
    ids_a, ids_b = await asyncio.gather(*tasks)
    counts = Counter(ids_a + ids_b)
    assert set(counts) == {f"d1:{i}" for i in range(n)}
    assert max(counts.values()) == 1, "a message went to both members of the group"
    assert ids_a and ids_b, "one member of the group got nothing"


async def test_one_durable_name_on_two_filters_is_two_groups(bus: Bus) -> None:
    iz = await bus.subscribe("stadswacht.readings.iz.>", durable="crowd")
    malieveld = await bus.subscribe("stadswacht.readings.malieveld.>", durable="crowd")
    bus.publish(items(2, reading_subject("iz", "count"), "iz"))
    bus.publish(items(2, reading_subject("malieveld", "count"), "mv"))
    assert [m.msg_id for m in await take(iz, 2)] == ["iz:0", "iz:1"]
    assert [m.msg_id for m in await take(malieveld, 2)] == ["mv:0", "mv:1"]


@pytest.mark.parametrize("durable", [None, "hazard"])
async def test_unacknowledged_message_is_redelivered_after_ack_wait(
    bus: Bus, durable: str | None
) -> None:
    ack_wait = 0.5
    sub = await bus.subscribe("stadswacht.readings.>", durable=durable, ack_wait=ack_wait)
    bus.publish(items(2))
    first, second = await take(sub, 2, ack=False)
    assert (first.redelivered, second.redelivered) == (False, False)
    await first.ack()
    loop = asyncio.get_running_loop()
    started = loop.time()
    (again,) = await take(sub, 1)  # acknowledged
    assert (again.msg_id, again.data, again.redelivered) == (second.msg_id, second.data, True)
    assert loop.time() - started > ack_wait / 2
    await assert_quiet(sub, 2 * ack_wait)  # neither the acked first nor the acked retry


async def test_unacknowledged_messages_of_a_leaving_member_go_to_the_group(
    buses: Buses,
) -> None:
    leaving, staying = buses.open(), buses.open()
    a = await leaving.subscribe("stadswacht.readings.>", durable="infra", ack_wait=0.5)
    leaving.publish(items(2))
    await take(a, 2, ack=False)  # in hand, not acknowledged, when the worker stops
    b = await staying.subscribe("stadswacht.readings.>", durable="infra", ack_wait=0.5)
    await a.close()
    got = await take(b, 2)
    assert sorted((m.msg_id, m.redelivered) for m in got) == [("d1:0", True), ("d1:1", True)]
    await assert_quiet(b)


async def test_publishing_from_many_threads_loses_nothing(bus: Bus) -> None:
    sub = await bus.subscribe("stadswacht.readings.>")
    threads, batches, size = 8, 25, 10
    start = threading.Barrier(threads, timeout=WAIT_S)
    errors: list[BaseException] = []

    def worker(t: int) -> None:
        try:
            start.wait()
            for b in range(batches):
                bus.publish(
                    [
                        (reading_subject(f"area{t}", "power"), b"{}", f"t{t}:{b * size + i}")
                        for i in range(size)
                    ]
                )
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    try:
        got = await take(sub, threads * batches * size)
    finally:
        for w in workers:
            w.join(WAIT_S)
    assert errors == []
    counts = Counter(m.msg_id for m in got)
    assert len(counts) == threads * batches * size
    assert max(counts.values()) == 1
    await assert_quiet(sub, 0.1)


async def test_closing_a_subscription_ends_its_iteration(bus: Bus) -> None:
    sub = await bus.subscribe("stadswacht.readings.>")
    await sub.close()
    bus.publish(items(1))
    assert [m async for m in sub] == []


async def test_closing_the_bus_ends_subscriptions_and_refuses_publish(bus: Bus) -> None:
    await asyncio.to_thread(bus.ping)  # reachable while open
    async with await bus.subscribe("stadswacht.readings.>", durable="infra") as sub:
        bus.publish(items(1))
        await take(sub, 1)
        await bus.close()
        async with asyncio.timeout(WAIT_S):
            assert [m async for m in sub] == []
    with pytest.raises(BusError, match="closed"):
        bus.publish(items(1))
    with pytest.raises(BusError, match="closed"):
        await bus.subscribe("stadswacht.>")
    with pytest.raises(BusError, match="closed"):
        bus.ping()
    await bus.close()  # closing twice is harmless


# -- only a bus that keeps messages (NATS JetStream) -----------------------------------------


async def test_durable_consumer_resumes_where_it_left_off(persistent_buses: Buses) -> None:
    first = persistent_buses.open()
    sub = await first.subscribe("stadswacht.readings.>", durable="gunshot")
    first.publish(items(1, prefix="seen"))
    await take(sub, 1)
    await first.close()  # the detector process stops

    persistent_buses.open().publish(items(3, prefix="missed"))  # ingest goes on meanwhile

    restarted = persistent_buses.open()
    sub = await restarted.subscribe("stadswacht.readings.>", durable="gunshot")
    assert [m.msg_id for m in await take(sub, 3)] == ["missed:0", "missed:1", "missed:2"]
    await assert_quiet(sub)


async def test_republished_msg_id_arrives_once(persistent_buses: Buses) -> None:
    bus = persistent_buses.open()
    sub = await bus.subscribe("stadswacht.readings.>")
    bus.publish([("stadswacht.readings.iz.power", b"first", "d1:7")])
    bus.publish([("stadswacht.readings.iz.power", b"again", "d1:7")])  # a retried batch
    bus.publish(
        [
            ("stadswacht.readings.iz.power", b"x", "d1:8"),
            ("stadswacht.readings.iz.power", b"y", "d1:8"),
        ]
    )
    got = await take(sub, 2)
    assert [(m.msg_id, m.data) for m in got] == [("d1:7", b"first"), ("d1:8", b"x")]
    await assert_quiet(sub)

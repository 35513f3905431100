"""Back-off: each retry waits longer, up to the cap, and a random share of that."""

from __future__ import annotations

import random
from collections.abc import Sequence

import pytest

from stadswacht.client import Answer, Backoff, DeviceClient, RetryLater
from stadswacht.client.base import Item
from stadswacht.errors import TransportError

KEY = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"


class Down:
    """A platform that never answers (or asks for a delay)."""

    def __init__(self, retry_after: float | None = None) -> None:
        self.retry_after = retry_after
        self.calls = 0

    def send(self, items: Sequence[Item]) -> Answer:
        self.calls += 1
        if self.retry_after is not None:
            raise RetryLater("503 store unavailable", self.retry_after)
        raise TransportError("connection refused")

    def close(self) -> None:
        pass


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def delays(client: DeviceClient, clock: Clock, n: int) -> list[float]:
    """The waits the client schedules over ``n`` failed attempts, jumping the clock each time."""
    out = []
    for _ in range(n):
        clock.now = max(clock.now, client.retry_at)
        with pytest.raises(TransportError, match="kept in memory"):
            client.poll()  # due now: it tries, fails, schedules (and, with no file, says so)
        out.append(client.retry_at - clock.now)
        assert client.poll() is None  # not due again before the back-off has passed
    return out


def test_the_ceiling_doubles_up_to_the_cap() -> None:
    b = Backoff(base=0.5, cap=10.0)
    assert [b.ceiling(n) for n in range(7)] == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    assert b.ceiling(10_000) == 10.0
    with pytest.raises(ValueError, match="base <= cap"):
        Backoff(base=2.0, cap=1.0)


def test_the_client_waits_longer_after_each_failure_up_to_the_cap() -> None:
    clock = Clock()
    client = DeviceClient(
        "iz-wx-01",
        KEY,
        Down(),
        batch_size=1,
        backoff=Backoff(base=1.0, cap=16.0, random=lambda: 0.75),
        monotonic=clock,
    )
    client.queue("heartbeat", {})
    assert delays(client, clock, 7) == [0.75, 1.5, 3.0, 6.0, 12.0, 12.0, 12.0]


def test_each_wait_is_a_random_share_of_its_ceiling() -> None:
    draws: list[float] = []
    rng = random.Random(7)

    def source() -> float:
        draws.append(rng.random())
        return draws[-1]

    clock = Clock()
    client = DeviceClient(
        "iz-wx-01",
        KEY,
        Down(),
        batch_size=1,
        backoff=Backoff(base=1.0, cap=16.0, random=source),
        monotonic=clock,
    )
    client.queue("heartbeat", {})
    got = delays(client, clock, 8)
    ceilings = [1, 2, 4, 8, 16, 16, 16, 16]
    assert got == pytest.approx([d * c for d, c in zip(draws, ceilings, strict=True)])
    assert all(0 <= g < c for g, c in zip(got, ceilings, strict=True))
    assert len(set(got)) == len(got)  # jittered: no two waits alike
    assert client.failures == 8 and client.pending == 1


def test_the_same_random_source_gives_the_same_waits_and_another_does_not() -> None:
    def run(seed: int) -> list[float]:
        clock = Clock()
        client = DeviceClient(
            "iz-wx-01",
            KEY,
            Down(),
            backoff=Backoff(base=1.0, cap=60.0, random=random.Random(seed).random),
            monotonic=clock,
            batch_size=1,
        )
        client.queue("heartbeat", {})
        return delays(client, clock, 6)

    assert run(1) == run(1)
    assert run(1) != run(2)


def test_retry_after_is_a_floor_and_success_resets_the_count() -> None:
    clock = Clock()
    down = Down(retry_after=30.0)
    client = DeviceClient(
        "iz-wx-01",
        KEY,
        down,
        batch_size=1,
        backoff=Backoff(base=1.0, cap=4.0, random=lambda: 0.99),
        monotonic=clock,
    )
    client.queue("heartbeat", {})
    assert delays(client, clock, 2) == [30.0, 30.0]

    class Up(Down):
        def send(self, items: Sequence[Item]) -> Answer:
            return Answer(accepted=len(items))

    client.transport = Up()
    clock.now = client.retry_at
    report = client.poll()
    assert report is not None and report.accepted == 1
    assert client.failures == 0 and client.last_error is None


def test_flush_sleeps_the_back_off_and_gives_up_at_its_timeout() -> None:
    clock = Clock()
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        clock.now += s

    down = Down()
    client = DeviceClient(
        "iz-wx-01",
        KEY,
        down,
        backoff=Backoff(base=1.0, cap=8.0, random=lambda: 0.5),
        monotonic=clock,
        sleep=sleep,
        batch_size=10,
    )
    client.queue("heartbeat", {})
    with pytest.raises(TransportError, match="within 20 s"):
        client.flush(timeout=20)
    assert slept == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0, 4.0]  # 19.5 s; 4 s more would pass 20
    assert down.calls == 8
    assert client.pending == 1

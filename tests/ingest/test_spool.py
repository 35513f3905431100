"""Degraded ingest: with the store down, checked readings go to the spool and nothing is lost;
with the bus down, stored readings wait in the outbox and are published when it is back."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, cast

import pytest

from stadswacht.bus.base import Bus, Subscription
from stadswacht.config import Settings
from stadswacht.errors import BusError, StorageError
from stadswacht.ingest.registry import DeviceRegistry
from stadswacht.ingest.service import Ingestor
from stadswacht.ingest.spool import FILE, Spool, SpoolFull, spool_dir
from stadswacht.model import StoredReading
from stadswacht.model.signing import generate_key, sign_reading
from stadswacht.pipeline import Platform
from stadswacht.store.base import ReadingQuery, Store
from tests.conftest import FakeDevice


class FaultyStore:
    """A real store whose every call raises the store's own :class:`StorageError` while
    ``down`` (as SQLite or PostgreSQL do when their disk or server is gone)."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.down = False
        self.commits = 0

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            if self.down:
                raise StorageError(f"injected fault: the store is down ({name})")
            if name == "commit":
                self.commits += 1
            return attr(*args, **kwargs)

        return call


class FlakyBus(Bus):
    """Records what is published; raises :class:`BusError` while ``down``."""

    def __init__(self) -> None:
        self.down = False
        self.calls = 0
        self.published: list[tuple[str, bytes, str]] = []

    def publish(self, items: Sequence[tuple[str, bytes, str]]) -> None:
        self.calls += 1
        if self.down:
            raise BusError("injected fault: the bus is down")
        self.published.extend(items)

    async def subscribe(
        self, subject: str, *, durable: str | None = None, ack_wait: float = 30.0
    ) -> Subscription:
        raise NotImplementedError

    def ping(self) -> None:
        if self.down:
            raise BusError("injected fault: the bus is down")

    async def close(self) -> None:
        return None


def wait_for(cond: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


@pytest.fixture
def fast(settings: Settings) -> Settings:
    return settings.model_copy(update={"spool_drain_interval_s": 0.02})


@pytest.fixture
def faulty(platform: Platform) -> FaultyStore:
    return FaultyStore(platform.store)


@pytest.fixture
def ingestor(fast: Settings, faulty: FaultyStore) -> Iterator[Ingestor]:
    store = cast(Store, faulty)
    ing = Ingestor(store, FlakyBus(), fast, DeviceRegistry(store))
    yield ing
    ing.close()


def stored(store: Store) -> list[StoredReading]:
    return store.query_readings(ReadingQuery(limit=100_000))


def test_one_bad_reading_with_the_store_down_still_buffers_the_999_good(
    platform: Platform,
    faulty: FaultyStore,
    ingestor: Ingestor,
    make_device: Callable[..., FakeDevice],
) -> None:
    dev = make_device()
    ingestor.ingest([dev.reading()])  # seen once while the store answered
    faulty.down = True
    batch: list[Any] = [dev.reading() for _ in range(1000)]
    batch[500] = sign_reading(generate_key(), {k: v for k, v in batch[500].items() if k != "sig"})

    result = ingestor.ingest(batch)

    assert result.accepted == 0
    assert [(r.index, r.reason) for r in result.rejected] == [(500, "bad_signature")]
    assert result.buffered == [i for i in range(1000) if i != 500]
    assert result.as_dict()["buffered"] == result.buffered
    assert ingestor.spool is not None and ingestor.spool.readings == 999
    health = ingestor.health()
    assert (health.store, health.buffered_readings, health.spool) == ("down", 999, "ok")
    assert platform.store.count_readings() == 1

    faulty.down = False
    wait_for(lambda: ingestor.health().buffered_readings == 0)
    assert platform.store.count_readings() == 1000
    dead = platform.store.list_dead_letters()
    assert [(d.reason, d.seq) for d in dead] == [("bad_signature", batch[500]["seq"])]
    wait_for(lambda: not ingestor.health().degraded)


def test_store_fails_mid_run_then_recovers_every_reading_stored_once_in_order(
    platform: Platform,
    faulty: FaultyStore,
    ingestor: Ingestor,
    make_device: Callable[..., FakeDevice],
) -> None:
    devices = [make_device(f"iz-wx-{i}") for i in range(4)]
    answered: dict[tuple[str, int], str] = {}
    for step in range(60):
        faulty.down = 15 <= step < 40
        batch = [d.reading() for d in devices for _ in range(5)]
        result = ingestor.ingest(batch)
        assert not result.rejected
        for i in result.buffered:
            answered[(batch[i]["device"], batch[i]["seq"])] = "buffered"
        for r in result.stored:
            answered[(r.device, r.seq)] = "stored"
        if step == 20:  # a redelivery (MQTT, or a client that did not hear the answer)
            again = ingestor.ingest(batch)
            assert sorted(again.duplicates) == list(range(len(batch)))
            assert again.buffered == []
    assert len(answered) == 60 * 20
    assert "buffered" in answered.values() and "stored" in answered.values()

    wait_for(lambda: ingestor.health().buffered_readings == 0)
    rows = stored(platform.store)
    keys = [(r.device, r.seq) for r in rows]
    assert len(keys) == len(set(keys)) == 60 * 20  # every reading, none twice
    for d in devices:  # in order per device: ids grow with sequence numbers
        seqs = [r.seq for r in rows if r.device == d.id]
        assert seqs == sorted(seqs) == list(range(1, 301))
    assert platform.store.list_dead_letters() == []


def test_restart_with_a_non_empty_spool_drains_it(
    platform: Platform,
    fast: Settings,
    faulty: FaultyStore,
    make_device: Callable[..., FakeDevice],
) -> None:
    dev = make_device()
    store = cast(Store, faulty)
    first = Ingestor(store, None, fast, DeviceRegistry(store))
    faulty.down = True
    sent = [dev.reading() for _ in range(50)]
    assert len(first.ingest(sent).buffered) == 50
    first.close()  # the process stops with the store still down
    path = spool_dir(fast) / FILE
    with path.open("ab") as f:
        f.write(b'0badc0de {"v": 1, "readi')  # and a crash cut the last write short

    faulty.down = False
    second = Ingestor(platform.store, None, fast, platform.registry)
    try:
        wait_for(lambda: second.health().buffered_readings == 0)
        assert [r.seq for r in stored(platform.store)] == [r["seq"] for r in sent]
        assert path.stat().st_size == 0
    finally:
        second.close()


def test_drain_rechecks_against_the_store_duplicates_and_replays(
    platform: Platform,
    fast: Settings,
    faulty: FaultyStore,
    make_device: Callable[..., FakeDevice],
) -> None:
    dev = make_device()
    r1, r2 = dev.reading(), dev.reading()
    assert platform.ingestor.ingest([r1]).accepted == 1  # stored before the outage
    store = cast(Store, faulty)
    bus = FlakyBus()
    ing = Ingestor(store, bus, fast, DeviceRegistry(store))
    try:
        # The store cannot say r1 is stored: the redelivered copy waits, to be re-checked.
        faulty.down = True
        assert ing.ingest([r1]).buffered == [0]
        faulty.down = False
        wait_for(lambda: ing.health().buffered_readings == 0)
        assert platform.store.count_readings() == 1  # a duplicate, not stored twice
        assert platform.store.list_dead_letters() == []

        faulty.down = True
        forged = dev.reading(seq=r1["seq"], values={"temperature_c": -40.0})  # a replay
        assert ing.ingest([forged, r2]).buffered == [0, 1]
        faulty.down = False
        wait_for(lambda: ing.health().buffered_readings == 0)
    finally:
        ing.close()
    assert [r.seq for r in stored(platform.store)] == [r1["seq"], r2["seq"]]
    dead = platform.store.list_dead_letters()
    assert [(d.reason, d.seq) for d in dead] == [("replay", r1["seq"])]
    subjects = [s for s, _, _ in bus.published]
    assert "stadswacht.rejections.replay" in subjects
    assert sum(s.startswith("stadswacht.readings.") for s in subjects) == 1  # r2, once


def test_spool_full_refuses_the_whole_batch_and_keeps_nothing_of_it(
    platform: Platform, fast: Settings, faulty: FaultyStore, make_device: Callable[..., FakeDevice]
) -> None:
    dev = make_device()
    store = cast(Store, faulty)
    small = fast.model_copy(update={"spool_max_bytes": 20_000})
    ing = Ingestor(store, None, small, DeviceRegistry(store))
    try:
        ing.ingest([dev.reading()])
        faulty.down = True
        kept = 0
        with pytest.raises(SpoolFull, match="spool is full"):
            while True:
                kept += len(ing.ingest([dev.reading() for _ in range(10)]).buffered)
        assert ing.spool is not None and ing.spool.readings == kept > 0
        assert ing.health().spool == "full"
        faulty.down = False
        wait_for(lambda: ing.health().buffered_readings == 0)
        assert ing.health().spool == "ok"
        assert platform.store.count_readings() == kept + 1
    finally:
        ing.close()


def test_a_device_never_seen_while_the_store_is_down_is_unavailable_not_lost(
    platform: Platform,
    ingestor: Ingestor,
    faulty: FaultyStore,
    make_device: Callable[..., FakeDevice],
) -> None:
    faulty.down = True
    late = make_device("registered-after-start")  # registered by another process, say
    result = ingestor.ingest([late.reading()])
    assert [r.reason for r in result.rejected] == ["unavailable"]
    assert "send the reading again later" in result.rejected[0].message


def test_bus_down_stored_readings_wait_in_the_outbox_and_are_republished(
    platform: Platform, fast: Settings, make_device: Callable[..., FakeDevice]
) -> None:
    dev = make_device()
    bus = FlakyBus()
    ing = Ingestor(platform.store, bus, fast, platform.registry)
    try:
        bus.down = True
        first = [dev.reading() for _ in range(30)]
        assert ing.ingest(first).accepted == 30  # stored: the device is answered
        assert ing.health().bus == "down" and ing.health().unpublished == 30
        second = [dev.reading() for _ in range(5)]
        ing.ingest(second)  # queued behind, so consumers see readings in order
        bus.down = False
        wait_for(lambda: ing.health().unpublished == 0 and ing.health().bus == "ok")
    finally:
        ing.close()
    ids = [m for s, _, m in bus.published if s.startswith("stadswacht.readings.")]
    assert ids == [f"{dev.id}:{r['seq']}" for r in first + second]


def test_spool_file_survives_reopen_and_cuts_a_torn_tail(tmp_path: Path) -> None:
    r = StoredReading(
        device="d1", seq=1, time="2026-01-01T00:00:00.000000Z", time_us=1, kind="heartbeat",
        values={}, agency="a", area=None, sig="c2ln", received_us=2,
    )  # fmt: skip
    spool = Spool(tmp_path, 1 << 20)
    spool.append([r], [], "mqtt", "pseudo")
    spool.close()
    size = (tmp_path / FILE).stat().st_size
    with (tmp_path / FILE).open("ab") as f:
        f.write(b'12345678 {"v":')
    again = Spool(tmp_path, 1 << 20)
    try:
        assert again.readings == 1 and (tmp_path / FILE).stat().st_size == size
        (rec,) = again.peek(10)
        assert (rec.transport, rec.source, rec.readings) == ("mqtt", "pseudo", [r])
        other = Spool(tmp_path, 1 << 20)  # another process given the same directory
        other.append([r], [], "http", None)
        assert other.directory == tmp_path.with_name(tmp_path.name + ".1")
        other.close()
    finally:
        again.close()
    third = Spool(tmp_path, 1 << 20)  # starts, and drains what is left in the first one
    try:
        assert third.directory == tmp_path and third.readings == 1
    finally:
        third.close()


def test_a_spool_that_never_runs_dry_is_compacted(tmp_path: Path) -> None:
    def reading(seq: int) -> StoredReading:
        return StoredReading(
            device="d1", seq=seq, time="2026-01-01T00:00:00.000000Z", time_us=1,
            kind="heartbeat", values={"pad": "x" * 10_000}, agency="a", area=None, sig="c2ln",
            received_us=2,
        )  # fmt: skip

    spool = Spool(tmp_path, 2 << 20)
    try:
        for seq in range(1, 121):  # about 1.2 MB, one record each
            spool.append([reading(seq)], [], "http", None)
        records = spool.peek(119)
        assert len(records) == 119
        spool.consume(records)  # past 1 MiB drained: the tail is rewritten as a new file
        assert (tmp_path / FILE).stat().st_size == spool.pending_bytes < 20_000
        spool.append([reading(121)], [], "http", None)
        assert [r.seq for rec in spool.peek(10) for r in rec.readings] == [120, 121]
    finally:
        spool.close()
    again = Spool(tmp_path, 2 << 20)
    try:
        assert [r.seq for rec in again.peek(10) for r in rec.readings] == [120, 121]
    finally:
        again.close()

"""The client's queue: the same contract in memory and in a SQLite file."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from stadswacht.client import Buffer, MemoryBuffer, SqliteBuffer
from stadswacht.errors import StorageError

KINDS = ["memory", "sqlite"]


@pytest.fixture(params=KINDS)
def make(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[..., Buffer]]:
    opened: list[Buffer] = []

    def factory(clock: Callable[[], float] = lambda: 5.0) -> Buffer:
        b: Buffer = (
            MemoryBuffer(clock=clock)
            if request.param == "memory"
            else SqliteBuffer(tmp_path / f"b{len(opened)}.db", clock=clock)
        )
        opened.append(b)
        return b

    yield factory
    for b in opened:
        b.close()


def test_entries_come_out_in_the_order_they_went_in(make: Callable[..., Buffer]) -> None:
    b = make()
    b.append([{"n": 1}, {"n": 2}])
    b.append([{"n": 3}])
    assert [e.item["n"] for e in b.head(10)] == [1, 2, 3]
    assert [e.item["n"] for e in b.head(2)] == [1, 2]
    b.remove([b.head(1)[0].id])
    assert [e.item["n"] for e in b.head(10)] == [2, 3] and len(b) == 2


def test_counters_start_from_the_clock_and_count_up_per_device(make: Callable[..., Buffer]) -> None:
    b = make(clock=lambda: 2.5)
    assert [b.next_seq("a") for _ in range(3)] == [2_500_000, 2_500_001, 2_500_002]
    assert b.next_seq("b") == 2_500_000


def test_a_sealed_envelope_is_kept_until_none_of_its_entries_is_left(
    make: Callable[..., Buffer],
) -> None:
    b = make()
    b.append([{"n": 1}, {"n": 2}, {"n": 3}])
    one, two, _ = b.head(3)
    env = {"gateway": "gw", "payload": "{}", "sig": "x"}
    batch = b.seal([one.id, two.id], env)
    assert [e.batch for e in b.head(3)] == [batch, batch, None]
    assert b.envelope(batch) == env
    b.unseal([two.id])
    assert [e.batch for e in b.head(3)] == [batch, None, None]
    b.remove([one.id])
    assert [e.item["n"] for e in b.head(3)] == [2, 3]
    with pytest.raises((KeyError, StorageError)):
        b.envelope(batch)


def test_a_file_keeps_entries_envelopes_and_counters_across_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "b.db"
    b = SqliteBuffer(path, clock=lambda: 1.0)
    b.append([{"n": 1}, {"n": 2}])
    batch = b.seal([b.head(1)[0].id], {"sig": "s"})
    seqs = [b.next_seq("d") for _ in range(3)]
    b.close()
    b = SqliteBuffer(path, clock=lambda: 0.0)  # a clock reset to 1970 changes nothing
    assert [(e.item, e.batch) for e in b.head(5)] == [({"n": 1}, batch), ({"n": 2}, None)]
    assert b.envelope(batch) == {"sig": "s"}
    assert b.next_seq("d") == seqs[-1] + 1
    b.close()


def test_a_memory_buffer_drops_the_oldest_when_full() -> None:
    b = MemoryBuffer(max_items=3)
    b.append([{"n": i} for i in range(5)])
    assert [e.item["n"] for e in b.head(10)] == [2, 3, 4] and b.dropped == 2


def test_a_file_that_is_not_a_buffer_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StorageError, match=r"junk\.db"):
        SqliteBuffer(path)

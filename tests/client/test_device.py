"""The device client against the real API: signed, batched, buffered offline, sent once."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from stadswacht.client import Answer, DeviceClient, HttpTransport, Rejected, Transport
from stadswacht.client.base import Item
from stadswacht.errors import InvalidReading, TransportError
from stadswacht.model.signing import load_private_key, load_public_key, verify_reading
from tests.client.conftest import FAST, Api, api_settings


class Counting:
    """Wraps a transport and keeps every batch it was asked to send."""

    def __init__(self, inner: Transport) -> None:
        self.inner = inner
        self.batches: list[list[Item]] = []

    def send(self, items: Sequence[Item]) -> Answer:
        self.batches.append(list(items))
        return self.inner.send(items)

    def close(self) -> None:
        self.inner.close()


def test_signed_readings_are_accepted_and_stored_as_made(api: Api) -> None:
    key = api.register("iz-wx-01")
    with DeviceClient("iz-wx-01", key, HttpTransport(api.url), batch_size=3) as client:
        made = [client.reading("temperature", {"temperature_c": 8.0 + i}) for i in range(3)]
        assert client.pending == 0  # the third reading filled the batch and sent it
    assert api.platform is not None
    public = load_public_key(api.platform.registry.get("iz-wx-01").public_key)
    assert all(verify_reading(public, r) for r in made)
    stored = api.stored("iz-wx-01")
    assert [(s.seq, s.time, s.values) for s in stored] == [
        (r["seq"], r["time"], r["values"]) for r in made
    ]
    assert [r["seq"] for r in made] == sorted({r["seq"] for r in made})


def test_in_the_background_readings_go_out_after_batch_interval(api: Api) -> None:
    key = api.register("iz-wx-01")
    transport = HttpTransport(api.url)
    with DeviceClient(
        "iz-wx-01", key, transport, batch_size=100, batch_interval=0.1, background=True
    ) as client:
        made = client.reading("temperature", {"temperature_c": 8.0})
        assert client.pending == 1  # not a full batch: it waits for the interval
        deadline = time.monotonic() + 5
        while client.pending and time.monotonic() < deadline:
            time.sleep(0.02)
        assert client.pending == 0
    assert [s.seq for s in api.stored("iz-wx-01")] == [made["seq"]]


def test_invalid_values_are_refused_before_anything_is_queued(api: Api) -> None:
    key = api.register("iz-wx-01")
    with DeviceClient("iz-wx-01", key, HttpTransport(api.url)) as client:
        with pytest.raises(InvalidReading, match="temperature_c") as err:
            client.reading("temperature", {"temperature_c": 99.0})
        assert err.value.reason == "invalid_values"
        with pytest.raises(InvalidReading, match="kind 'smell'"):
            client.reading("smell", {})
        assert client.pending == 0


def test_a_rejected_reading_is_reported_once_and_never_sent_again(api: Api) -> None:
    key = api.register("iz-wx-01")
    seen: list[Rejected] = []
    transport = Counting(HttpTransport(api.url))
    with DeviceClient(
        "iz-wx-01", key, transport, batch_size=100, on_rejected=seen.append
    ) as client:
        client.reading("temperature", {"temperature_c": 7.0})
        stale = client.reading(
            "temperature", {"temperature_c": 7.5}, time=datetime.now(UTC) - timedelta(days=8)
        )
        client.reading("temperature", {"temperature_c": 8.0})
        report = client.flush()
        assert (report.accepted, report.duplicates, report.pending) == (2, 0, 0)
        assert [(r.reading, r.reason) for r in report.rejected] == [(stale, "too_old")]
        assert "old" in report.rejected[0].message
        assert seen == report.rejected
        again = client.flush()
        assert (again.accepted, again.rejected) == (0, [])
    assert len(transport.batches) == 1
    assert len(api.stored("iz-wx-01")) == 2


def test_rate_limited_readings_are_kept_and_sent_again(tmp_path: Path) -> None:
    api = Api(api_settings(tmp_path, device_rate_per_s=20.0, device_rate_burst=3.0))
    api.start()
    try:
        key = api.register("iz-wx-01")
        with DeviceClient(
            "iz-wx-01", key, HttpTransport(api.url), batch_size=100, backoff=FAST
        ) as client:
            made = [client.reading("temperature", {"temperature_c": float(i)}) for i in range(8)]
            report = client.flush(timeout=10)
            assert (report.accepted, report.rejected, report.pending) == (8, [], 0)
        assert sorted(s.seq for s in api.stored("iz-wx-01")) == [r["seq"] for r in made]
    finally:
        api.stop()


def test_offline_readings_are_buffered_and_sent_later_in_order_once(
    api: Api, tmp_path: Path
) -> None:
    key = api.register("iz-gauge-01")
    api.stop()
    client = DeviceClient(
        "iz-gauge-01",
        key,
        HttpTransport(api.url, timeout=2),
        tmp_path / "buffer.db",
        batch_size=1,
        backoff=FAST,
    )
    t0 = datetime.now(UTC) - timedelta(minutes=10)
    made = [
        client.reading("water_level", {"level_cm_nap": 200.0 + i}, time=t0 + timedelta(minutes=i))
        for i in range(5)
    ]
    assert client.pending == 5
    assert client.failures >= 1
    assert isinstance(client.last_error, TransportError)
    client.close(flush_timeout=0.2)  # a reboot while the platform is away
    api.start()
    with DeviceClient(
        "iz-gauge-01", key, HttpTransport(api.url), tmp_path / "buffer.db", backoff=FAST
    ) as client:
        assert client.pending == 5
        report = client.flush()
        assert (report.accepted, report.duplicates, report.rejected) == (5, 0, [])
    stored = api.stored("iz-gauge-01")
    assert [(s.seq, s.time, s.values, s.sig) for s in stored] == [
        (r["seq"], r["time"], r["values"], r["sig"]) for r in made
    ]


def test_without_a_buffer_file_an_unreachable_platform_raises_and_keeps_the_reading(
    api: Api,
) -> None:
    key = api.register("iz-wx-01")
    api.stop()
    client = DeviceClient("iz-wx-01", key, HttpTransport(api.url), batch_size=1, backoff=FAST)
    with pytest.raises(TransportError, match="kept in memory"):
        client.reading("temperature", {"temperature_c": 5.0})
    assert client.pending == 1
    api.start()
    assert client.flush().accepted == 1
    client.close()
    assert len(api.stored("iz-wx-01")) == 1


def test_the_sequence_survives_a_restart(api: Api, tmp_path: Path) -> None:
    key = api.register("iz-wx-01")
    path = tmp_path / "buffer.db"
    seqs = []
    for _run in range(3):
        with DeviceClient("iz-wx-01", key, HttpTransport(api.url), path, batch_size=1) as c:
            seqs += [c.reading("heartbeat", {"battery_pct": 80})["seq"] for _ in range(2)]
    assert seqs == list(range(seqs[0], seqs[0] + 6))  # a clean restart leaves no gap
    assert [s.seq for s in api.stored("iz-wx-01")] == seqs


def test_the_sequence_never_repeats_after_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "buffer.db"
    key = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
    crash = textwrap.dedent(
        f"""
        import os
        from stadswacht.client import DeviceClient
        from stadswacht.errors import TransportError

        class Nowhere:
            def send(self, items): raise TransportError("offline")
            def close(self): pass

        c = DeviceClient("iz-wx-01", {key!r}, Nowhere(), {str(path)!r}, batch_size=99)
        print(max(c.reading("heartbeat", {{}})["seq"] for _ in range(3)), flush=True)
        os._exit(0)  # no close: as if the power went
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", crash], capture_output=True, text=True, check=True, timeout=30
    )
    last = int(out.stdout)

    class Nowhere:
        def send(self, items: Sequence[Item]) -> Answer:
            raise TransportError("offline")

        def close(self) -> None:
            pass

    client = DeviceClient("iz-wx-01", load_private_key(key), Nowhere(), path)
    assert client.pending == 3  # what was queued before the crash is still there
    assert client.reading("heartbeat", {})["seq"] > last
    client.close(flush_timeout=0)


def test_a_buffer_file_serves_one_process_at_a_time(tmp_path: Path) -> None:
    from stadswacht.errors import StorageError

    key = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
    with (
        DeviceClient("a", key, HttpTransport("http://127.0.0.1:9"), tmp_path / "b.db"),
        pytest.raises(StorageError, match="another process"),
    ):
        DeviceClient("a", key, HttpTransport("http://127.0.0.1:9"), tmp_path / "b.db")

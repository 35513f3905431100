"""Degraded-ingest benchmark: readings per second into the store (normal), into the spool
(store down), and drained from the spool into the store once it is back.

Run from the repository root::

    .venv/bin/python bench/ingest_degraded.py            # 30,000 readings per phase
    .venv/bin/python bench/ingest_degraded.py --quick    # 3,000: a smoke run

Progress goes to stderr; stdout gets ONE line of JSON at the end.

What is measured, in one process, on the embedded store (one SQLite file in WAL mode in a
temporary directory) and the in-process bus, through :meth:`Ingestor.ingest` in batches of
``--batch`` readings from ``--devices`` devices (HTTP transport, rate limit off); readings are
signed before the timed part:

- ``normal_readings_per_s``: the store answers; each batch is checked, committed, published.
- ``spool_readings_per_s``: every store call raises ``StorageError`` (a wrapper injects it);
  each batch is checked against what the process knows, appended to the spool and fsync'd.
- ``drain_readings_per_s``: the store answers again; wall time from then until the spool is
  empty (re-checked against the store, committed, published, in order), driven by
  :meth:`Ingestor.drain` (the background drainer may take part; it is the same work).
- ``*_cpu_per_reading_us``: process CPU time (all threads) per reading in each phase.
- ``spool_bytes_per_reading``: the spool file's size after the outage / readings spooled.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from stadswacht.bus.inproc import InprocBus  # noqa: E402
from stadswacht.config import Settings  # noqa: E402
from stadswacht.errors import StorageError  # noqa: E402
from stadswacht.ingest.registry import DeviceRegistry  # noqa: E402
from stadswacht.ingest.service import Ingestor  # noqa: E402
from stadswacht.model import DeviceKind, Position, format_time  # noqa: E402
from stadswacht.model.signing import load_private_key, sign_reading  # noqa: E402
from stadswacht.store import open_store  # noqa: E402
from stadswacht.store.base import Store  # noqa: E402


class FaultyStore:
    """A real store whose calls raise ``StorageError`` while ``down``."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.down = False

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            if self.down:
                raise StorageError(f"injected fault: the store is down ({name})")
            return attr(*args, **kwargs)

        return call


def progress(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--readings", type=int, default=30_000, help="readings per phase")
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--devices", type=int, default=50)
    ap.add_argument("--quick", action="store_true", help="3,000 readings per phase")
    args = ap.parse_args()
    n = 3_000 if args.quick else args.readings

    with tempfile.TemporaryDirectory(prefix="stadswacht-bench-") as tmp:
        settings = Settings(
            env="test",
            database_url=f"sqlite:///{tmp}/bench.db",
            device_rate_per_s=1e9,
            device_rate_burst=1e9,
            spool_max_bytes=1 << 30,
            spool_drain_interval_s=0.05,
        )
        inner = open_store(settings.database_url)
        faulty = FaultyStore(inner)
        store = cast(Store, faulty)
        registry = DeviceRegistry(store)
        keys = []
        for i in range(args.devices):
            reg = registry.register(
                f"bench-{i:03d}", kind=DeviceKind.WEATHER, position=Position(lat=52.09, lon=4.28),
                agency="municipality", area="international-zone",
            )  # fmt: skip
            assert reg.private_key is not None
            keys.append(load_private_key(reg.private_key))
        bus = InprocBus()
        ingestor = Ingestor(store, bus, settings, registry)
        seqs = [0] * args.devices

        def batches(count: int) -> list[list[dict[str, Any]]]:
            now = format_time(datetime.now(UTC))
            out: list[dict[str, Any]] = []
            for k in range(count):
                d = k % args.devices
                seqs[d] += 1
                values = {"temperature_c": 10 + k % 20}
                body = {"device": f"bench-{d:03d}", "seq": seqs[d], "time": now,
                        "kind": "temperature", "values": values}  # fmt: skip
                out.append(sign_reading(keys[d], body))
            return [out[i : i + args.batch] for i in range(0, len(out), args.batch)]

        def timed(label: str, work: list[list[dict[str, Any]]]) -> tuple[float, float]:
            wall, cpu = time.perf_counter(), time.process_time()
            got = 0
            for b in work:
                r = ingestor.ingest(b)
                got += r.accepted + len(r.buffered)
                assert not r.rejected, r.rejected[:3]
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            assert got == n, (label, got)
            progress(f"{label}: {n} readings in {wall:.2f} s ({n / wall:,.0f}/s)")
            return wall, cpu

        progress(f"signing {2 * n} readings from {args.devices} devices ...")
        normal_work, spool_work = batches(n), batches(n)

        normal_wall, normal_cpu = timed("normal (store answers)", normal_work)

        faulty.down = True
        spool_wall, spool_cpu = timed("spool (store down)", spool_work)
        assert ingestor.spool is not None
        spool_bytes = ingestor.spool.path.stat().st_size
        assert ingestor.spool.readings == n

        faulty.down = False
        wall, cpu = time.perf_counter(), time.process_time()
        while ingestor.drain():
            pass
        while ingestor.health().buffered_readings:  # the drainer finishing its last chunk
            time.sleep(0.001)
        drain_wall, drain_cpu = time.perf_counter() - wall, time.process_time() - cpu
        progress(f"drain: {n} readings in {drain_wall:.2f} s ({n / drain_wall:,.0f}/s)")
        assert inner.count_readings() == 2 * n
        ingestor.close()
        inner.close()

    print(
        json.dumps(
            {
                "readings_per_phase": n,
                "batch": args.batch,
                "devices": args.devices,
                "normal_readings_per_s": round(n / normal_wall),
                "spool_readings_per_s": round(n / spool_wall),
                "drain_readings_per_s": round(n / drain_wall),
                "normal_cpu_per_reading_us": round(normal_cpu / n * 1e6, 1),
                "spool_cpu_per_reading_us": round(spool_cpu / n * 1e6, 1),
                "drain_cpu_per_reading_us": round(drain_cpu / n * 1e6, 1),
                "spool_bytes_per_reading": round(spool_bytes / n),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

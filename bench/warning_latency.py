"""Warning latency: from the reading that crosses a level to its CAP alert being served, with
1,000 gauges reporting every minute.

Run from the repository root::

    .venv/bin/python bench/warning_latency.py              # 1,000 stations, 3 minutes
    .venv/bin/python bench/warning_latency.py --quick      # 100 stations, 1 minute

The platform runs as ``stadswacht run`` in its own process (SQLite, in-process bus, detectors
and alert service on), on a free port of 127.0.0.1, with a thresholds file of one water-level
threshold per station (Rijkswaterstaat's Hoek van Holland levels). This process plays the
stations: each sends one signed reading a minute over HTTP, spread evenly over the minute (open
loop against the clock: 1,000 stations = 16.7 readings/s). Each minute ``--crossings`` stations
jump above the yellow level (and fall back the minute after, which is an all clear).

Latency of a crossing = the moment its alert is served at ``/cap/alerts/{id}.xml`` (polled every
20 ms) minus the moment the crossing reading's POST began. At the end the Atom feed is read once
to count how many of the alerts it lists. Progress goes to stderr; stdout gets ONE line of JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # for tests.support, when run as bench/warning_latency.py
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import yaml  # noqa: E402
from lxml import etree  # noqa: E402

from stadswacht.config import Settings  # noqa: E402
from stadswacht.model import DeviceKind, Position, format_time  # noqa: E402
from stadswacht.model.signing import load_private_key, sign_reading  # noqa: E402
from stadswacht.pipeline import Platform  # noqa: E402
from tests.support.server import free_port  # noqa: E402


def log(*args: Any) -> None:
    print(*args, file=sys.stderr, flush=True)


def prepare(db: str, n: int, workdir: Path) -> tuple[list[str], list[Any], Path]:
    """Register ``n`` water gauges in the store and write their thresholds file."""
    settings = Settings(database_url=db, env="development", bus_url="inproc://")
    platform = Platform.from_settings(settings)
    ids, keys = [], []
    try:
        for i in range(n):
            device = f"wg-{i:04d}"
            reg = platform.registry.register(
                device,
                kind=DeviceKind.WATER_GAUGE,
                position=Position(lat=52.0 + i * 1e-4, lon=4.1 + i * 1e-4),
                agency="water-board",
            )
            ids.append(device)
            keys.append(load_private_key(reg.private_key or ""))
    finally:
        asyncio.run(platform.close())
    path = workdir / "thresholds.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "thresholds": [
                    {"id": d, "device": d, "preset": "rws:HOEKVHLD", "update_interval_s": 0}
                    for d in ids
                ]
            }
        )
    )
    return ids, keys, path


def start_server(db: str, thresholds: Path, workdir: Path) -> tuple[str, subprocess.Popen[bytes]]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    script = Path(sys.executable).parent / "stadswacht"
    argv = (
        [str(script), "run"] if script.exists() else [sys.executable, "-m", "stadswacht.cli", "run"]
    )
    env = {
        **os.environ,
        "STADSWACHT_ENV": "development",
        "STADSWACHT_DATABASE_URL": db,
        "STADSWACHT_BUS_URL": "inproc://",
        "STADSWACHT_PORT": str(port),
        "STADSWACHT_THRESHOLDS_FILE": str(thresholds),
        "STADSWACHT_CAP_PUBLIC": "true",
    }
    env.pop("STADSWACHT_MQTT_URL", None)
    out = (workdir / "server.log").open("wb")
    proc = subprocess.Popen(argv, env=env, cwd=workdir, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=1.0, trust_env=False).status_code == 200:
                return url, proc
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            tail = (workdir / "server.log").read_text(errors="replace")[-3000:]
            raise RuntimeError(f"stadswacht run did not come up:\n{tail}")
        time.sleep(0.1)


async def load(
    url: str, ids: list[str], keys: list[Any], minutes: int, crossings: int, seed: int
) -> dict[str, Any]:
    rng = random.Random(seed)
    n = len(ids)
    seq = [0] * n
    high: set[int] = set()
    latencies: list[float] = []
    expected: list[str] = []
    failures = {"post": 0, "rejected": 0, "timeout": 0}
    pending: list[asyncio.Task[None]] = []
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=url, timeout=30.0, limits=limits, trust_env=False) as c:

        async def watch(identifier: str, started: float) -> None:
            deadline = started + 30.0
            while time.monotonic() < deadline:
                r = await c.get(f"/cap/alerts/{identifier}.xml")
                if r.status_code == 200:
                    latencies.append(time.monotonic() - started)
                    return
                await asyncio.sleep(0.02)
            failures["timeout"] += 1

        async def send(i: int, level: float, crossing: bool) -> None:
            seq[i] += 1
            now = time.time()
            body = {
                "device": ids[i], "seq": seq[i], "time": format_time_s(now),
                "kind": "water_level", "values": {"level_cm_nap": level},
            }  # fmt: skip
            reading = sign_reading(keys[i], body)
            started = time.monotonic()
            try:
                r = await c.post("/v1/readings", json={"readings": [reading]})
            except httpx.HTTPError:
                failures["post"] += 1
                return
            if r.status_code != 200 or r.json().get("accepted") != 1:
                failures["rejected"] += 1
                return
            if crossing:
                identifier = f"stadswacht-{ids[i]}-{int(now)}-v1"
                expected.append(identifier)
                await watch(identifier, started)

        t0 = time.monotonic() + 1.0
        for minute in range(minutes):
            fresh = [i for i in range(n) if i not in high]
            crossing_now = set(rng.sample(fresh, min(crossings, len(fresh))))
            falling = set(high)
            high = crossing_now
            for slot in range(n):
                i = slot
                at = t0 + minute * 60.0 + slot * 60.0 / n
                delay = at - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                if i in crossing_now:
                    level, crossing = 230.0 + rng.random() * 20, True
                elif i in falling:
                    level, crossing = 120.0, False
                else:
                    level, crossing = 100.0 + rng.random() * 40, False
                pending.append(asyncio.create_task(send(i, level, crossing)))
            log(f"minute {minute + 1}/{minutes}: {len(latencies)} alerts seen so far")
        await asyncio.gather(*pending)
        feed = await c.get("/cap/feed.atom", params={"limit": 500})
        listed = {
            e.get("href", "").rsplit("/", 1)[-1].removesuffix(".xml")
            for e in etree.fromstring(feed.content).iter("{http://www.w3.org/2005/Atom}link")
        }
    return {
        "latencies": latencies,
        "expected": expected,
        "in_feed": sum(1 for x in expected if x in listed),
        "failures": failures,
        "readings": sum(seq),
    }


def format_time_s(t: float) -> str:
    from datetime import UTC, datetime

    return format_time(datetime.fromtimestamp(t, UTC))


def quantile(xs: list[float], q: float) -> float:
    s = sorted(xs)
    if not s:
        return float("nan")
    k = q * (len(s) - 1)
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--stations", type=int, default=1000)
    ap.add_argument("--minutes", type=int, default=3)
    ap.add_argument("--crossings", type=int, default=30, help="stations crossing each minute")
    ap.add_argument("--seed", type=int, default=20261126)
    ap.add_argument("--quick", action="store_true", help="100 stations, 1 minute")
    args = ap.parse_args()
    if args.quick:
        args.stations, args.minutes, args.crossings = 100, 1, 10
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="stadswacht-warnbench-") as tmp:
        work = Path(tmp)
        db = f"sqlite:///{work}/bench.db"
        log(f"registering {args.stations} gauges ...")
        ids, keys, thresholds = prepare(db, args.stations, work)
        url, proc = start_server(db, thresholds, work)
        try:
            log(f"platform at {url}; {args.stations} stations report every minute")
            result = asyncio.run(load(url, ids, keys, args.minutes, args.crossings, args.seed))
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
    lat = result["latencies"]
    figures = {
        "stations": args.stations,
        "minutes": args.minutes,
        "readings": result["readings"],
        "crossings": len(result["expected"]),
        "alerts_served": len(lat),
        "alerts_in_feed": result["in_feed"],
        "p50_s": round(quantile(lat, 0.5), 3),
        "p95_s": round(quantile(lat, 0.95), 3),
        "max_s": round(max(lat), 3) if lat else None,
        "failures": result["failures"],
        "seconds": round(time.monotonic() - started, 1),
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()

"""Ingest benchmark: readings per CPU second of the platform on every ingest path, end-to-end
latency of the live stream, and the server's memory with 10,000 devices.

Run from the repository root::

    .venv/bin/python bench/ingest.py                 # everything, about 1.5 minutes on 2 cores
    .venv/bin/python bench/ingest.py --quick         # small counts: a smoke run
    .venv/bin/python bench/ingest.py --only mqtt_sqlite --only latency

Progress goes to stderr; stdout gets ONE line of JSON at the end. Every server (the platform,
the MQTT ingest worker, Mosquitto, PostgreSQL) is started here on a free port of 127.0.0.1 and
stopped afterwards, also on error; the machine's own services are never touched.

What is measured (see also ``bench/README.md``):

- ``ed25519_verify_per_core``: ``Ed25519PublicKey.verify`` of a reading's canonical bytes in a
  loop, verifications per second of process CPU time (one thread).
- ``*_per_core``: readings stored / CPU seconds (utime + stime from ``/proc/<pid>/stat``, all
  threads, plus reaped children) of the platform's process(es) from just before the first
  request or message to the moment the last reading is stored: the ``stadswacht run`` server
  for HTTP, the ``python -m stadswacht.ingest.mqtt`` worker for MQTT (the broker's CPU is
  reported apart, ``*_broker_cpu_s``), the server plus every PostgreSQL process for
  ``http_postgres`` (``..._server_only`` without them). Readings are signed before the timed
  part; the load generator runs in this process.
- ``latency_p50_ms`` / ``latency_p99_ms``: a subscriber on ``GET /v1/stream/readings`` (SSE) while
  a sender posts 2,000 readings/s (20 every 10 ms, open loop against the clock); each reading's
  ``time`` is its scheduled send time, latency = arrival at the subscriber - that time.
- ``rss_mb_10k_devices``: VmRSS of the server process after 10,000 registered devices have
  streamed 2,000 readings/s for 25 s (each device 5 readings, 5 s apart, spanning 20 s).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform as pyplatform
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # for tests.support, when run as bench/ingest.py
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import paho.mqtt.client as paho  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion  # noqa: E402

from stadswacht.api.auth import create_user  # noqa: E402
from stadswacht.client.gateway import seal  # noqa: E402
from stadswacht.config import Settings  # noqa: E402
from stadswacht.ingest.mqtt import gateway_topic, reading_topic  # noqa: E402
from stadswacht.model import DeviceKind, Position, Role, format_time  # noqa: E402
from stadswacht.model.reading import parse_time_ns  # noqa: E402
from stadswacht.model.signing import (  # noqa: E402
    canonical_json,
    generate_key,
    public_key_b64,
    sign_reading,
)
from stadswacht.pipeline import Platform  # noqa: E402

PARTS = (
    "ed25519",
    "http_sqlite",
    "gateway_sqlite",
    "mqtt_sqlite",
    "mqtt_batch_sqlite",
    "http_postgres",
    "latency",
    "rss",
)
KEYS = (
    "ed25519_verify_per_core",
    "http_sqlite_per_core",
    "gateway_sqlite_per_core",
    "mqtt_sqlite_per_core",
    "mqtt_batch_sqlite_per_core",
    "http_postgres_per_core",
    "latency_p50_ms",
    "latency_p99_ms",
    "rss_mb_10k_devices",
)
COUNTED = (
    "per_core = readings stored / (utime+stime) of: HTTP -> the `stadswacht run` process; "
    "MQTT -> the `python -m stadswacht.ingest.mqtt` process (broker apart: *_broker_cpu_s); "
    "http_postgres -> the server plus all PostgreSQL processes (without: *_server_only)"
)
_MACHINE_PORTS = {1883, 4222, 5432, 8000, 8883}  # the machine's own services: never ours
_AGENCY, _AREA = "municipality", "international-zone"
_ADMIN, _ADMIN_PASSWORD = "bench-admin", "bench-admin-password"
_STARTED = time.monotonic()


@dataclass(frozen=True)
class Config:
    """Counts of one run (full or ``--quick``)."""

    quick: bool
    devices: int = 100  # devices of the throughput parts
    readings: int = 50_000  # readings of each throughput part
    http_batch: int = 1000  # readings per HTTP request
    gateway_batch: int = 1000  # readings per gateway envelope over HTTP (the client's max_batch)
    mqtt_batch: int = 50  # readings per MQTT message, (d)
    mqtt_clients: int = 4  # publishing connections
    http_connections: int = 2  # concurrent HTTP requests
    verify_seconds: float = 2.0
    stream_rate: int = 2000  # readings/s of the latency and memory parts
    stream_batch: int = 20  # readings per request there (every 10 ms)
    latency_seconds: float = 20.0
    rss_devices: int = 10_000
    rss_seconds: float = 25.0

    @classmethod
    def make(cls, quick: bool) -> Config:
        if not quick:
            return cls(quick=False)
        return cls(
            quick=True,
            readings=3000,
            verify_seconds=0.3,
            latency_seconds=3.0,
            rss_devices=1000,
            rss_seconds=3.0,
        )


def log(message: str) -> None:
    print(f"[{time.monotonic() - _STARTED:6.1f}s] {message}", file=sys.stderr, flush=True)


# --- processes: CPU, memory, start and stop -------------------------------------------------
_TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[int, int]:
    """``(ppid, CPU ticks)`` of a process: utime + stime + cutime + cstime (proc(5))."""
    with open(f"/proc/{pid}/stat", "rb") as f:
        data = f.read()
    fields = data[data.rindex(b")") + 2 :].split()  # fields[0] is field 3, the state
    return int(fields[1]), sum(int(x) for x in fields[11:15])


def cpu_seconds(pid: int, *, tree: bool = False) -> float:
    """CPU time [s] of ``pid`` (every thread) and its reaped children; with ``tree`` also of its
    live descendants (e.g. PostgreSQL's backends)."""
    pids = [pid]
    if tree:
        children: dict[int, list[int]] = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    children.setdefault(_stat(int(entry))[0], []).append(int(entry))
                except (OSError, ValueError, IndexError):
                    continue
        todo = [pid]
        while todo:
            kids = children.get(todo.pop(), [])
            pids.extend(kids)
            todo.extend(kids)
    total = 0
    for p in pids:
        try:
            total += _stat(p)[1]
        except OSError:  # gone: its time went to its parent's cutime
            continue
    return total / _TICK


class CpuMeter:
    """CPU seconds that groups of processes spend between construction and :meth:`stop`."""

    def __init__(self, **groups: tuple[int, bool]) -> None:
        self.groups = groups
        self.start = self._now()

    def _now(self) -> dict[str, float]:
        return {k: cpu_seconds(pid, tree=tree) for k, (pid, tree) in self.groups.items()}

    def stop(self) -> dict[str, float]:
        end = self._now()
        return {k: end[k] - self.start[k] for k in self.groups}


def status_mb(pid: int, field: str) -> float:
    """A ``VmRSS``/``VmHWM``-style line of ``/proc/<pid>/status`` in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(field)


def free_port() -> int:
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port not in _MACHINE_PORTS:
            return port


def _platform_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STADSWACHT_")}
    env.update(
        STADSWACHT_ENV="test",
        STADSWACHT_DEVICE_RATE_PER_S="1e9",
        STADSWACHT_DEVICE_RATE_BURST="1e9",
        STADSWACHT_HOST="127.0.0.1",
    )
    env.update(extra)
    return env


def _stop_process(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def _profiled(pid: int, name: str, profile_dir: Path | None) -> Iterator[None]:
    """Sample ``pid`` with py-spy (collapsed stacks in ``profile_dir/name.txt``), if asked."""
    if profile_dir is None:
        yield
        return
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    out = profile_dir / f"{name}.txt"
    proc = subprocess.Popen(
        [spy, "record", "--pid", str(pid), "--format", "raw", "--nonblocking", "-o", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield
    finally:
        _stop_process(proc, signal.SIGINT)
        log(f"profile of {name}: {out}")


@contextmanager
def platform_process(
    argv: Sequence[str],
    env: dict[str, str],
    workdir: Path,
    name: str,
    ready: Callable[[Path], bool],
    profile_dir: Path | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run a platform process in ``workdir`` (so no ``.env`` is read), logging to a file; yield it
    once ``ready(log)`` holds; stop it with SIGTERM afterwards."""
    log_path = workdir / f"{name}.log"
    with log_path.open("wb") as out:
        proc = subprocess.Popen(
            list(argv), env=env, cwd=workdir, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 60
        while not ready(log_path):
            if proc.poll() is not None or time.monotonic() > deadline:
                tail = log_path.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{name} did not come up (exit {proc.poll()}):\n{tail}")
            time.sleep(0.05)
        with _profiled(proc.pid, name, profile_dir):
            yield proc
    finally:
        _stop_process(proc)


@contextmanager
def platform_server(
    database_url: str, workdir: Path, name: str, profile_dir: Path | None
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``stadswacht run`` on a free port; yields its URL and process."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    script = Path(sys.executable).parent / "stadswacht"  # the venv's console script
    argv = (
        [str(script), "run"] if script.exists() else [sys.executable, "-m", "stadswacht.cli", "run"]
    )
    env = _platform_env(STADSWACHT_DATABASE_URL=database_url, STADSWACHT_PORT=str(port))

    def up(_: Path) -> bool:
        try:
            return httpx.get(f"{url}/healthz", timeout=1.0, trust_env=False).status_code == 200
        except httpx.HTTPError:
            return False

    with platform_process(argv, env, workdir, name, up, profile_dir) as proc:
        yield url, proc


# --- devices and readings -------------------------------------------------------------------
@dataclass(frozen=True)
class Fleet:
    """Devices with their private keys, in a fixed order."""

    ids: list[str]
    keys: list[Ed25519PrivateKey]

    @classmethod
    def make(cls, n: int, prefix: str) -> Fleet:
        width = len(str(n - 1))
        ids = [f"{prefix}-{i:0{width}d}" for i in range(n)]
        return cls(ids, [generate_key() for _ in ids])


@dataclass(frozen=True)
class Gateway:
    id: str
    key: Ed25519PrivateKey
    devices: list[str]


def prepare_store(
    database_url: str,
    fleet: Fleet,
    gateways: Sequence[Gateway] = (),
    admin: bool = False,
) -> None:
    """Register the fleet (and gateways, an admin user) in a fresh store, then close it."""
    platform = Platform.from_settings(Settings(env="test", database_url=database_url))
    try:
        position = Position(lat=52.0894, lon=4.2790)
        for device_id, key in zip(fleet.ids, fleet.keys, strict=True):
            platform.registry.register(
                device_id,
                kind=DeviceKind.WEATHER,
                position=position,
                agency=_AGENCY,
                area=_AREA,
                public_key=public_key_b64(key),
            )
        for gw in gateways:
            platform.registry.register(
                gw.id,
                kind=DeviceKind.GATEWAY,
                position=position,
                agency=_AGENCY,
                area=_AREA,
                public_key=public_key_b64(gw.key),
                gateway_for=gw.devices,
            )
        if admin:
            create_user(platform.store, _ADMIN, _ADMIN_PASSWORD, _AGENCY, Role.ADMIN)
    finally:
        asyncio.run(platform.close())


def signed_readings(fleet: Fleet, n: int, time_of: Callable[[int], str]) -> list[dict[str, Any]]:
    """``n`` signed temperature readings, round-robin over the fleet: reading ``i`` is device
    ``i % len(fleet)``'s, sequence number ``i // len(fleet) + 1``, time ``time_of(i)``."""
    d = len(fleet.ids)
    out = []
    for i in range(n):
        body = {
            "device": fleet.ids[i % d],
            "seq": i // d + 1,
            "time": time_of(i),
            "kind": "temperature",
            # one value in ten is integral (e.g. 7.0), which takes RFC 8785's slower exact path
            "values": {"temperature_c": round(5 + i % 200 / 10, 1)},
        }
        out.append(sign_reading(fleet.keys[i % d], body))
    return out


def http_body(items: Sequence[Any]) -> tuple[bytes, str]:
    """A request body as ``HttpTransport`` sends it: NDJSON from 1000 items on, else JSON."""
    if len(items) >= 1000:
        lines = (json.dumps(i, separators=(",", ":"), ensure_ascii=False) for i in items)
        return ("\n".join(lines) + "\n").encode(), "application/x-ndjson"
    doc = {"readings": list(items)}
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode(), "application/json"


@dataclass
class Answers:
    """What the platform answered to a series of requests."""

    accepted: int = 0
    duplicates: int = 0
    rejected: Counter[str] | None = None

    def add(self, doc: dict[str, Any]) -> None:
        self.accepted += int(doc["accepted"])
        self.duplicates += len(doc["duplicates"])
        if doc["rejected"]:
            self.rejected = self.rejected or Counter()
            self.rejected.update(r["reason"] for r in doc["rejected"])

    def check(self, expected: int, what: str) -> None:
        if self.accepted != expected:
            raise RuntimeError(
                f"{what}: {self.accepted} of {expected} readings accepted "
                f"(duplicates {self.duplicates}, rejected {dict(self.rejected or {})})"
            )


def _post(client: httpx.Client, url: str, body: tuple[bytes, str]) -> dict[str, Any]:
    r = client.post(f"{url}/v1/readings", content=body[0], headers={"content-type": body[1]})
    if r.status_code != 200:
        raise RuntimeError(f"POST /v1/readings answered {r.status_code}: {r.text[:300]}")
    doc: dict[str, Any] = r.json()
    return doc


def post_all(url: str, bodies: Sequence[tuple[bytes, str]], connections: int) -> Answers:
    """POST every body, ``connections`` at a time."""
    answers = Answers()
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    with (
        httpx.Client(timeout=300.0, limits=limits, trust_env=False) as client,
        ThreadPoolExecutor(connections) as pool,
    ):
        for doc in pool.map(lambda b: _post(client, url, b), bodies):
            answers.add(doc)
    return answers


def sqlite_url(workdir: Path) -> tuple[str, Path]:
    path = workdir / "bench.db"
    return f"sqlite:///{path}", path


def _now_text() -> str:
    return format_time(datetime.now(UTC))


class Shared:
    """What several parts use, made once: the throughput fleet and its signed readings."""

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self._fleet: Fleet | None = None
        self._readings: list[dict[str, Any]] | None = None
        self._gateway: Gateway | None = None

    @property
    def fleet(self) -> Fleet:
        if self._fleet is None:
            self._fleet = Fleet.make(self.cfg.devices, "bench")
        return self._fleet

    @property
    def gateway(self) -> Gateway:
        if self._gateway is None:
            self._gateway = Gateway("bench-gw", generate_key(), self.fleet.ids)
        return self._gateway

    @property
    def readings(self) -> list[dict[str, Any]]:
        if self._readings is None:
            started = time.perf_counter()
            now = _now_text()
            self._readings = signed_readings(self.fleet, self.cfg.readings, lambda i: now)
            log(f"signed {len(self._readings):,} readings in {time.perf_counter() - started:.1f} s")
        return self._readings

    def envelopes(self, size: int) -> list[dict[str, Any]]:
        """The readings (without their signatures) in gateway envelopes of ``size``."""
        rs = self.readings
        gw = self.gateway
        return [seal(gw.key, gw.id, rs[i : i + size]) for i in range(0, len(rs), size)]


def _rate(readings: int, seconds: float) -> float | None:
    return round(readings / seconds) if seconds > 0 else None


# --- (0) the physical limit -----------------------------------------------------------------
def part_ed25519(cfg: Config, shared: Shared) -> dict[str, Any]:
    key = generate_key()
    public = key.public_key()
    reading = shared.readings[0]
    data = canonical_json({k: v for k, v in reading.items() if k != "sig"})
    sig = key.sign(data)
    n = 0
    started = time.process_time()
    while True:
        for _ in range(500):
            public.verify(sig, data)
        n += 500
        spent = time.process_time() - started
        if spent >= cfg.verify_seconds:
            break
    log(f"ed25519: {n / spent:,.0f} verifications/s per core ({len(data)}-byte message)")
    return {"ed25519_verify_per_core": round(n / spent)}


# --- (a, b) HTTP into SQLite ----------------------------------------------------------------
def _http_sqlite(
    cfg: Config,
    shared: Shared,
    name: str,
    bodies: list[tuple[bytes, str]],
    gateways: Sequence[Gateway],
    profile_dir: Path | None,
) -> dict[str, Any]:
    total = cfg.readings
    with tempfile.TemporaryDirectory(prefix="stadswacht-bench-") as tmp:
        workdir = Path(tmp)
        db_url, db_path = sqlite_url(workdir)
        prepare_store(db_url, shared.fleet, gateways)
        with platform_server(db_url, workdir, name, profile_dir) as (url, proc):
            meter = CpuMeter(server=(proc.pid, True), bench=(os.getpid(), False))
            started = time.perf_counter()
            answers = post_all(url, bodies, cfg.http_connections)
            wall = time.perf_counter() - started
            cpus = meter.stop()
            cpu = cpus["server"]
        answers.check(total, name)
        stored = _count(db_path)
    if stored != total:
        raise RuntimeError(f"{name}: {stored} readings in the store, {total} sent")
    log(
        f"{name}: {total:,} readings in {wall:.1f} s = {total / wall:,.0f}/s wall, "
        f"server CPU {cpu:.1f} s = {total / cpu:,.0f}/s per core"
    )
    return {
        f"{name}_per_core": _rate(total, cpu),
        f"{name}_wall_per_s": _rate(total, wall),
        f"{name}_server_busy_pct": round(100 * cpu / wall),
        f"{name}_generator_cpu_s": round(cpus["bench"], 2),
    }


def part_http_sqlite(cfg: Config, shared: Shared, profile_dir: Path | None) -> dict[str, Any]:
    rs = shared.readings
    bodies = [http_body(rs[i : i + cfg.http_batch]) for i in range(0, len(rs), cfg.http_batch)]
    return _http_sqlite(cfg, shared, "http_sqlite", bodies, (), profile_dir)


def part_gateway_sqlite(cfg: Config, shared: Shared, profile_dir: Path | None) -> dict[str, Any]:
    # One envelope per request, as GatewayClient sends it (``transport.send([envelope])``).
    bodies = [http_body([env]) for env in shared.envelopes(cfg.gateway_batch)]
    out = _http_sqlite(cfg, shared, "gateway_sqlite", bodies, [shared.gateway], profile_dir)
    out["gateway_sqlite_readings_per_envelope"] = cfg.gateway_batch
    return out


def _count(db_path: Path) -> int:
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30) as conn:
        return int(conn.execute("SELECT count(*) FROM readings").fetchone()[0])


# --- (c, d) MQTT into SQLite ----------------------------------------------------------------
def mqtt_publish(
    host: str, port: int, messages: dict[str, list[bytes]], clients: int, timeout: float
) -> None:
    """Publish every topic's messages at QoS 1, topics spread over ``clients`` connections (each
    topic on one, in order, interleaved with the others); return once all are acknowledged."""
    topics = list(messages)
    groups = [topics[i::clients] for i in range(clients) if topics[i::clients]]
    errors: list[str] = []

    def run(index: int, group: list[str]) -> None:
        expected = sum(len(messages[t]) for t in group)
        state = {"acked": 0, "failed": 0}
        connected, done = threading.Event(), threading.Event()
        client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"bench-pub-{index}",
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        client.max_inflight_messages_set(1000)
        client.max_queued_messages_set(0)

        def on_connect(c: Any, u: Any, flags: Any, rc: Any, props: Any) -> None:
            connected.set()

        def on_publish(c: Any, u: Any, mid: int, rc: Any, props: Any) -> None:
            state["acked"] += 1
            if rc.is_failure:
                state["failed"] += 1
            if state["acked"] >= expected:
                done.set()

        client.on_connect = on_connect
        client.on_publish = on_publish
        client.connect(host, port, keepalive=60)
        client.loop_start()
        try:
            if not connected.wait(10):
                raise RuntimeError("publisher did not connect")
            longest = max(len(messages[t]) for t in group)
            for j in range(longest):
                for t in group:
                    if j < len(messages[t]):
                        client.publish(t, messages[t][j], qos=1)
            if not done.wait(timeout):
                raise RuntimeError(f"broker acknowledged {state['acked']} of {expected}")
            if state["failed"]:
                raise RuntimeError(f"broker refused {state['failed']} of {expected} messages")
        except Exception as exc:
            errors.append(f"publisher {index}: {exc}")
        finally:
            client.disconnect()
            client.loop_stop()

    threads = [threading.Thread(target=run, args=(i, g)) for i, g in enumerate(groups)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError("; ".join(errors))


def _wait_stored(db_path: Path, total: int, timeout: float) -> tuple[int, int]:
    """Poll the store until ``total`` readings (or dead letters) are in; (readings, dead)."""
    deadline = time.monotonic() + timeout
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30) as conn:
        while True:
            # ids are consecutive in a fresh store, so max(id) is the count, without a scan
            stored = int(conn.execute("SELECT coalesce(max(id), 0) FROM readings").fetchone()[0])
            dead = int(conn.execute("SELECT coalesce(max(id), 0) FROM dead_letters").fetchone()[0])
            if stored + dead >= total or time.monotonic() > deadline:
                return stored, dead
            time.sleep(0.01)


def _mqtt_sqlite(
    cfg: Config,
    shared: Shared,
    name: str,
    messages: dict[str, list[bytes]],
    gateways: Sequence[Gateway],
    profile_dir: Path | None,
) -> dict[str, Any]:
    from tests.support.mosquitto import mosquitto_broker, shipped_policy

    total = cfg.readings
    with (
        tempfile.TemporaryDirectory(prefix="stadswacht-bench-") as tmp,
        mosquitto_broker(settings=shipped_policy()) as broker,
    ):
        assert broker.process is not None, "this benchmark starts its own broker"
        workdir = Path(tmp)
        db_url, db_path = sqlite_url(workdir)
        prepare_store(db_url, shared.fleet, gateways)
        env = _platform_env(
            STADSWACHT_DATABASE_URL=db_url,
            STADSWACHT_MQTT_URL=broker.url,
            STADSWACHT_MQTT_CLIENT_ID=f"bench-ingest-{name}",
        )
        argv = [sys.executable, "-m", "stadswacht.ingest.mqtt"]

        def subscribed(path: Path) -> bool:
            return "subscribed to" in path.read_text(errors="replace")

        with platform_process(argv, env, workdir, name, subscribed, profile_dir) as proc:
            meter = CpuMeter(
                ingest=(proc.pid, True),
                broker=(broker.process.pid, False),
                bench=(os.getpid(), False),
            )
            started = time.perf_counter()
            mqtt_publish(broker.host, broker.port, messages, cfg.mqtt_clients, 60 + total / 200)
            published = time.perf_counter() - started
            stored, dead = _wait_stored(db_path, total, 60 + total / 500)
            wall = time.perf_counter() - started
            cpu = meter.stop()
        dropped = "dropped" in broker.log()
    if stored != total or dead or dropped:
        raise RuntimeError(
            f"{name}: {stored} of {total} stored, {dead} dead letters"
            + (", the broker DROPPED messages" if dropped else "")
        )
    log(
        f"{name}: {total:,} readings in {wall:.1f} s = {total / wall:,.0f}/s wall, "
        f"ingest CPU {cpu['ingest']:.1f} s = {total / cpu['ingest']:,.0f}/s per core, "
        f"broker CPU {cpu['broker']:.1f} s"
    )
    return {
        f"{name}_per_core": _rate(total, cpu["ingest"]),
        f"{name}_wall_per_s": _rate(total, wall),
        f"{name}_broker_cpu_s": round(cpu["broker"], 2),
        f"{name}_ingest_busy_pct": round(100 * cpu["ingest"] / wall),
        f"{name}_published_s": round(published, 2),
        f"{name}_generator_cpu_s": round(cpu["bench"], 2),
    }


def _by_device(readings: Sequence[dict[str, Any]], per_message: int) -> dict[str, list[bytes]]:
    """Each device's readings as messages on its own topic, ``per_message`` to a message."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for r in readings:
        grouped.setdefault(r["device"], []).append(r)
    out: dict[str, list[bytes]] = {}
    for device, rs in grouped.items():
        if per_message == 1:
            out[reading_topic(device)] = [json.dumps(r).encode() for r in rs]
        else:
            out[reading_topic(device)] = [
                json.dumps(rs[i : i + per_message]).encode() for i in range(0, len(rs), per_message)
            ]
    return out


def part_mqtt_sqlite(cfg: Config, shared: Shared, profile_dir: Path | None) -> dict[str, Any]:
    messages = _by_device(shared.readings, 1)
    return _mqtt_sqlite(cfg, shared, "mqtt_sqlite", messages, (), profile_dir)


def part_mqtt_batch_sqlite(cfg: Config, shared: Shared, profile_dir: Path | None) -> dict[str, Any]:
    messages = _by_device(shared.readings, cfg.mqtt_batch)
    out = _mqtt_sqlite(cfg, shared, "mqtt_batch_sqlite", messages, (), profile_dir)
    gw = shared.gateway
    envelopes = [json.dumps(e).encode() for e in shared.envelopes(cfg.mqtt_batch)]
    out |= _mqtt_sqlite(
        cfg, shared, "mqtt_gateway_sqlite", {gateway_topic(gw.id): envelopes}, [gw], profile_dir
    )
    out["mqtt_readings_per_message"] = cfg.mqtt_batch
    return out


# --- (e) HTTP into PostgreSQL ---------------------------------------------------------------
def _postmaster_pid(admin_url: str) -> int:
    import psycopg

    with psycopg.connect(admin_url) as conn:
        row = conn.execute("SELECT pg_backend_pid()").fetchone()
    assert row is not None
    return _stat(int(row[0]))[0]


def part_http_postgres(cfg: Config, shared: Shared, profile_dir: Path | None) -> dict[str, Any]:
    from tests.support.postgres import postgres_server

    rs = shared.readings
    total = len(rs)
    bodies = [http_body(rs[i : i + cfg.http_batch]) for i in range(0, total, cfg.http_batch)]
    # durable: fsync on, as in production and like SQLite's synchronous=FULL
    with (
        tempfile.TemporaryDirectory(prefix="stadswacht-bench-") as tmp,
        postgres_server(durable=True) as pg,
    ):
        db_url = pg.create_database("stadswacht_bench")
        prepare_store(db_url, shared.fleet)
        postmaster = _postmaster_pid(pg.admin_url)
        with platform_server(db_url, Path(tmp), "http_postgres", profile_dir) as (url, proc):
            meter = CpuMeter(
                server=(proc.pid, True), postgres=(postmaster, True), bench=(os.getpid(), False)
            )
            started = time.perf_counter()
            answers = post_all(url, bodies, cfg.http_connections)
            wall = time.perf_counter() - started
            cpu = meter.stop()
        answers.check(total, "http_postgres")
    both = cpu["server"] + cpu["postgres"]
    log(
        f"http_postgres: {total:,} readings in {wall:.1f} s = {total / wall:,.0f}/s wall, "
        f"server CPU {cpu['server']:.1f} s + PostgreSQL {cpu['postgres']:.1f} s "
        f"= {total / both:,.0f}/s per core ({total / cpu['server']:,.0f} server only)"
    )
    return {
        "http_postgres_per_core": _rate(total, both),
        "http_postgres_per_core_server_only": _rate(total, cpu["server"]),
        "http_postgres_pg_cpu_s": round(cpu["postgres"], 2),
        "http_postgres_wall_per_s": _rate(total, wall),
        "http_postgres_server_busy_pct": round(100 * cpu["server"] / wall),
        "http_postgres_generator_cpu_s": round(cpu["bench"], 2),
    }


# --- latency and memory: a paced stream with a live subscriber -------------------------------
class Subscriber(threading.Thread):
    """Reads ``/v1/stream/readings`` and stamps each event's arrival; parses later."""

    def __init__(self, url: str, token: str, expected: int) -> None:
        super().__init__(daemon=True, name="sse-subscriber")
        self.url, self.token, self.expected = url, token, expected
        self.ready = threading.Event()
        self.done = threading.Event()
        self.events: list[tuple[float, str]] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            timeout = httpx.Timeout(10.0, read=60.0)
            with (
                httpx.Client(timeout=timeout, trust_env=False) as client,
                client.stream(
                    "GET",
                    f"{self.url}/v1/stream/readings",
                    params={"access_token": self.token},
                ) as response,
            ):
                response.raise_for_status()
                for line in response.iter_lines():
                    if not line.startswith("data:"):
                        continue
                    if not self.ready.is_set():
                        self.ready.set()  # the first event says it is subscribed
                        continue
                    self.events.append((time.time(), line))
                    if len(self.events) >= self.expected:
                        break
        except BaseException as exc:
            self.error = exc
        finally:
            self.ready.set()
            self.done.set()

    def latencies_ms(self) -> list[float]:
        out = []
        for arrived, line in self.events:
            doc = json.loads(line[5:])
            out.append((arrived - parse_time_ns(doc["time"]) / 1e9) * 1000)
        return out


def _percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1))]


def _login(url: str) -> str:
    r = httpx.post(
        f"{url}/v1/auth/token",
        data={"username": _ADMIN, "password": _ADMIN_PASSWORD},
        timeout=30,
        trust_env=False,
    )
    r.raise_for_status()
    token: str = r.json()["access_token"]
    return token


def _paced_send(
    url: str, bodies: Sequence[tuple[bytes, str]], t0: float, interval: float
) -> tuple[Answers, list[float]]:
    """POST ``bodies[k]`` at ``t0 + k * interval`` (open loop: a slow answer does not delay the
    next request); the answers and how late each request left [s]."""
    answers = Answers()
    late: list[float] = []
    limits = httpx.Limits(max_connections=8, max_keepalive_connections=8)
    with (
        httpx.Client(timeout=60.0, limits=limits, trust_env=False) as client,
        ThreadPoolExecutor(8) as pool,
    ):
        futures = []
        for k, body in enumerate(bodies):
            target = t0 + k * interval
            delay = target - time.time()
            if delay > 0:
                time.sleep(delay)
            late.append(time.time() - target)
            futures.append(pool.submit(_post, client, url, body))
        for f in futures:
            answers.add(f.result())
    return answers, late


def _stream(
    cfg: Config,
    fleet: Fleet,
    seconds: float,
    name: str,
    profile_dir: Path | None,
) -> dict[str, Any]:
    """Stream ``cfg.stream_rate`` readings/s of ``fleet`` for ``seconds`` to a fresh server with
    a live SSE subscriber; latencies, server CPU and memory."""
    rate, batch = cfg.stream_rate, cfg.stream_batch
    interval = batch / rate
    ticks = round(seconds * rate / batch)
    total = ticks * batch
    with tempfile.TemporaryDirectory(prefix="stadswacht-bench-") as tmp:
        workdir = Path(tmp)
        db_url, _ = sqlite_url(workdir)
        started = time.perf_counter()
        prepare_store(db_url, fleet, admin=True)
        took = time.perf_counter() - started
        log(f"{name}: registered {len(fleet.ids):,} devices in {took:.1f} s")
        # Estimate the signing time, so the schedule (and the times in the readings) starts
        # right after the readings are signed.
        probe = time.perf_counter()
        signed_readings(fleet, 500, lambda i: _now_text())
        per_reading = (time.perf_counter() - probe) / 500
        with platform_server(db_url, workdir, name, profile_dir) as (url, proc):
            subscriber = Subscriber(url, _login(url), total)
            subscriber.start()
            if not subscriber.ready.wait(30) or subscriber.error is not None:
                raise RuntimeError(f"{name}: the SSE subscriber did not start: {subscriber.error}")
            t0 = time.time() + total * per_reading * 1.3 + 1.0

            def scheduled(i: int) -> str:
                return format_time(datetime.fromtimestamp(t0 + (i // batch) * interval, UTC))

            readings = signed_readings(fleet, total, scheduled)
            bodies = [http_body(readings[i : i + batch]) for i in range(0, total, batch)]
            rss_before = status_mb(proc.pid, "VmRSS")
            if time.time() > t0:
                log(f"{name}: signing took longer than planned; the first requests are late")
            meter = CpuMeter(server=(proc.pid, True))
            answers, late = _paced_send(url, bodies, t0, interval)
            subscriber.done.wait(10)
            cpu = meter.stop()["server"]
            rss = status_mb(proc.pid, "VmRSS")
            hwm = status_mb(proc.pid, "VmHWM")
        answers.check(total, name)
    lat = subscriber.latencies_ms()
    if not lat:
        raise RuntimeError(f"{name}: the subscriber received nothing ({subscriber.error})")
    p50, p99 = _percentile(lat, 0.50), _percentile(lat, 0.99)
    log(
        f"{name}: {len(fleet.ids):,} devices, {total:,} readings in {seconds:.0f} s, "
        f"{len(lat):,} received live: p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {max(lat):.1f} ms; "
        f"sender late p99 {_percentile(late, 0.99) * 1000:.1f} ms; server CPU "
        f"{cpu / seconds:.0%} of a core; RSS {rss_before:.0f} -> {rss:.0f} MiB (peak {hwm:.0f})"
    )
    return {
        "p50": round(p50, 2),
        "p99": round(p99, 2),
        "max": round(max(lat), 2),
        "sent": total,
        "received": len(lat),
        "sender_late_p99_ms": round(_percentile(late, 0.99) * 1000, 2),
        "server_cpu_pct": round(100 * cpu / seconds, 1),
        "rss_mb": round(rss, 1),
        "rss_mb_before": round(rss_before, 1),
        "rss_mb_peak": round(hwm, 1),
    }


def part_latency(cfg: Config, shared: Shared, profile_dir: Path | None) -> dict[str, Any]:
    r = _stream(cfg, shared.fleet, cfg.latency_seconds, "latency", profile_dir)
    return {
        "latency_p50_ms": r["p50"],
        "latency_p99_ms": r["p99"],
        "latency_max_ms": r["max"],
        "latency_received": f"{r['received']}/{r['sent']}",
        "latency_sender_late_p99_ms": r["sender_late_p99_ms"],
        "latency_server_cpu_pct": r["server_cpu_pct"],
    }


def part_rss(cfg: Config, shared: Shared, profile_dir: Path | None) -> dict[str, Any]:
    started = time.perf_counter()
    fleet = Fleet.make(cfg.rss_devices, "city")
    log(f"rss: {cfg.rss_devices:,} device keys in {time.perf_counter() - started:.1f} s")
    r = _stream(cfg, fleet, cfg.rss_seconds, "rss", profile_dir)
    return {
        "rss_mb_10k_devices": r["rss_mb"],
        "rss_mb_10k_devices_before_streaming": r["rss_mb_before"],
        "rss_mb_10k_devices_peak": r["rss_mb_peak"],
        "rss_devices": cfg.rss_devices,
        "latency_10k_devices_p50_ms": r["p50"],
        "latency_10k_devices_p99_ms": r["p99"],
        "latency_10k_devices_received": f"{r['received']}/{r['sent']}",
    }


# --- main -----------------------------------------------------------------------------------
def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return pyplatform.processor() or "unknown"


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small counts, for a smoke run")
    parser.add_argument(
        "--only",
        action="append",
        choices=PARTS,
        metavar="NAME",
        help=f"run only this part (repeatable): {', '.join(PARTS)}",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="sample each platform process with py-spy (must be installed) into DIR/<part>.txt "
        "(collapsed stacks); the figures of such a run are not the benchmark's",
    )
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)  # unwind, so every server started is stopped
    for var in ("STADSWACHT_TEST_MQTT_URL", "STADSWACHT_TEST_POSTGRES_URL"):
        # tests.support would use such an outside server: this benchmark starts its own
        if os.environ.pop(var, None) is not None:
            log(f"ignoring {var}: the benchmark starts its own server on 127.0.0.1")
    cfg = Config.make(args.quick)
    if args.profile is not None:
        args.profile.mkdir(parents=True, exist_ok=True)
    shared = Shared(cfg)
    result: dict[str, Any] = dict.fromkeys(KEYS)
    result |= {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "python": pyplatform.python_version(),
        "quick": cfg.quick,
        "throughput_readings": cfg.readings,
        "throughput_devices": cfg.devices,
        "counted": COUNTED,
    }
    errors: dict[str, str] = {}
    runners: dict[str, Callable[[], dict[str, Any]]] = {
        "ed25519": lambda: part_ed25519(cfg, shared),
        "http_sqlite": lambda: part_http_sqlite(cfg, shared, args.profile),
        "gateway_sqlite": lambda: part_gateway_sqlite(cfg, shared, args.profile),
        "mqtt_sqlite": lambda: part_mqtt_sqlite(cfg, shared, args.profile),
        "mqtt_batch_sqlite": lambda: part_mqtt_batch_sqlite(cfg, shared, args.profile),
        "http_postgres": lambda: part_http_postgres(cfg, shared, args.profile),
        "latency": lambda: part_latency(cfg, shared, args.profile),
        "rss": lambda: part_rss(cfg, shared, args.profile),
    }
    for part in PARTS:
        if args.only and part not in args.only:
            continue
        log(f"--- {part}")
        try:
            result |= runners[part]()
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:  # pytest.fail from tests.support is a BaseException
            traceback.print_exc(file=sys.stderr)
            errors[part] = f"{type(exc).__name__}: {exc}"[:500]
    result["elapsed_s"] = round(time.monotonic() - _STARTED, 1)
    if errors:
        result["errors"] = errors
    print(json.dumps(result), flush=True)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())

"""The runner: a replay through the real ingest path stores every simulated reading once and
the platform rejects the attacks with the expected reasons."""

from __future__ import annotations

import asyncio
import functools
import hashlib
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from stadswacht.client import Answer
from stadswacht.config import Settings
from stadswacht.livinglab import (
    InprocTransport,
    PlatformRegistrar,
    parse_scenario,
    replay,
)
from stadswacht.model.signing import private_key_b64
from stadswacht.pipeline import Platform
from stadswacht.store.base import ReadingQuery

NOW = datetime(2026, 11, 25, 22, 0, tzinfo=UTC)


def _platform(tmp_path: Path, **kw: Any) -> Platform:
    return Platform.from_settings(
        Settings(
            env="test",
            database_url=f"sqlite:///{tmp_path}/lab.db",
            device_rate_burst=1e9,
            device_rate_per_s=1e9,
            **kw,
        )
    )


@pytest.fixture
def strict_platform(tmp_path: Path) -> Iterator[Platform]:
    """A platform that treats every resent reading as a replay (no duplicate window)."""
    p = _platform(tmp_path, duplicate_window_s=0)
    yield p
    asyncio.run(p.close())


def _inproc(p: Platform) -> InprocTransport:
    return InprocTransport(functools.partial(p.ingestor.ingest, transport="inproc"))


def _stored(p: Platform) -> list[tuple[str, int, str]]:
    out: list[tuple[str, int, str]] = []
    after = 0
    while page := p.store.query_readings(ReadingQuery(after_id=after, limit=1000)):
        out.extend((r.device, r.seq, r.sig) for r in page)
        after = page[-1].id or 0
    return out


def test_inproc_replay_stores_every_reading_once(
    strict_platform: Platform, short_text: str
) -> None:
    sc = parse_scenario(short_text.replace('  start: "2026-11-25T00:00:00Z"\n', ""))
    progress: list[tuple[int, int]] = []
    report = replay(
        sc,
        _inproc(strict_platform),
        PlatformRegistrar(strict_platform.store, strict_platform.registry),
        now=datetime.now(UTC),
        batch_size=100,
        progress=lambda done, total: progress.append((done, total)),
    )
    sim = report.simulation
    genuine = [(e.reading["device"], e.reading["seq"]) for e in sim.genuine()]
    stored = _stored(strict_platform)
    assert sorted((d, s) for d, s, _ in stored) == sorted(genuine)
    assert len(stored) == len(set(genuine)) == report.accepted
    assert report.unexpected == []
    assert report.attacks == {
        ("spoofed", "bad_signature"): 2,
        ("forged", "bad_signature"): 1,
        ("replayed", "replay"): 2,
    }
    dead = strict_platform.store.list_dead_letters()
    assert sorted(d.reason for d in dead) == ["bad_signature"] * 3 + ["replay"] * 2
    assert {d.device for d in dead if d.reason == "bad_signature"} == {"t-wx-01", "t-ac-01"}
    assert progress[-1] == (len(sim.emissions), len(sim.emissions))
    devices = {d.id: d for d in strict_platform.registry.list()}
    assert devices["t-ac-01"].area == "plaza"
    assert {a.id for a in strict_platform.store.list_areas()} >= {"test-area", "plaza"}


def test_a_second_replay_rekeys_and_stores_again(
    strict_platform: Platform, short_text: str
) -> None:
    sc = parse_scenario(short_text.replace('  start: "2026-11-25T00:00:00Z"\n', ""))
    reg = PlatformRegistrar(strict_platform.store, strict_platform.registry)
    first = replay(sc, _inproc(strict_platform), reg, now=datetime.now(UTC))
    strict_platform.registry.invalidate()
    second = replay(
        sc,
        _inproc(strict_platform),
        reg,
        now=datetime.now(UTC),
        seq_base=first.simulation.seq_base + 10**6,
    )
    assert second.accepted == first.accepted
    assert second.unexpected == []


def test_a_quick_replay_within_the_duplicate_window_is_a_duplicate(
    tmp_path: Path, short_text: str
) -> None:
    p = _platform(tmp_path)
    try:
        sc = parse_scenario(short_text.replace('  start: "2026-11-25T00:00:00Z"\n', ""))
        report = replay(sc, _inproc(p), PlatformRegistrar(p.store, p.registry))
        assert report.attacks[("replayed", "duplicate")] == 2
        assert report.duplicates == 2
    finally:
        asyncio.run(p.close())


class _Recorder:
    def __init__(self) -> None:
        self.batches: list[list[dict[str, Any]]] = []

    def send(self, items: Sequence[dict[str, Any]]) -> Answer:
        self.batches.append(list(items))
        return Answer(accepted=len(items))

    def close(self) -> None:
        pass


class _Keys:
    """A registrar with fixed keys, so two runs can be compared byte for byte."""

    def agency(self, agency: Any) -> None:
        pass

    def area(self, area: Any) -> None:
        pass

    def device(self, spec: Any) -> tuple[str, bool]:
        key = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(spec.id.encode()).digest())
        return private_key_b64(key), False


def test_replay_is_deterministic_and_paced(short_text: str) -> None:
    sc = parse_scenario(short_text)
    runs = []
    for _ in range(2):
        rec = _Recorder()
        replay(sc, rec, _Keys(), now=NOW, seq_base=1)
        runs.append(rec.batches)
    assert runs[0] == runs[1]
    # At 60x, one simulated hour takes a minute of (fake) wall time, batch by batch.
    t = [0.0]
    rec = _Recorder()

    def sleep(s: float) -> None:
        t[0] += s

    report = replay(
        sc, rec, _Keys(), now=NOW, seq_base=1, speed=60.0, clock=lambda: t[0], sleep=sleep
    )
    assert report.sent == sum(len(b) for b in rec.batches)
    last = report.simulation.emissions[-1].send_s
    assert t[0] == pytest.approx(last / 60.0, abs=1e-6)
    assert len(rec.batches) > 60


def test_negative_speed_is_refused(short_text: str) -> None:
    with pytest.raises(ValueError, match="speed"):
        replay(parse_scenario(short_text), _Recorder(), _Keys(), speed=-1)

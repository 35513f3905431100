"""Shared fixtures: an embedded platform in a temp directory and signed-reading factories."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from stadswacht.config import Settings
from stadswacht.model import DeviceKind, Position, format_time
from stadswacht.model.signing import load_private_key, sign_reading
from stadswacht.pipeline import Platform


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        env="test",
        database_url=f"sqlite:///{tmp_path}/stadswacht.db",
        device_rate_burst=1e9,
        device_rate_per_s=1e9,
    )


@pytest.fixture
def platform(settings: Settings) -> Iterator[Platform]:
    p = Platform.from_settings(settings)
    yield p
    asyncio.run(p.close())


@dataclass
class FakeDevice:
    """A registered device that signs its own readings."""

    id: str
    key: Ed25519PrivateKey
    seq: int = 0
    sent: list[dict[str, Any]] = field(default_factory=list)

    def reading(
        self,
        kind: str = "temperature",
        values: dict[str, Any] | None = None,
        time: datetime | None = None,
        seq: int | None = None,
    ) -> dict[str, Any]:
        if seq is None:
            self.seq += 1
            seq = self.seq
        body = {
            "device": self.id,
            "seq": seq,
            "time": format_time(time or datetime.now(UTC)),
            "kind": kind,
            "values": values if values is not None else {"temperature_c": 11.5},
        }
        signed = sign_reading(self.key, body)
        self.sent.append(signed)
        return signed


@pytest.fixture
def make_device(platform: Platform) -> Callable[..., FakeDevice]:
    def make(
        device_id: str = "iz-wx-01",
        kind: DeviceKind = DeviceKind.WEATHER,
        agency: str = "municipality",
        area: str | None = "international-zone",
        **kw: Any,
    ) -> FakeDevice:
        reg = platform.registry.register(
            device_id,
            kind=kind,
            position=Position(lat=52.09, lon=4.28),
            agency=agency,
            area=area,
            **kw,
        )
        assert reg.private_key is not None
        return FakeDevice(device_id, load_private_key(reg.private_key))

    return make


def ago(seconds: float) -> datetime:
    """A time ``seconds`` before now (negative: in the future)."""
    return datetime.now(UTC) - timedelta(seconds=seconds)

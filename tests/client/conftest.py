"""Fixtures for the client tests: the real API served by uvicorn on a port that can be stopped
and started again (same database), and registered devices with their private keys."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from stadswacht.api import create_app
from stadswacht.client import Backoff
from stadswacht.config import Settings
from stadswacht.model import DeviceKind, Position, StoredReading
from stadswacht.pipeline import Platform
from stadswacht.store.base import ReadingQuery
from tests.support.server import free_port, serve

FAST = Backoff(base=0.02, cap=0.1)
"""A back-off short enough for tests."""


class Api:
    """The platform's HTTP API on a fixed port; :meth:`stop` and :meth:`start` it at will.

    Each start builds a new app over the same database file, as a restarted server would.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._stack: ExitStack | None = None
        self.platform: Platform | None = None

    def start(self) -> None:
        assert self._stack is None, "already running"
        app = create_app(self.settings)
        self.platform = app.state.platform
        stack = ExitStack()
        stack.enter_context(serve(app, self.port))
        self._stack = stack

    def stop(self) -> None:
        if self._stack is not None:
            self._stack.close()
            self._stack = None
            self.platform = None

    @property
    def running(self) -> bool:
        return self._stack is not None

    def register(self, device_id: str, kind: DeviceKind = DeviceKind.WEATHER, **kw: Any) -> str:
        """Register a device; its private key (base64url)."""
        assert self.platform is not None, "start the API first"
        reg = self.platform.registry.register(
            device_id,
            kind=kind,
            position=Position(lat=52.09, lon=4.28),
            agency="municipality",
            area="international-zone",
            **kw,
        )
        assert reg.private_key is not None
        return reg.private_key

    def stored(self, device: str | None = None) -> list[StoredReading]:
        """Readings in the store, in arrival order."""
        assert self.platform is not None, "start the API first"
        return self.platform.store.query_readings(ReadingQuery(device=device, limit=10_000))


def api_settings(tmp_path: Path, **kw: Any) -> Settings:
    return Settings(database_url=f"sqlite:///{tmp_path}/t.db", env="test", **kw)


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    """The real API, running, on its own database."""
    a = Api(api_settings(tmp_path))
    a.start()
    yield a
    a.stop()

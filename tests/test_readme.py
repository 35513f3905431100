"""The README's device example runs as printed (with a real key and server filled in)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from stadswacht.api import create_app
from stadswacht.model import Position
from stadswacht.pipeline import Platform
from tests.support.server import serve

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_device_example_stores_a_reading(
    platform: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = re.search(r"```python\n(.*?)```", README.read_text(), re.S)
    assert code is not None
    lines = code.group(1).strip().splitlines()
    assert len(lines) <= 12
    reg = platform.registry.register(
        "iz-wx-01", kind="weather", position=Position(lat=52.09, lon=4.28), agency="municipality"
    )
    monkeypatch.chdir(tmp_path)
    with serve(create_app(platform=platform)) as url:
        src = code.group(1).replace("<base64url private key>", reg.private_key or "")
        src = src.replace("http://127.0.0.1:8000", url)
        exec(compile(src, "README.md", "exec"), {})
    assert platform.store.count_readings() == 1
    assert os.path.exists(tmp_path / "iz-wx-01.db")

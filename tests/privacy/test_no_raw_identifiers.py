"""No raw identifier of a person reaches the store: rejected requests from a known client
address leave only its pseudonym in the database file, and no answer echoes the address."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import httpx

from stadswacht.api import create_app
from stadswacht.config import Settings
from stadswacht.ingest.service import Ingestor
from stadswacht.pipeline import Platform
from stadswacht.privacy.pseudonym import Pseudonymiser
from tests.conftest import FakeDevice, ago
from tests.support.server import serve

CLIENT = "127.0.0.1"
PROXIED = "203.0.113.77"  # TEST-NET-3: as a client behind a trusted proxy would appear


def _hits(db: Path, needle: str) -> list[str]:
    """Every place ``needle`` occurs in the SQLite file: each text or blob value of every
    column of every table, and the raw bytes of the file and its WAL."""
    found = []
    conn = sqlite3.connect(db)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            columns = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
            for column in columns:
                for (value,) in conn.execute(f"SELECT {column} FROM {table}"):
                    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
                    if isinstance(text, str) and needle in text:
                        found.append(f"{table}.{column}")
    finally:
        conn.close()
    for path in (db, db.with_name(db.name + "-wal")):
        if path.exists() and needle.encode() in path.read_bytes():
            found.append(path.name)
    return found


def _bad_readings(device: FakeDevice) -> list[object]:
    good = device.reading()
    return [
        {**good, "sig": good["sig"][:-4] + "AAAA"},  # bad signature
        {"device": "nobody", "seq": 1, "time": "2026-11-25T00:00:00Z", "kind": "rain",
         "values": {}, "sig": "x"},  # unknown device
        "not an object",  # malformed
        device.reading(time=ago(-3600)),  # clock skew
    ]  # fmt: skip


def test_rejected_requests_leave_only_a_pseudonym_of_the_client_in_the_store(
    platform: Platform, make_device: Callable[..., FakeDevice], settings: Settings
) -> None:
    device = make_device()
    with serve(create_app(platform=platform)) as url, httpx.Client(base_url=url) as http:
        direct = http.post("/v1/readings", json={"readings": _bad_readings(device)})
        proxied = http.post(
            "/v1/readings",
            json={"readings": _bad_readings(device)},
            headers={"X-Forwarded-For": PROXIED},  # uvicorn trusts proxy headers from 127.0.0.1
        )
    for answer in (direct, proxied):
        assert answer.status_code == 200, answer.text
        assert len(answer.json()["rejected"]) == 4
        assert CLIENT not in answer.text and PROXIED not in answer.text

    letters = platform.store.list_dead_letters()
    assert len(letters) == 8
    pseudonym = platform.ingestor.pseudonymiser.pseudonym
    assert {d.source for d in letters} == {pseudonym(CLIENT), pseudonym(PROXIED)}

    db = settings.sqlite_path
    assert _hits(db, CLIENT) == []
    assert _hits(db, PROXIED) == []
    assert _hits(db, pseudonym(CLIENT)) != []  # the grep does find what is there


def test_an_mqtt_source_is_pseudonymised_too(platform: Platform, settings: Settings) -> None:
    broker = "mqtt://10.20.30.40:1883"
    platform.ingestor.ingest_many([("iz-wx-01", ["junk"])], transport="mqtt", source=broker)
    (letter,) = platform.store.list_dead_letters()
    assert letter.source == platform.ingestor.pseudonymiser.pseudonym(broker)
    assert letter.source.startswith("ps:source:")
    assert _hits(settings.sqlite_path, "10.20.30.40") == []


def test_the_ingestor_takes_a_pseudonymiser_and_its_key_decides_the_pseudonym(
    platform: Platform, settings: Settings
) -> None:
    keyed = Pseudonymiser(b"0123456789abcdef0123456789abcdef", "source")
    ingestor = Ingestor(platform.store, None, settings, platform.registry, pseudonymiser=keyed)
    ingestor.ingest(["junk"], source="192.0.2.1")
    (letter,) = platform.store.list_dead_letters()
    assert letter.source == keyed.pseudonym("192.0.2.1")
    assert letter.source != Pseudonymiser(b"x" * 32, "source").pseudonym("192.0.2.1")

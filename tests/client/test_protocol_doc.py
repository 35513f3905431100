"""docs/device-protocol.md cannot rot: its examples verify, and the platform accepts them.

Blocks marked ``<!-- checked: name -->`` in the document are read here and checked against the
signing code, the reading model and a real ingest service.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest

from stadswacht.client import Answer, seal
from stadswacht.config import Settings
from stadswacht.errors import InvalidReading
from stadswacht.ingest.service import Ingestor
from stadswacht.model import DeviceKind, Position
from stadswacht.model.reading import READING_KINDS, parse_time_ns
from stadswacht.model.signing import (
    canonical_json,
    load_private_key,
    load_public_key,
    public_key_b64,
    sign_reading,
    verify_bytes,
    verify_reading,
)
from stadswacht.pipeline import Platform

DOC = Path(__file__).resolve().parents[2] / "docs" / "device-protocol.md"
TEXT = DOC.read_text(encoding="utf-8")


def block(name: str) -> str:
    """The body of the block marked ``<!-- checked: name -->`` (a code fence or a table)."""
    m = re.search(
        rf"<!-- checked: {re.escape(name)} -->\n(?:```[a-z]*\n(.*?)\n```|((?:\|.*\n)+))",
        TEXT,
        re.S,
    )
    assert m, f"{DOC.name} has no block marked 'checked: {name}'"
    return m.group(1) if m.group(1) is not None else m.group(2)


def key_line(label: str) -> str:
    m = re.search(rf"^{label} key\s*\(base64url, 32 bytes\): (\S+)$", block("key"), re.M)
    assert m
    return m.group(1)


def unsigned() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(block("unsigned"))
    return doc


def test_the_worked_example_verifies_and_signing_it_again_gives_the_same_signature() -> None:
    private, public = key_line("private"), key_line("public")
    key = load_private_key(private)
    assert public_key_b64(key) == public
    body = unsigned()
    canonical = block("canonical")
    assert canonical_json(body) == canonical.encode()
    assert f"({len(canonical.encode())} bytes, UTF-8)" in TEXT
    sig = block("sig").strip()
    assert sign_reading(key, body)["sig"] == sig  # Ed25519 is deterministic
    signed = {**body, "sig": sig}
    assert verify_reading(load_public_key(public), signed)
    assert json.loads(block("reading")) == signed
    assert json.loads(block("batch.json")) == {"readings": [signed]}


def test_the_standalone_signing_snippet_prints_the_documented_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "device.key").write_text(key_line("private") + "\n")
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(block("sign.py"), "sign.py", "exec"), {"__name__": "__main__"})
    assert out.getvalue().strip() == block("batch.json").strip()


def test_the_gateway_example_verifies_with_the_documented_gateway_key() -> None:
    m = re.search(r"\(private\s+`([^`]+)`, public `([^`]+)`\)", TEXT)
    assert m, "the gateway example names its keys"
    key = load_private_key(m.group(1))
    assert public_key_b64(key) == m.group(2)
    envelope = json.loads(block("envelope"))
    assert verify_bytes(load_public_key(m.group(2)), envelope["payload"].encode(), envelope["sig"])
    readings = json.loads(envelope["payload"])["readings"]
    assert seal(key, envelope["gateway"], readings) == envelope
    for r in readings:
        READING_KINDS[r["kind"]].model_validate(r["values"])


def test_the_platform_accepts_the_documented_reading_and_envelope(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path}/doc.db", env="test")
    platform = Platform.from_settings(settings)
    try:

        def ingestor(example_time: str) -> Ingestor:
            when = parse_time_ns(example_time) / 1e9 + 60  # a minute after the example
            return Ingestor(platform.store, None, settings, platform.registry, clock=lambda: when)

        pos = Position(lat=52.08, lon=4.31)
        register = platform.registry.register
        register("iz-wx-01", kind=DeviceKind.WEATHER, position=pos, agency="municipality",
                 public_key=key_line("public"))  # fmt: skip
        m = re.search(r"\(private\s+`([^`]+)`, public `([^`]+)`\)", TEXT)
        assert m
        for d in ("iz-cnt-01", "iz-cnt-02"):
            register(d, kind=DeviceKind.PEOPLE_COUNTER, position=pos, agency="municipality")
        register("iz-gw-01", kind=DeviceKind.GATEWAY, position=pos, agency="municipality",
                 public_key=m.group(2), gateway_for=["iz-cnt-01", "iz-cnt-02"])  # fmt: skip
        signed = json.loads(block("reading"))
        first = ingestor(signed["time"]).ingest([signed]).as_dict()
        again = ingestor(signed["time"]).ingest([signed]).as_dict()
        assert json.dumps(first, separators=(",", ":")) in TEXT.replace(", ", ",").replace(
            ": ", ":"
        )
        assert (first["accepted"], again["duplicates"]) == (1, [0])
        envelope = json.loads(block("envelope"))
        first_time = json.loads(envelope["payload"])["readings"][0]["time"]
        result = ingestor(first_time).ingest([envelope])
        assert (result.accepted, result.rejected) == (2, [])
    finally:
        asyncio.run(platform.close())


def test_the_documented_answer_parses_and_names_real_reasons() -> None:
    answer = Answer.from_json(json.loads(block("answer")))
    assert [reason for _, reason, _ in answer.rejected] == [
        "bad_signature",
        "invalid_values",
        "replay",
    ]


def test_every_reason_code_is_explained() -> None:
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", block("reasons"), re.M))
    doc = InvalidReading.__doc__ or ""
    codes = set(re.findall(r"``([a-z_]+)``", doc.split("Codes:", 1)[1]))
    assert codes, "InvalidReading's docstring lists the codes"
    assert documented == codes | {"payload_too_large"}


@pytest.mark.parametrize("kind", sorted(READING_KINDS))
def test_every_kind_and_field_is_documented(kind: str) -> None:
    m = re.search(rf"^### `{kind}`:.*?(?=^## |^### |\Z)", TEXT, re.S | re.M)
    assert m, f"no section for {kind}"
    section = m.group(0)
    model = READING_KINDS[kind]
    fields = {f.alias or name for name, f in model.model_fields.items()}
    assert set(re.findall(r"^\| `([a-z_]+)` \|", section, re.M)) == fields
    for example in re.findall(r"`(\{.*?\})`", section):
        model.model_validate(json.loads(example))


def test_nothing_secret_but_the_rfc_test_vectors_is_in_the_document() -> None:
    # Only RFC 8032's published test keys may appear as private keys.
    assert key_line("private") == "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
    assert "TM0Imyj_ltqdtsNG7BFOD1uKMZ81q6Yk2oz27U-4pvs" in TEXT

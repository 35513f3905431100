"""Keyed pseudonyms: stable under one key, separate per context, not reversible without the
key, and a key file that is made safely in development and required in production."""

from __future__ import annotations

import ipaddress
import stat
from pathlib import Path

import pytest

from stadswacht.config import Settings
from stadswacht.errors import ConfigurationError
from stadswacht.privacy.pseudonym import (
    Pseudonymiser,
    pseudonymiser_from_settings,
    read_pseudonym_key,
)

KEY = b"k" * 32


def test_same_identifier_same_pseudonym_other_context_other_pseudonym() -> None:
    ip = Pseudonymiser(KEY, "ip")
    author = Pseudonymiser(KEY, "author")
    assert ip.pseudonym("192.0.2.10") == ip.pseudonym("192.0.2.10")
    assert ip.pseudonym("192.0.2.10") != ip.pseudonym("192.0.2.11")
    assert ip.pseudonym("192.0.2.10") != author.pseudonym("192.0.2.10").replace("author", "ip")
    assert ip.pseudonym("192.0.2.10").startswith("ps:ip:")
    assert len(ip.pseudonym("192.0.2.10")) == len("ps:ip:") + 32


def test_without_the_key_enumerating_addresses_finds_nothing() -> None:
    target = Pseudonymiser(KEY, "ip").pseudonym("192.0.2.77")
    guess = Pseudonymiser(b"g" * 32, "ip")  # an attacker's key: anything but the real one
    net = ipaddress.ip_network("192.0.2.0/24")
    assert target not in {guess.pseudonym(str(a)) for a in net}
    # ... while with the key the same enumeration would (which is why the key is held apart).
    assert target in {Pseudonymiser(KEY, "ip").pseudonym(str(a)) for a in net}


def test_none_and_pseudonyms_pass_through_unchanged() -> None:
    p = Pseudonymiser(KEY, "source")
    assert p(None) is None
    once = p("192.0.2.1")
    assert p(once) == once
    assert "k" * 32 not in repr(p)


def test_short_keys_and_bad_contexts_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="at least 32 bytes"):
        Pseudonymiser(b"short", "ip")
    with pytest.raises(ValueError, match="context"):
        Pseudonymiser(KEY, "IP address")


def test_development_generates_a_private_key_file_once(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "pseudonym.key"
    key = read_pseudonym_key(path, "development")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(key) >= 32
    assert read_pseudonym_key(path, "production") == key  # read back, not made again


def test_production_refuses_to_run_without_a_key_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="STADSWACHT_PSEUDONYM_KEY_FILE"):
        read_pseudonym_key(None, "production")
    with pytest.raises(ConfigurationError, match="does not exist"):
        read_pseudonym_key(tmp_path / "missing.key", "production")
    short = tmp_path / "short.key"
    short.write_text("0123\n")
    with pytest.raises(ConfigurationError, match="fewer than 32"):
        read_pseudonym_key(short, "production")


def test_tests_without_a_key_file_get_a_key_in_memory_only(tmp_path: Path) -> None:
    settings = Settings(env="test", database_url=f"sqlite:///{tmp_path}/t.db")
    p = pseudonymiser_from_settings(settings, "source")
    assert p.pseudonym("x").startswith("ps:source:")
    assert list(tmp_path.iterdir()) == []

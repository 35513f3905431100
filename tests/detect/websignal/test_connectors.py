"""Connectors: RSS and Atom through feedparser, JSON lines for replay; a bad item is reported,
the others are kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from stadswacht.detect.websignal.connectors import (
    get_feed,
    parse_feed,
    read_feed,
    read_feeds,
    read_jsonl,
)
from stadswacht.detect.websignal.post import InvalidPost
from stadswacht.errors import ConfigurationError

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "websignal"


def test_an_rss_file_gives_text_time_author_language_and_georss_point() -> None:
    items, meta = read_feed(FIXTURES / "feed.rss")
    assert meta["entries"] == 3 and meta["title"] == "Omroep Test Den Haag"
    first, second, third = items
    assert isinstance(first, dict) and isinstance(second, dict) and isinstance(third, dict)
    assert (
        first["text"]
        == "Brand bij het Malieveld Veel rook boven het Malieveld , meldt @jan_den_haag."
    )
    assert first["time"] == "2026-11-25T21:00:00.000000Z" and first["lang"] == "nl"
    assert first["id"] == "https://example.org/status/jan_den_haag/1"
    assert second["position"] == [4.317, 52.0825]
    assert third["time"] == "2026-11-25T21:05:00.000000Z"


def test_an_atom_file_reads_too_with_the_feeds_author() -> None:
    items, meta = get_feed(str(FIXTURES / "feed.atom"))
    assert meta["entries"] == 2
    assert items[0] == {
        "id": "urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a",
        "text": "Power outage at the World Forum Everything dark around the Churchillplein",
        "time": "2026-11-25T21:10:00.000000Z", "author": "@Omroep_Test", "lang": "en",
    }  # fmt: skip


def test_something_that_is_not_a_feed_is_refused() -> None:
    with pytest.raises(InvalidPost, match="bad_feed"):
        parse_feed(b"<html><body>not a feed")


def test_jsonl_replay_keeps_good_lines_and_reports_the_bad_one_by_line() -> None:
    items, meta = read_jsonl(FIXTURES / "posts.jsonl")
    assert meta["lines"] == 5
    bad = [i for i in items if isinstance(i, InvalidPost)]
    assert [b.reason for b in bad] == ["bad_json"] and "line 3" in bad[0].message
    assert [i["id"] for i in items if isinstance(i, dict)] == ["r1", "r2", "r3", "r4"]


def test_the_feeds_file_lists_allowed_feeds(tmp_path: Path) -> None:
    f = tmp_path / "feeds.yaml"
    f.write_text("feeds:\n  - {id: omroep-west, url: 'https://example.org/rss', interval_s: 60}\n")
    feeds, _ = read_feeds(f)
    assert feeds[0].id == "omroep-west" and feeds[0].interval_s == 60 and feeds[0].agency is None
    f.write_text("feeds:\n  - {id: Omroep West, url: x}\n")
    with pytest.raises(ConfigurationError, match=r"feeds\[0\].id 'Omroep West'"):
        read_feeds(f)

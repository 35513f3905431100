"""Connectors: posts from the feeds a deployment is allowed to use.

- RSS and Atom (:func:`parse_feed`, :func:`read_feed`, :func:`get_feed`), with feedparser; the
  feeds are listed in a YAML file (:func:`read_feeds`) and polled.
- JSON lines for replay (:func:`parse_jsonl`, :func:`read_jsonl`): one post object per line.
- The JSON push endpoint (``POST /v1/websignal/posts``) takes the same objects.

Each reader returns ``(items, metadata)``: an item is a post object (the fields of
:func:`stadswacht.detect.websignal.post.parse_post`) or, for an unreadable line or entry, an
:class:`~stadswacht.detect.websignal.post.InvalidPost`, so one bad item never loses the others.
Nothing here pseudonymises: the intake does, before anything is kept.

The feeds file::

    feeds:
      - id: omroep-west          # the source id the posts carry
        url: https://example.org/rss
        agency: municipality     # optional; default STADSWACHT_WEBSIGNAL_AGENCY
        interval_s: 300          # optional
"""

from __future__ import annotations

import calendar
import html
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import feedparser
import yaml

from stadswacht.detect.websignal.post import InvalidPost
from stadswacht.errors import ConfigurationError, TransportError

__all__ = [
    "FeedSpec",
    "get_feed",
    "parse_feed",
    "parse_jsonl",
    "read_feed",
    "read_feeds",
    "read_jsonl",
]

Item = dict[str, Any] | InvalidPost

_TAG = re.compile(r"<[^>]+>")
_SOURCE = re.compile(r"^[a-z0-9][a-z0-9_.:-]{0,63}$")


@dataclass(frozen=True, slots=True)
class FeedSpec:
    """One feed the deployment may read: its source id, URL (or file), owner and poll interval."""

    id: str
    url: str
    agency: str | None = None
    interval_s: float = 300.0


def _plain(text: str) -> str:
    return " ".join(html.unescape(_TAG.sub(" ", text)).split())


def _entry(e: Mapping[str, Any], feed: Mapping[str, Any]) -> Item:
    title = _plain(str(e.get("title") or ""))
    summary = _plain(str(e.get("summary") or ""))
    if title and summary and not summary.startswith(title):
        text = f"{title} {summary}"
    else:
        text = summary or title
    stamp = e.get("published_parsed") or e.get("updated_parsed")
    if not text:
        return InvalidPost("missing_field", "feed entry has neither title nor summary")
    if stamp is None:
        return InvalidPost("bad_time", f"feed entry {text[:40]!r} has no published/updated time")
    when = datetime.fromtimestamp(calendar.timegm(stamp), UTC)
    author = e.get("author") or feed.get("author") or feed.get("title") or "unknown"
    doc: dict[str, Any] = {
        "id": e.get("id") or e.get("link") or None,
        "text": text,
        "time": when.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "author": str(author),
    }
    lang = e.get("language") or feed.get("language")
    if isinstance(lang, str) and lang:
        doc["lang"] = lang.split("-")[0].lower()
    where = e.get("where")
    if isinstance(where, Mapping) and where.get("type") == "Point":
        lon, lat = where.get("coordinates", (None, None))[:2]
        doc["position"] = [lon, lat]
    return doc


def parse_feed(buffer: bytes | str) -> tuple[list[Item], dict[str, Any]]:
    """Posts from an RSS or Atom document: title and summary as text (HTML removed), the
    published (or updated) time, the entry's (or feed's) author, language and a GeoRSS point.

    Raises:
        InvalidPost: the document is not a feed at all (reason ``bad_feed``).
    """
    parsed = feedparser.parse(buffer)
    if parsed.get("bozo") and not parsed.get("entries"):
        raise InvalidPost("bad_feed", f"not an RSS/Atom feed: {parsed.get('bozo_exception')}")
    feed = parsed.get("feed", {})
    items = [_entry(e, feed) for e in parsed.get("entries", [])]
    meta = {"title": feed.get("title"), "version": parsed.get("version"), "entries": len(items)}
    return items, meta


def read_feed(path: str | Path) -> tuple[list[Item], dict[str, Any]]:
    """:func:`parse_feed` of a file (a saved feed, for replay and tests)."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise InvalidPost("bad_feed", f"cannot read feed file {p}: {exc.strerror}") from None
    items, meta = parse_feed(data)
    return items, {**meta, "source": str(p)}


def get_feed(url: str, *, timeout_s: float = 20.0) -> tuple[list[Item], dict[str, Any]]:
    """:func:`parse_feed` of a feed fetched over HTTP(S) (or read from ``file:`` / a path).

    Raises:
        TransportError: the feed cannot be fetched.
    """
    if "://" not in url or url.startswith("file://"):
        return read_feed(url.removeprefix("file://"))
    import httpx

    try:
        r = httpx.get(url, timeout=timeout_s, follow_redirects=True)
        r.raise_for_status()
    except httpx.HTTPError as exc:
        raise TransportError(f"cannot fetch feed {url}: {exc}") from exc
    items, meta = parse_feed(r.content)
    return items, {**meta, "source": url}


def parse_jsonl(text: str) -> tuple[list[Item], dict[str, Any]]:
    """One post object per line (blank lines skipped); a line that is not a JSON object becomes
    an :class:`InvalidPost` naming its line number."""
    items: list[Item] = []
    lines = 0
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        lines += 1
        try:
            doc = json.loads(line)
        except json.JSONDecodeError as exc:
            items.append(InvalidPost("bad_json", f"line {n}: {exc.msg} at column {exc.colno}"))
            continue
        if not isinstance(doc, dict):
            items.append(InvalidPost("not_an_object", f"line {n}: a post is a JSON object"))
            continue
        items.append(doc)
    return items, {"lines": lines}


def read_jsonl(path: str | Path) -> tuple[list[Item], dict[str, Any]]:
    """:func:`parse_jsonl` of a file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidPost("bad_file", f"cannot read {p}: {exc}") from None
    items, meta = parse_jsonl(text)
    return items, {**meta, "source": str(p)}


def read_feeds(path: str | Path) -> tuple[list[FeedSpec], dict[str, Any]]:
    """The feeds a deployment may read (see the module docstring).

    Raises:
        ConfigurationError: the file cannot be read or lists a feed wrongly.
    """
    p = Path(path)
    try:
        doc = yaml.safe_load(p.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigurationError(f"cannot read feeds file {p}: {exc}") from exc
    if not isinstance(doc, Mapping) or not isinstance(doc.get("feeds"), list):
        raise ConfigurationError(f"{p}: expected 'feeds:' with a list of feeds")
    out = []
    for i, f in enumerate(doc["feeds"]):
        if not isinstance(f, Mapping) or not isinstance(f.get("id"), str) or "url" not in f:
            raise ConfigurationError(f"{p}: feeds[{i}] needs an id and a url")
        if not _SOURCE.match(f["id"]):
            raise ConfigurationError(
                f"{p}: feeds[{i}].id {f['id']!r} must be lower-case letters, digits and _.:-"
            )
        interval = float(f.get("interval_s", 300.0))
        if interval < 30:
            raise ConfigurationError(f"{p}: feeds[{i}].interval_s must be at least 30 s")
        out.append(FeedSpec(f["id"], str(f["url"]), f.get("agency"), interval))
    return out, {"source": str(p)}

"""Posts: what a connector hands over, made safe on arrival.

A post is a short public text with a time, perhaps a language, a position or a place name, and
an author. Public posts are personal data (AVG/GDPR art. 4(1)); so on arrival, before anything
is stored or passed on, :func:`parse_post`

- replaces the author's handle by a keyed pseudonym (:class:`~stadswacht.privacy.pseudonym.
  Pseudonymiser`, context ``author``): the same author gives the same pseudonym, so a burst can
  count distinct authors, but the handle itself is never kept;
- replaces every ``@handle`` inside the text (and the place) by :data:`HANDLE_PLACEHOLDER`;
- replaces the source's own id of the post (often a URL with the handle in it) by a keyed
  pseudonym too (context ``post``), used as the post's id;
- drops every field it does not know (links, profile data, follower counts).

>>> scrub_handles("Brand bij @Vredespaleis? @jan_01 zegt rook, mail a@b.nl")
'Brand bij @user? @user zegt rook, mail a@b.nl'
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from stadswacht.errors import InvalidPost
from stadswacht.model import Position
from stadswacht.model.reading import format_epoch, parse_time_ns

__all__ = [
    "HANDLE_PLACEHOLDER",
    "ISO_639_1",
    "MAX_FUTURE_S",
    "MAX_TEXT_CHARS",
    "InvalidPost",
    "Post",
    "parse_post",
    "scrub_handles",
]

HANDLE_PLACEHOLDER = "@user"
"""What an ``@handle`` in a text becomes."""

MAX_TEXT_CHARS = 5000
"""Longest text accepted (a long blog item is cut to this, not refused)."""

_SOURCE = re.compile(r"^[a-z0-9][a-z0-9_.:-]{0,63}$")
_LANG = re.compile(r"^([a-z]{2})(?:[-_][a-z0-9]{2,8})*$")
"""An ISO 639-1 code, optionally with a region or script (``nl``, ``nl-NL``, ``en_GB``)."""

MAX_FUTURE_S = 300.0
"""A post stamped more than this far after it reached the platform is refused [s]: a clock
that is wrong, or a date that would keep it past its retention period."""
# @handle (Twitter/X, Instagram) and @user@instance.tld (Mastodon); not an e-mail address,
# whose @ follows a word character.
_HANDLE = re.compile(
    r"(?<![\w@.])@[A-Za-z0-9_](?:[A-Za-z0-9_.]{0,48}[A-Za-z0-9_])?(?:@[A-Za-z0-9.-]+\.[A-Za-z]{2,})?"
)


_ISO_639_1_CODES = (
    "aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv "
    "cy da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr "
    "ht hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw "
    "ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv "
    "ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr "
    "ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi "
    "yo za zh zu"
)
ISO_639_1 = frozenset(_ISO_639_1_CODES.split())
"""The two-letter language codes of ISO 639-1 (184, as the Library of Congress lists them)."""


def scrub_handles(text: str) -> str:
    """``text`` with every ``@handle`` replaced by :data:`HANDLE_PLACEHOLDER`."""
    return _HANDLE.sub(HANDLE_PLACEHOLDER, text)


class Post(BaseModel):
    """A post as the platform keeps it: pseudonymised, and annotated once geofenced and
    classified (``area``, ``relevant``, ``info_type``, ``keywords``).

    ``time_us`` is when it was posted, ``received_us`` when it reached the platform [µs since
    the Unix epoch]. ``author`` is a pseudonym (``ps:author:...``), never a handle.
    """

    model_config = ConfigDict(frozen=True)

    id: str = Field(description="Keyed pseudonym of the source's own id (ps:post:...)")
    source: str = Field(pattern=_SOURCE.pattern, description="The feed it came from")
    agency: str = Field(description="The agency that runs the feed (owner of the post)")
    time: str
    time_us: int
    received_us: int
    text: str = Field(max_length=MAX_TEXT_CHARS)
    lang: str | None = None
    position: Position | None = None
    place: str | None = Field(default=None, max_length=200)
    author: str = Field(pattern=r"^ps:author:[0-9a-f]{32}$")
    area: str | None = None
    located_by: str | None = Field(default=None, description="position, place or text")
    relevant: bool = False
    p_relevant: float = Field(default=0.0, ge=0, le=1)
    info_type: str = "not_related"
    p_type: float = Field(default=0.0, ge=0, le=1)
    keywords: tuple[str, ...] = Field(default=(), description="scenario:term hits")

    def as_doc(self) -> dict[str, Any]:
        """JSON-ready, with ``kind: "post"`` (what the API and the detector stage take)."""
        doc = self.model_dump(mode="json")
        doc["kind"] = "post"
        return doc


def _text(doc: Mapping[str, Any], key: str, *, required: bool, limit: int) -> str | None:
    value = doc.get(key)
    if value is None or (isinstance(value, str) and not value.strip() and not required):
        if required:
            raise InvalidPost("missing_field", f"a post needs {key!r} (a non-empty string)")
        return None
    if not isinstance(value, str) or not value.strip():
        raise InvalidPost(f"bad_{key}", f"{key!r} must be a non-empty string, got {value!r:.60}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidPost(
            f"bad_{key}", f"{key!r} is not valid Unicode (a lone surrogate)"
        ) from None
    value = " ".join(value.split())
    return value[:limit]


def _span(seconds: float) -> str:
    """``seconds`` in the unit a person reads best.

    >>> _span(90.0), _span(7200.0), _span(3 * 86400.0), _span(4 * 365.25 * 86400)
    ('2 min', '2.0 h', '3.0 days', '4.0 years')
    """
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 86400:
        return f"{seconds / 3600:.1f} h"
    if seconds < 365.25 * 86400:
        return f"{seconds / 86400:.1f} days"
    return f"{seconds / (365.25 * 86400):.1f} years"


def _position(value: Any) -> Position | None:
    if value is None:
        return None
    try:
        if isinstance(value, Mapping):
            lon, lat = float(value["lon"]), float(value["lat"])
        else:
            lon, lat = (float(v) for v in value)
    except (KeyError, TypeError, ValueError):
        raise InvalidPost(
            "bad_position", f"position must be [lon, lat] or {{lon, lat}}, got {value!r:.60}"
        ) from None
    if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
        raise InvalidPost("bad_position", f"({lon}, {lat}) is not a WGS84 (lon, lat) pair")
    return Position(lon=lon, lat=lat)


def parse_post(
    doc: Any,
    *,
    source: str,
    agency: str,
    received_us: int,
    author_pseudonym: Callable[[str], str],
    id_pseudonym: Callable[[str], str],
) -> Post:
    """Check one incoming post and make it safe to keep (see the module docstring).

    ``doc`` has ``text`` and ``time`` (RFC 3339 with an offset, at most :data:`MAX_FUTURE_S`
    after ``received_us``), ``author`` (a handle or name), and optionally ``id`` (the
    source's own), ``lang`` (ISO 639-1, perhaps with a region: ``nl-NL`` is kept as ``nl``),
    ``position`` (``[lon, lat]``) and ``place`` (a place name). Other fields are dropped.

    Raises:
        InvalidPost: the post is unusable; its ``reason`` says why.

    >>> from stadswacht.privacy.pseudonym import Pseudonymiser
    >>> a, i = Pseudonymiser(b"k" * 32, "author"), Pseudonymiser(b"k" * 32, "post")
    >>> p = parse_post({"text": "Rook bij @Malieveld!", "time": "2026-11-25T21:00:00Z",
    ...                 "author": "@Jan"}, source="rss-1", agency="municipality",
    ...                 received_us=1_795_640_400_000_000,
    ...                 author_pseudonym=a.pseudonym, id_pseudonym=i.pseudonym)
    >>> p.text, p.author == a.pseudonym("jan")
    ('Rook bij @user!', True)
    """
    if not isinstance(doc, Mapping):
        raise InvalidPost("not_an_object", f"a post is a JSON object, got {type(doc).__name__}")
    if not _SOURCE.match(source):
        raise ValueError(f"source id {source!r} must be lower-case letters, digits and _.:-")
    text = _text(doc, "text", required=True, limit=MAX_TEXT_CHARS)
    assert text is not None
    raw_time = doc.get("time")
    if not isinstance(raw_time, str):
        raise InvalidPost("missing_field", "a post needs 'time' (RFC 3339, e.g. ...T21:00:00Z)")
    try:
        time_ns = parse_time_ns(raw_time)
    except (ValueError, TypeError):
        raise InvalidPost(
            "bad_time",
            f"time {raw_time!r:.40} is not an RFC 3339 time with an offset, "
            "e.g. 2026-11-25T21:00:00Z",
        ) from None
    ahead_s = time_ns / 1e9 - received_us / 1e6
    if ahead_s > MAX_FUTURE_S:
        raise InvalidPost(
            "bad_time",
            f"time {raw_time!r:.40} is {_span(ahead_s)} after the post was received; a post "
            f"may be at most {MAX_FUTURE_S / 60:.0f} min in the future (check the source's clock)",
        )
    author = doc.get("author")
    if not isinstance(author, str) or not author.strip().lstrip("@"):
        raise InvalidPost("missing_field", "a post needs 'author' (a handle or name)")
    handle = author.strip().lstrip("@").casefold()
    lang = doc.get("lang")
    if lang is not None:
        code = _LANG.match(lang.strip().lower()) if isinstance(lang, str) else None
        if code is None or code.group(1) not in ISO_639_1:
            raise InvalidPost(
                "bad_lang",
                f"lang must be an ISO 639-1 code such as 'nl' or 'nl-NL', got {lang!r:.20}",
            )
        lang = code.group(1)
    place = _text(doc, "place", required=False, limit=200)
    native = doc.get("id")
    key = str(native) if native not in (None, "") else f"{handle}\x00{raw_time}\x00{text}"
    position = _position(doc.get("position"))
    try:
        return Post(
            id=id_pseudonym(f"{source}\x00{key}"),
            source=source,
            agency=agency,
            time=format_epoch(time_ns / 1e9),
            time_us=time_ns // 1000,
            received_us=received_us,
            text=scrub_handles(text),
            lang=lang,
            position=position,
            place=None if place is None else scrub_handles(place),
            author=author_pseudonym(handle),
        )
    except ValidationError as exc:  # a value the checks above let through
        raise InvalidPost("bad_post", str(exc.errors()[0]["msg"])) from None

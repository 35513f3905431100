"""An Atom 1.0 feed (RFC 4287) that lists CAP alerts, as CAP alert hubs publish them.

The layout follows the CAP feed practice of alert hubs (the WMO alert hub, Google Public
Alerts): one ``<entry>`` per alert that links to the CAP document, with

- ``id``: the alert's URL (``alert_url(alert)``), stable for the life of that message;
- ``title``: the headline (else the event) of the chosen info;
- ``updated`` and ``published``: the alert's ``sent``;
- ``author/name``: the info's ``senderName``, else the alert's ``sender``;
- ``link rel="alternate" type="application/cap+xml"``: the CAP document itself;
- ``summary``: the description (else the headline);
- ``category``: one ``term`` per CAP category (``Met``, ``Safety``, ...);
- optionally ``content type="application/cap+xml"`` with the alert inline (``embed=True``),
  which lets readers such as capparselib take the alerts straight out of the feed.

The feed carries ``id`` (``feed_url``), ``title``, ``updated`` (the newest ``sent``, or the
``updated`` given), a ``link rel="self"`` and ``generator``. Entries are newest first.
Atom times are RFC 3339 with the alert's own offset.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from lxml import etree

from stadswacht.alerting.cap import Alert, Info, to_xml
from stadswacht.errors import CapError

__all__ = ["ATOM_NS", "CAP_MIME", "atom_feed"]

ATOM_NS = "http://www.w3.org/2005/Atom"
"""The XML namespace of Atom 1.0."""
CAP_MIME = "application/cap+xml"
"""The media type CAP documents are served and linked with."""

_A = f"{{{ATOM_NS}}}"


def _sub(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
    element = etree.SubElement(parent, _A + name)
    if text is not None:
        element.text = text
    return element


def _when(value: datetime) -> str:
    return value.isoformat(timespec="seconds")


def _pick(alert: Alert, language: str | None) -> Info | None:
    for info in alert.infos:
        if language is None or info.language.lower().startswith(language.lower()):
            return info
    return alert.infos[0] if alert.infos else None


def atom_feed(
    alerts: Sequence[Alert],
    *,
    feed_url: str,
    alert_url: Callable[[Alert], str],
    title: str,
    updated: datetime | None = None,
    language: str | None = None,
    embed: bool = False,
    generator: str = "Stadswacht",
) -> bytes:
    """Write an Atom 1.0 feed listing ``alerts``, newest first.

    Args:
        alerts: The alerts to list (each one already validated by :func:`to_xml` when
            ``embed`` is set; otherwise only their summary goes in the feed).
        feed_url: Where the feed is published; its ``id`` and ``rel="self"`` link.
        alert_url: Gives the URL of an alert's CAP document, e.g.
            ``lambda a: f"https://example.nl/cap/alerts/{a.identifier}.xml"``.
        title: The feed's title.
        updated: The feed's ``updated``; default the newest ``sent``. Needed when
            ``alerts`` is empty (Atom requires it).
        language: Take title and summary from the info in this language (prefix match,
            ``"nl"`` matches ``nl-NL``); default the first info.
        embed: Put each whole alert in ``<content type="application/cap+xml">``.
        generator: The ``<generator>`` text.

    Raises:
        CapError: When ``alerts`` is empty and no ``updated`` is given, or an embedded
            alert fails validation.

    Example:
        >>> atom_feed([], feed_url="https://x.nl/cap/feed.atom", alert_url=str,
        ...           title="Stadswacht")
        Traceback (most recent call last):
        ...
        stadswacht.errors.CapError: feed-no-updated: an empty feed needs updated=...
    """
    if updated is None:
        if not alerts:
            raise CapError("feed-no-updated: an empty feed needs updated=...")
        updated = max(a.sent for a in alerts)
    feed = etree.Element(_A + "feed", nsmap={None: ATOM_NS})  # type: ignore[dict-item]
    _sub(feed, "id", feed_url)
    _sub(feed, "title", title)
    _sub(feed, "updated", _when(updated))
    _sub(feed, "link").attrib.update(
        {"rel": "self", "type": "application/atom+xml", "href": feed_url}
    )
    _sub(feed, "generator", generator)
    for alert in sorted(alerts, key=lambda a: a.sent, reverse=True):
        info = _pick(alert, language)
        url = alert_url(alert)
        entry = _sub(feed, "entry")
        _sub(entry, "id", url)
        headline = None if info is None else info.headline or info.event
        _sub(entry, "title", headline or f"{alert.msg_type.value} {alert.identifier}")
        _sub(entry, "updated", _when(alert.sent))
        _sub(entry, "published", _when(alert.sent))
        author = _sub(entry, "author")
        _sub(author, "name", (info.sender_name if info else None) or alert.sender)
        _sub(entry, "link").attrib.update({"rel": "alternate", "type": CAP_MIME, "href": url})
        for category in () if info is None else info.category:
            _sub(entry, "category").set("term", category.value)
        summary = None if info is None else info.description or info.headline
        if summary is not None:
            _sub(entry, "summary", summary)
        if embed:
            content = _sub(entry, "content")
            content.set("type", CAP_MIME)
            content.append(etree.fromstring(to_xml(alert)))
    xml: bytes = etree.tostring(feed, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return xml

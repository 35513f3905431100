"""The Atom feed of CAP alerts, and the real feeds from other hubs."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import capparselib
import pytest
from capparselib.parsers import CAPParser
from lxml import etree

from stadswacht.alerting import (
    ATOM_NS,
    CAP_MIME,
    Alert,
    MsgType,
    Status,
    atom_feed,
    cancel,
    parse_alerts,
    update,
)
from stadswacht.errors import CapError
from tests.alerting.factories import AMS, FIXTURES, alert

A = f"{{{ATOM_NS}}}"
BASE = "https://stadswacht.example.nl"
ATOM_XSD = etree.XMLSchema(etree.parse(str(Path(capparselib.__file__).parent / "schema/atom.xsd")))


def url(a: Alert) -> str:
    return f"{BASE}/cap/alerts/{a.identifier}.xml"


def three() -> list[Alert]:
    first = alert()
    second = update(first, identifier="sw-2026-0002", sent=first.sent + timedelta(minutes=30))
    other = alert(identifier="sw-2026-0010", status=Status.TEST)
    return [first, second, other]


def feed(alerts: list[Alert], **options: object) -> etree._Element:
    xml = atom_feed(
        alerts,
        feed_url=f"{BASE}/cap/feed.atom",
        alert_url=url,
        title="Stadswacht waarschuwingen",
        **options,  # type: ignore[arg-type]
    )
    assert xml.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    root = etree.fromstring(xml)
    assert ATOM_XSD.validate(etree.ElementTree(root)), ATOM_XSD.error_log
    return root


def test_feed_lists_each_alert_with_its_cap_link_newest_first() -> None:
    alerts = three()
    root = feed(alerts)
    assert root.findtext(A + "id") == f"{BASE}/cap/feed.atom"
    assert root.findtext(A + "updated") == "2026-11-26T03:15:12+01:00"
    self_link = root.find(A + "link")
    assert self_link is not None and self_link.get("rel") == "self"
    entries = root.findall(A + "entry")
    assert [e.findtext(A + "id") for e in entries] == [
        f"{BASE}/cap/alerts/sw-2026-0002.xml",
        f"{BASE}/cap/alerts/sw-2026-0001.xml",
        f"{BASE}/cap/alerts/sw-2026-0010.xml",
    ]
    entry = entries[1]
    link = entry.find(A + "link")
    assert link is not None
    assert {k: str(v) for k, v in link.attrib.items()} == {
        "rel": "alternate",
        "type": CAP_MIME,
        "href": url(alerts[0]),
    }
    assert entry.findtext(A + "title") == "Hoogwater verwacht aan de Maasboulevard"
    assert entry.findtext(A + "updated") == "2026-11-26T02:45:12+01:00"
    assert entry.findtext(f"{A}author/{A}name") == "Stadswacht Rotterdam"
    assert entry.findtext(A + "summary", "").startswith("Waterstand Hoek van Holland")
    assert [c.get("term") for c in entry.findall(A + "category")] == ["Met", "Safety"]


def test_language_picks_the_english_info() -> None:
    entry = feed(three(), language="en").find(A + "entry")
    assert entry is not None
    assert entry.findtext(A + "title") == "High water expected at the Maasboulevard"


def test_a_cancel_without_info_still_has_a_title_and_author() -> None:
    first = alert()
    gone = cancel(first, identifier="sw-2026-0003", sent=first.sent + timedelta(hours=2))
    entry = feed([gone]).find(A + "entry")
    assert entry is not None
    assert entry.findtext(A + "title") == "Cancel sw-2026-0003"
    assert entry.findtext(f"{A}author/{A}name") == first.sender


def test_embedded_alerts_are_read_back_by_us_and_by_capparselib() -> None:
    alerts = three()
    root = feed(alerts, embed=True)
    xml = etree.tostring(root, encoding="UTF-8")
    assert parse_alerts(xml) == sorted(alerts, key=lambda a: a.sent, reverse=True)
    theirs = CAPParser(xml.decode("utf-8")).as_dict()
    assert [str(a["cap_id"]) for a in theirs] == ["sw-2026-0002", "sw-2026-0001", "sw-2026-0010"]
    assert str(theirs[0]["cap_message_type"]) == MsgType.UPDATE.value


def test_an_empty_feed_needs_updated() -> None:
    with pytest.raises(CapError, match="feed-no-updated"):
        feed([])
    root = feed([], updated=datetime(2026, 11, 26, 3, tzinfo=AMS))
    assert root.findall(A + "entry") == []


def test_an_invalid_alert_is_not_embedded() -> None:
    with pytest.raises(CapError, match="identifier-invalid"):
        feed([replace(alert(), identifier="sw 1")], embed=True)


@pytest.mark.parametrize(
    ("name", "entries"),
    [("real_capparselib_amber.atom.xml", 1), ("real_capparselib_sweden.atom.xml", 4)],
)
def test_real_cap_feeds_parse_as_atom(name: str, entries: int) -> None:
    root = etree.fromstring((FIXTURES / name).read_bytes())
    assert root.tag == A + "feed"
    found = root.findall(A + "entry")
    assert len(found) == entries
    assert all(e.findtext(A + "id") and e.findtext(A + "updated") for e in found)


def test_capparselib_reads_the_amber_feed_but_not_the_swedish_one() -> None:
    amber = CAPParser((FIXTURES / "real_capparselib_amber.atom.xml").read_text("utf-8"))
    assert str(amber.as_dict()[0]["cap_id"]) == "http://doj.dc.gov/amber12345"
    # krisinformation.se puts loose cap:* elements in each entry, which capparselib's Atom
    # schema refuses; the feed is still well-formed Atom (test above).
    with pytest.raises(Exception, match="objectifying"):
        CAPParser((FIXTURES / "real_capparselib_sweden.atom.xml").read_text("utf-8"))

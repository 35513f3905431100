"""The CAP 1.2 model: XML out, XML in, Updates and Cancels, and the real samples."""

from __future__ import annotations

import base64
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from capparselib.parsers import CAPParser
from lxml import etree

from stadswacht.alerting import (
    CAP_NS,
    LANG_EN,
    LANG_NL,
    Area,
    Circle,
    MsgType,
    Reference,
    Resource,
    cancel,
    format_time,
    parse_alerts,
    parse_cap,
    parse_time,
    to_xml,
    update,
    validate,
)
from stadswacht.alerting.validate import schema
from stadswacht.errors import CapError
from tests.alerting.factories import AMS, FIXTURES, QUAY, SENDER, alert, info

SINGLE = sorted(
    p for p in FIXTURES.glob("*.xml") if not p.name.endswith(".atom.xml") and "rfs" not in p.name
)
Q = f"{{{CAP_NS}}}"


def independent_checks(xml: bytes) -> list[dict[str, object]]:
    """The OASIS XSD through plain lxml, and capparselib's own reading."""
    document = etree.fromstring(xml)
    assert schema().validate(etree.ElementTree(document)), schema().error_log
    return CAPParser(xml.decode("utf-8")).as_dict()  # type: ignore[no-any-return]


def test_bilingual_alert_with_polygon_and_circle_round_trips_and_validates() -> None:
    original = alert()
    xml = to_xml(original)
    assert parse_cap(xml) == original
    validate(xml)
    parsed = independent_checks(xml)
    assert len(parsed) == 1
    infos = parsed[0]["cap_info"]
    assert isinstance(infos, list)
    assert [str(i["cap_language"]) for i in infos] == [LANG_NL, LANG_EN]
    assert str(parsed[0]["cap_id"]) == "sw-2026-0001"
    areas = infos[0]["cap_area"]
    assert str(areas[0]["polygons"][0]).startswith("51.9175,4.4951 ")
    assert str(areas[0]["circles"][0]) == "51.9094,4.4868 0.5"
    # the same areas in both languages
    assert original.infos[0].areas == original.infos[1].areas


def test_times_have_an_offset_and_no_fraction() -> None:
    xml = to_xml(alert()).decode()
    assert "<sent>2026-11-26T02:45:12+01:00</sent>" in xml  # microseconds dropped
    assert "<effective>2026-11-26T03:00:00+01:00</effective>" in xml
    summer = datetime(2026, 7, 1, 12, tzinfo=AMS)
    assert format_time(summer) == "2026-07-01T12:00:00+02:00"


def test_utc_is_written_minus_zero_as_cap_section_3_3_2_requires() -> None:
    xml = to_xml(alert(sent=datetime(2026, 11, 26, 1, 45, tzinfo=UTC))).decode()
    assert "<sent>2026-11-26T01:45:00-00:00</sent>" in xml
    assert parse_time("2026-11-26T01:45:00+00:00") == parse_time("2026-11-26T01:45:00-00:00")


def test_offsets_west_of_greenwich_and_in_minutes() -> None:
    assert format_time(datetime(2026, 1, 1, tzinfo=timezone(-timedelta(hours=5)))).endswith(
        "-05:00"
    )
    india = timezone(timedelta(hours=5, minutes=30))
    assert format_time(datetime(2026, 1, 1, tzinfo=india)).endswith("+05:30")


def test_sent_without_offset_is_refused() -> None:
    with pytest.raises(CapError, match="naive-datetime"):
        alert(sent=datetime(2026, 11, 26, 2, 45))
    with pytest.raises(CapError, match="naive-datetime"):
        parse_time("2026-11-26T02:45:00")


def test_element_order_is_the_xsd_order() -> None:
    root = etree.fromstring(to_xml(alert()))
    names = [etree.QName(c).localname for c in root if etree.QName(c).localname != "info"]
    assert names == ["identifier", "sender", "sent", "status", "msgType", "source", "scope", "code"]
    first = root.find(Q + "info")
    assert first is not None
    assert [etree.QName(c).localname for c in first][:9] == [
        "language",
        "category",
        "category",
        "event",
        "responseType",
        "responseType",
        "urgency",
        "severity",
        "certainty",
    ]


def test_optional_parts_round_trip() -> None:
    high = Area(
        "hoog",
        polygons=[list(QUAY)],  # type: ignore[arg-type]  # lists are taken, stored as tuples
        circles=[(51.9, 4.4, 0.0)],  # type: ignore[arg-type]
        altitude=0.0,
        ceiling=1000.5,
    )
    assert isinstance(high.circles[0], Circle) and high.polygons == (QUAY,)
    rich = replace(
        info(),
        audience="bewoners",
        resources=(Resource("kaart", "image/png", 1234, "https://x.example/k.png", None, "ab12"),),
        areas=(high,),
    )
    original = alert(note="oefening", incidents="sw-inc-7", infos=(rich,))
    xml = to_xml(original)
    assert parse_cap(xml) == original
    independent_checks(xml)


def test_update_and_cancel_reference_the_chain() -> None:
    first = alert()
    later = first.sent + timedelta(minutes=30)
    second = update(first, identifier="sw-2026-0002", sent=later)
    third = cancel(
        second, identifier="sw-2026-0003", sent=later + timedelta(hours=1), note="Waterstand daalt"
    )
    assert second.msg_type is MsgType.UPDATE and third.msg_type is MsgType.CANCEL
    assert second.references == (Reference.to(first),)
    assert third.references == (Reference.to(first), Reference.to(second))
    assert third.infos == ()
    for message in (second, third):
        xml = to_xml(message)
        assert parse_cap(xml) == message
        independent_checks(xml)
    text = etree.fromstring(to_xml(third)).findtext(Q + "references")
    assert text == (
        f"{SENDER},sw-2026-0001,2026-11-26T02:45:12+01:00 "
        f"{SENDER},sw-2026-0002,2026-11-26T03:15:12+01:00"
    )


def test_a_malformed_reference_is_refused() -> None:
    with pytest.raises(CapError, match="reference-malformed"):
        Reference.parse("sender,identifier")


def test_to_xml_refuses_an_invalid_alert() -> None:
    broken = alert(identifier="sw 1")
    with pytest.raises(CapError) as caught:
        to_xml(broken)
    assert any(p.startswith("identifier-invalid") for p in caught.value.problems)


@pytest.mark.parametrize("path", SINGLE, ids=lambda p: p.name)
def test_real_samples_parse_validate_and_round_trip(path: Path) -> None:
    xml = path.read_bytes()
    validate(xml)
    parsed = parse_cap(xml)
    assert parse_cap(to_xml(parsed)) == parsed
    theirs = CAPParser(xml.decode("utf-8")).as_dict()
    assert str(theirs[0]["cap_id"]) == parsed.identifier
    assert len(theirs[0]["cap_info"]) == len(parsed.infos)


def test_real_canadian_update_keeps_its_nine_references() -> None:
    parsed = parse_cap((FIXTURES / "real_capparselib_canada_signed.cap.xml").read_bytes())
    assert parsed.msg_type is MsgType.UPDATE
    assert len(parsed.references) == 9
    assert parsed.references[0].identifier == "2.49.0.1.124.726d2331.2013"
    assert parsed.restriction is None  # <restriction /> reads as absent
    assert [i.language for i in parsed.infos] == ["en-CA", "fr-CA"]


def test_wrapped_alerts_are_found_and_cap_11_is_not_read() -> None:
    edxl = (FIXTURES / "real_capparselib_rfs.xml").read_bytes()
    alerts = parse_alerts(edxl)
    assert len(alerts) == 1 and alerts[0].sender == "webmaster@rfs.nsw.gov.au"
    validate(to_xml(alerts[0]))
    amber = (FIXTURES / "real_capparselib_amber.atom.xml").read_bytes()
    assert parse_alerts(amber) == []  # its alert is CAP 1.1
    with pytest.raises(CapError, match="not-cap12"):
        parse_cap(amber)


def _signature_value(xml: bytes) -> bytes:
    found = re.search(rb"<ds:SignatureValue>(.*?)</ds:SignatureValue>", xml, re.S)
    assert found is not None
    return found.group(1).strip()


@pytest.mark.parametrize("country", ["sc", "tg"])
def test_invalid_signature_samples_differ_only_in_a_non_canonical_base64_character(
    country: str,
) -> None:
    """What the ``*_invalid_signature`` samples are: the same CAP, a re-spelled signature.

    The files are byte-identical to the signed ones except the last character of
    ``<ds:SignatureValue>``; that character only changes padding bits, so the signature bytes
    decode the same. Only a verifier that insists on canonical base64 can tell them apart.
    For CAP they are both valid and both read the same.
    """
    good = (FIXTURES / f"real_wmo_{country}_valid_signed.xml").read_bytes()
    bad = (FIXTURES / f"real_wmo_{country}_invalid_signature.xml").read_bytes()
    good_sig, bad_sig = _signature_value(good), _signature_value(bad)
    assert good.replace(good_sig, b"") == bad.replace(bad_sig, b"")
    assert good_sig != bad_sig
    assert base64.b64decode(good_sig) == base64.b64decode(bad_sig)
    assert base64.b64encode(base64.b64decode(bad_sig)) == good_sig  # only good is canonical
    assert parse_cap(good) == parse_cap(bad)


@pytest.mark.parametrize(
    ("xml", "code"),
    [
        (b"<alert", "not-xml"),
        (to_xml(alert()).replace(b"<severity>Severe", b"<severity>Bad"), "bad-value"),
        (to_xml(alert()).replace(b"51.9094,4.4868 0.5", b"51.9094,4.4868"), "bad-geometry"),
        (to_xml(alert()).replace(b"<identifier>sw-2026-0001</identifier>", b""), "missing-element"),
        (to_xml(alert()).replace(b"02:45:12+01:00</sent>", b"02:45:12</sent>"), "naive-datetime"),
    ],
    ids=["not-xml", "enum", "circle", "identifier", "sent"],
)
def test_unreadable_input_becomes_cap_error(xml: bytes, code: str) -> None:
    with pytest.raises(CapError, match=f"^{code}"):
        parse_cap(xml)

"""The validator: the OASIS schema plus one failing example per semantic rule."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from stadswacht.alerting import Area, Circle, MsgType, Scope, to_xml, validate
from stadswacht.errors import CapError
from tests.alerting.factories import FIXTURES, QUAY, alert, info

GOOD = to_xml(alert())


def problems(xml: bytes) -> list[str]:
    with pytest.raises(CapError) as caught:
        validate(xml)
    return caught.value.problems


def codes(xml: bytes) -> set[str]:
    return {p.split(":")[0] for p in problems(xml)}


def with_area(area: Area) -> bytes:
    return to_xml(alert(infos=(replace(info(), areas=(area,)),)), check=False)


def swap(old: str, new: str, xml: bytes = GOOD) -> bytes:
    assert old.encode() in xml
    return xml.replace(old.encode(), new.encode())


def test_the_factory_alert_is_valid() -> None:
    validate(GOOD)


CASES: list[tuple[str, bytes, str]] = [
    ("identifier with a space", swap("sw-2026-0001", "sw 2026 0001"), "identifier-invalid"),
    ("identifier with a comma", swap("sw-2026-0001", "sw,0001"), "identifier-invalid"),
    ("identifier with <", swap("sw-2026-0001", "sw&lt;1"), "identifier-invalid"),
    ("identifier with &", swap("sw-2026-0001", "sw&amp;1"), "identifier-invalid"),
    ("sender with a space", swap("alerts@stadswacht", "alerts @stadswacht"), "sender-invalid"),
    (
        "sent without offset",
        swap("<sent>2026-11-26T02:45:12+01:00", "<sent>2026-11-26T02:45:12"),
        "sent-no-offset",
    ),
    (
        "sent with Z",
        swap("<sent>2026-11-26T02:45:12+01:00", "<sent>2026-11-26T01:45:12Z"),
        "sent-no-offset",
    ),
    (
        "expires without offset",
        swap("<expires>2026-11-26T12:00:00+01:00", "<expires>2026-11-26T12:00:00"),
        "time-no-offset",
    ),
    (
        "expires not a time",
        swap("<expires>2026-11-26T12:00:00+01:00", "<expires>tomorrow"),
        "time-invalid",
    ),
    (
        "expires before effective",
        swap("<expires>2026-11-26T12:00:00+01:00", "<expires>2026-11-26T02:00:00+01:00"),
        "expires-not-after-effective",
    ),
    (
        "expires before sent, no effective",
        to_xml(
            alert(infos=(replace(info(), effective=None, onset=None, expires=alert().sent),)),
            check=False,
        ),
        "expires-not-after-effective",
    ),
    (
        "onset after expires",
        swap("<onset>2026-11-26T05:30:00+01:00", "<onset>2026-11-26T13:30:00+01:00"),
        "onset-after-expires",
    ),
    (
        "update without references",
        to_xml(alert(msg_type=MsgType.UPDATE), check=False),
        "references-missing",
    ),
    (
        "cancel without references",
        to_xml(alert(msg_type=MsgType.CANCEL), check=False),
        "references-missing",
    ),
    (
        "reference with two parts",
        swap(
            "<code>profile:stadswacht:0.1</code>",
            "<code>profile:stadswacht:0.1</code><references>a@b.nl,sw-1</references>",
        ),
        "reference-malformed",
    ),
    (
        "reference with a bad time",
        swap(
            "<code>profile:stadswacht:0.1</code>",
            "<code>profile:stadswacht:0.1</code><references>a@b.nl,sw-1,2026-11-26</references>",
        ),
        "reference-malformed",
    ),
    (
        "restricted without restriction",
        to_xml(alert(scope=Scope.RESTRICTED), check=False),
        "restriction-missing",
    ),
    (
        "private without addresses",
        to_xml(alert(scope=Scope.PRIVATE), check=False),
        "addresses-missing",
    ),
    ("alert without info", to_xml(alert(infos=()), check=False), "info-missing"),
    ("info without language", swap("<language>nl-NL</language>", ""), "language-missing"),
    (
        "two infos alike",
        to_xml(alert(infos=(info(), info())), check=False),
        "info-duplicate",
    ),
    (
        "polygon of three points",
        with_area(Area("x", polygons=(QUAY[:2] + QUAY[:1],))),
        "polygon-too-few-points",
    ),
    ("polygon not closed", with_area(Area("x", polygons=(QUAY[:4],))), "polygon-not-closed"),
    (
        "latitude out of range",
        with_area(Area("x", polygons=(((91.0, 4.0), (51.0, 4.0), (51.0, 5.0), (91.0, 4.0)),))),
        "lat-out-of-range",
    ),
    (
        "longitude out of range",
        with_area(Area("x", circles=(Circle(51.0, 181.0, 1.0),))),
        "lon-out-of-range",
    ),
    ("point not numbers", swap("51.913,4.501 ", "51.913;4.501 "), "point-invalid"),
    ("circle without radius", swap("51.9094,4.4868 0.5", "51.9094,4.4868"), "circle-invalid"),
    (
        "circle radius not a number",
        swap("51.9094,4.4868 0.5", "51.9094,4.4868 wide"),
        "circle-invalid",
    ),
    (
        "negative radius",
        with_area(Area("x", circles=(Circle(51.9, 4.4, -1.0),))),
        "circle-negative-radius",
    ),
    ("unknown severity (schema)", swap("<severity>Severe", "<severity>Bad"), "xsd"),
    ("fractional seconds (schema)", swap("02:45:12+01:00", "02:45:12.5+01:00"), "xsd"),
]


@pytest.mark.parametrize(("xml", "code"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_rule_has_a_failing_example_with_its_code(xml: bytes, code: str) -> None:
    assert code in codes(xml)


def test_problem_text_says_where_and_which_value() -> None:
    found = problems(with_area(Area("x", polygons=(QUAY[:4],))))
    assert found == [
        "polygon-not-closed: info 1 area 1 polygon 1 first point 51.9175,4.4951 != last point "
        "51.913,4.501"
    ]


def test_every_problem_is_listed_at_once() -> None:
    xml = swap("sw-2026-0001", "sw 1", to_xml(alert(msg_type=MsgType.UPDATE), check=False))
    xml = swap("51.9094,4.4868 0.5", "51.9094,4.4868 -2", xml)
    with pytest.raises(CapError) as caught:
        validate(xml)
    found = {p.split(":")[0] for p in caught.value.problems}
    assert {"identifier-invalid", "references-missing", "circle-negative-radius"} <= found
    assert str(caught.value).startswith(f"{len(caught.value.problems)} problems in CAP alert")


def test_sent_without_offset_fails_the_schema_and_the_rule() -> None:
    found = codes(swap("<sent>2026-11-26T02:45:12+01:00", "<sent>2026-11-26T02:45:12"))
    assert found == {"xsd", "sent-no-offset"}


def test_not_xml_and_not_cap() -> None:
    assert codes(b"<alert") == {"not-xml"}
    assert codes(b"<alert xmlns='urn:oasis:names:tc:emergency:cap:1.1'/>") == {"not-cap12"}


def test_a_cancel_without_info_is_valid() -> None:
    xml = swap(
        "<code>profile:stadswacht:0.1</code>",
        "<code>profile:stadswacht:0.1</code><references>a@b.nl,sw-1,2026-11-26T01:00:00+01:00"
        "</references>",
        to_xml(alert(msg_type=MsgType.CANCEL, infos=()), check=False),
    )
    validate(xml)


def test_same_event_and_language_for_different_areas_is_fine() -> None:
    other = replace(info(), areas=(Area("Dordrecht", circles=(Circle(51.81, 4.67, 2.0),)),))
    validate(to_xml(alert(infos=(info(), other))))


@pytest.mark.parametrize(
    "path",
    sorted(p for p in FIXTURES.glob("real_*.xml") if "atom" not in p.name and "rfs" not in p.name),
    ids=lambda p: p.name,
)
def test_real_samples_are_valid(path: Path) -> None:
    validate(path.read_bytes())

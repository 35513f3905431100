"""Check a CAP 1.2 document against the OASIS schema and the rules the schema cannot express.

:func:`validate` collects every problem before it raises, so one :class:`CapError` lists all
that is wrong. Each problem starts with a stable code, then says where and with which value::

    polygon-not-closed: info 1 area 1 polygon 1 first point 52.1,4.3 != last point 52.2,4.3

Codes:

========================== ==============================================================
``xsd``                    the OASIS CAP-v1.2.xsd refuses the document (line and message)
``not-xml``                not well-formed XML (raised alone)
``not-cap12``              the root is not ``{urn:oasis:names:tc:emergency:cap:1.2}alert``
``identifier-invalid``     identifier empty or with whitespace, ``,``, ``<`` or ``&``
``sender-invalid``         the same for sender
``sent-no-offset``         sent without a time-zone offset (or with ``Z``)
``time-no-offset``         effective, onset or expires without an offset
``time-invalid``           a time that is not a date-time at all
``expires-not-after-effective`` expires at or before effective (or sent when no effective)
``onset-after-expires``    onset later than expires
``references-missing``     Update, Cancel, Ack or Error without references
``reference-malformed``    a references entry that is not ``sender,identifier,sent``
``restriction-missing``    scope Restricted without restriction (CAP 1.2 3.2.1)
``addresses-missing``      scope Private without addresses (CAP 1.2 3.2.1)
``info-missing``           Alert or Update without info
``language-missing``       an info without language
``info-duplicate``         two infos with the same language, event and areas
``polygon-too-few-points`` a polygon with fewer than 4 points
``polygon-not-closed``     first point != last point
``point-invalid``          a point that is not ``lat,lon`` numbers
``lat-out-of-range``       latitude outside [-90, 90]
``lon-out-of-range``       longitude outside [-180, 180]
``circle-invalid``         a circle that is not ``lat,lon radius``
``circle-negative-radius`` radius below 0
========================== ==============================================================
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any

from lxml import etree

from stadswacht.errors import CapError

__all__ = ["schema", "validate"]

_NS = "urn:oasis:names:tc:emergency:cap:1.2"
_Q = f"{{{_NS}}}"
_OFFSET = re.compile(r"[+-]\d\d:\d\d$")
_BAD_ID = re.compile(r"[\s,<&]")
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)


@cache
def schema() -> etree.XMLSchema:
    """The OASIS CAP 1.2 schema shipped with the package, loaded once."""
    path = resources.files("stadswacht.alerting") / "schema" / "CAP-v1.2.xsd"
    return etree.XMLSchema(etree.fromstring(path.read_bytes()))


def validate(xml: bytes) -> None:
    """Check a CAP 1.2 document against the OASIS XSD and the semantic rules.

    Args:
        xml: The document, as sent.

    Raises:
        CapError: With ``problems`` listing every problem found, each starting with its
            code (see the module docstring); the message gives the count and the first.

    Example:
        >>> try:
        ...     validate(b"<alert xmlns='urn:oasis:names:tc:emergency:cap:1.2'/>")
        ... except CapError as exc:
        ...     print(exc.problems[0].split(": ")[0], "/", exc.problems[0].split("(")[-1].strip())
        xsd / {urn:oasis:names:tc:emergency:cap:1.2}identifier ).
    """
    try:
        root = etree.fromstring(xml, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise CapError(f"not-xml: {exc}") from exc
    if root.tag != _Q + "alert":
        raise CapError(f"not-cap12: root element is {root.tag!r}, not a CAP 1.2 <alert>")
    xsd = schema()
    problems: list[str] = []
    if not xsd.validate(etree.ElementTree(root)):
        # lxml-stubs declare the error log opaque; at run time it is a list of entries
        log: list[Any] = list(xsd.error_log)  # type: ignore[call-overload]
        problems += [f"xsd: line {e.line}: {e.message}" for e in log]
    problems += _rules(root)
    if problems:
        first = problems[0] if len(problems) == 1 else f"first: {problems[0]}"
        label = "problem" if len(problems) == 1 else "problems"
        raise CapError(f"{len(problems)} {label} in CAP alert, {first}", problems)


def _text(el: etree._Element, name: str) -> str | None:
    child = el.find(_Q + name)
    if child is None or child.text is None:
        return None
    return child.text.strip()


def _time(
    problems: list[str], where: str, name: str, text: str | None, code: str = "time-no-offset"
) -> datetime | None:
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        problems.append(f"time-invalid: {where}{name} {text!r} is not a date-time")
        return None
    if text.endswith(("Z", "z")) or not _OFFSET.search(text) or value.tzinfo is None:
        problems.append(f"{code}: {where}{name} {text!r} has no numeric time-zone offset")
        return None
    return value


def _rules(root: etree._Element) -> list[str]:
    problems: list[str] = []
    for name in ("identifier", "sender"):
        value = _text(root, name)
        if value is not None and (not value or _BAD_ID.search(value)):
            problems.append(
                f"{name}-invalid: {name} {value!r} must not be empty nor hold spaces, ',', '<' "
                "or '&'"
            )
    sent = _time(problems, "", "sent", _text(root, "sent"), "sent-no-offset")
    msg_type = _text(root, "msgType")
    scope = _text(root, "scope")
    if scope == "Restricted" and not _text(root, "restriction"):
        problems.append("restriction-missing: scope Restricted needs a <restriction>")
    if scope == "Private" and not _text(root, "addresses"):
        problems.append("addresses-missing: scope Private needs <addresses>")
    references = (_text(root, "references") or "").split()
    if msg_type in ("Update", "Cancel", "Ack", "Error") and not references:
        problems.append(f"references-missing: msgType {msg_type} needs <references>")
    for n, ref in enumerate(references, 1):
        parts = ref.split(",")
        if len(parts) != 3 or not all(parts):
            problems.append(
                f"reference-malformed: reference {n} {ref!r} is not 'sender,identifier,sent'"
            )
        else:
            _time(problems, f"reference {n} ", "sent", parts[2], "reference-malformed")
    infos = root.findall(_Q + "info")
    if msg_type in ("Alert", "Update") and not infos:
        problems.append(f"info-missing: msgType {msg_type} needs at least one <info>")
    seen: dict[tuple[str, str, bytes], int] = {}
    for i, info in enumerate(infos, 1):
        problems += _info_rules(info, i, sent)
        language = _text(info, "language")
        if not language:
            problems.append(f"language-missing: info {i} has no <language>")
        areas = b"".join(etree.tostring(a, method="c14n") for a in info.findall(_Q + "area"))
        key = (language or "", _text(info, "event") or "", areas)
        if key in seen:
            problems.append(
                f"info-duplicate: info {i} repeats info {seen[key]} (language {key[0]!r}, "
                f"event {key[1]!r}, same areas)"
            )
        seen.setdefault(key, i)
    return problems


def _info_rules(info: etree._Element, i: int, sent: datetime | None) -> list[str]:
    problems: list[str] = []
    where = f"info {i} "
    effective = _time(problems, where, "effective", _text(info, "effective"))
    onset = _time(problems, where, "onset", _text(info, "onset"))
    expires = _time(problems, where, "expires", _text(info, "expires"))
    start = effective or sent
    if expires is not None and start is not None and expires <= start:
        what = "effective" if effective is not None else "sent"
        problems.append(
            f"expires-not-after-effective: {where}expires {expires.isoformat()} is not after "
            f"{what} {start.isoformat()}"
        )
    if onset is not None and expires is not None and onset > expires:
        problems.append(
            f"onset-after-expires: {where}onset {onset.isoformat()} is after expires "
            f"{expires.isoformat()}"
        )
    for a, area in enumerate(info.findall(_Q + "area"), 1):
        for p, polygon in enumerate(area.findall(_Q + "polygon"), 1):
            problems += _polygon(f"{where}area {a} polygon {p}", polygon.text or "")
        for c, circle in enumerate(area.findall(_Q + "circle"), 1):
            problems += _circle(f"{where}area {a} circle {c}", circle.text or "")
    return problems


def _point(problems: list[str], where: str, text: str) -> tuple[float, float] | None:
    try:
        lat_text, lon_text = text.split(",")
        lat, lon = float(lat_text), float(lon_text)
    except ValueError:
        problems.append(f"point-invalid: {where} point {text!r} is not 'lat,lon'")
        return None
    if not -90 <= lat <= 90:
        problems.append(f"lat-out-of-range: {where} latitude {lat} not in [-90, 90]")
    if not -180 <= lon <= 180:
        problems.append(f"lon-out-of-range: {where} longitude {lon} not in [-180, 180]")
    return lat, lon


def _polygon(where: str, text: str) -> list[str]:
    problems: list[str] = []
    tokens = text.split()
    points = [_point(problems, where, t) for t in tokens]
    if len(tokens) < 4:
        problems.append(f"polygon-too-few-points: {where} has {len(tokens)} points, needs 4")
    elif points[0] is not None and points[-1] is not None and points[0] != points[-1]:
        problems.append(
            f"polygon-not-closed: {where} first point {tokens[0]} != last point {tokens[-1]}"
        )
    return problems


def _circle(where: str, text: str) -> list[str]:
    problems: list[str] = []
    parts = text.split()
    if len(parts) != 2:
        return [f"circle-invalid: {where} {text!r} is not 'lat,lon radius'"]
    _point(problems, where, parts[0])
    try:
        radius = float(parts[1])
    except ValueError:
        return [*problems, f"circle-invalid: {where} radius {parts[1]!r} is not a number"]
    if not radius >= 0:
        problems.append(f"circle-negative-radius: {where} radius {radius} km is below 0")
    return problems

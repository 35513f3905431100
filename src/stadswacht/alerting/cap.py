"""The CAP 1.2 alert model, its XML form and a reader for any CAP 1.2 message.

Implements OASIS Common Alerting Protocol Version 1.2 (CAP-V1.2, 1 July 2010). The model is
a tree of frozen dataclasses that mirrors the standard: an :class:`Alert` holds one
:class:`Info` per language, an :class:`Info` holds :class:`Area` objects. Element and enum
names follow the standard; Python field names are their snake_case forms.

Times are timezone-aware :class:`~datetime.datetime` objects without microseconds (CAP's
``dateTime`` has no fractional seconds). :func:`to_xml` writes them with their own offset;
UTC is written ``-00:00`` because CAP 1.2 section 3.3.2 says "the timezone for UTC MUST be
represented as -00:00". :func:`parse_cap` reads ``+00:00`` too (the XSD allows both).

Bilingual alerts carry one :class:`Info` per language, tagged :data:`LANG_NL` (``nl-NL``)
and :data:`LANG_EN` (``en-GB``), with the same areas, as MeteoAlarm and KNMI do.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from lxml import etree

from stadswacht.alerting.validate import validate
from stadswacht.errors import CapError

__all__ = [
    "CAP_NS",
    "LANG_EN",
    "LANG_NL",
    "Alert",
    "Area",
    "Category",
    "Certainty",
    "Circle",
    "EventCode",
    "Geocode",
    "Info",
    "MsgType",
    "Parameter",
    "Reference",
    "Resource",
    "ResponseType",
    "Scope",
    "Severity",
    "Status",
    "Urgency",
    "ValuePair",
    "cancel",
    "format_time",
    "parse_alerts",
    "parse_cap",
    "parse_time",
    "to_xml",
    "update",
]

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
"""The XML namespace of CAP 1.2."""
LANG_NL = "nl-NL"
"""Language tag (RFC 3066) of the Dutch info block."""
LANG_EN = "en-GB"
"""Language tag (RFC 3066) of the English info block."""

_Q = f"{{{CAP_NS}}}"


class Status(StrEnum):
    """``<status>``: the handling of the alert."""

    ACTUAL = "Actual"
    EXERCISE = "Exercise"
    SYSTEM = "System"
    TEST = "Test"
    DRAFT = "Draft"


class MsgType(StrEnum):
    """``<msgType>``: the nature of the alert."""

    ALERT = "Alert"
    UPDATE = "Update"
    CANCEL = "Cancel"
    ACK = "Ack"
    ERROR = "Error"


class Scope(StrEnum):
    """``<scope>``: who the alert is for."""

    PUBLIC = "Public"
    RESTRICTED = "Restricted"
    PRIVATE = "Private"


class Category(StrEnum):
    """``<category>``: the category of the subject event."""

    GEO = "Geo"
    MET = "Met"
    SAFETY = "Safety"
    SECURITY = "Security"
    RESCUE = "Rescue"
    FIRE = "Fire"
    HEALTH = "Health"
    ENV = "Env"
    TRANSPORT = "Transport"
    INFRA = "Infra"
    CBRNE = "CBRNE"
    OTHER = "Other"


class ResponseType(StrEnum):
    """``<responseType>``: the action recommended to the audience."""

    SHELTER = "Shelter"
    EVACUATE = "Evacuate"
    PREPARE = "Prepare"
    EXECUTE = "Execute"
    AVOID = "Avoid"
    MONITOR = "Monitor"
    ASSESS = "Assess"
    ALL_CLEAR = "AllClear"
    NONE = "None"


class Urgency(StrEnum):
    """``<urgency>``: when to act."""

    IMMEDIATE = "Immediate"
    EXPECTED = "Expected"
    FUTURE = "Future"
    PAST = "Past"
    UNKNOWN = "Unknown"


class Severity(StrEnum):
    """``<severity>``: how bad."""

    EXTREME = "Extreme"
    SEVERE = "Severe"
    MODERATE = "Moderate"
    MINOR = "Minor"
    UNKNOWN = "Unknown"


class Certainty(StrEnum):
    """``<certainty>``: how sure."""

    OBSERVED = "Observed"
    LIKELY = "Likely"
    POSSIBLE = "Possible"
    UNLIKELY = "Unlikely"
    UNKNOWN = "Unknown"


# --- times -------------------------------------------------------------------------------


def _check_time(name: str, value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        raise CapError(
            f"naive-datetime: {name} {value.isoformat()} has no time-zone offset; "
            "CAP times need one, e.g. datetime(..., tzinfo=ZoneInfo('Europe/Amsterdam'))"
        )
    return value.replace(microsecond=0)


def format_time(value: datetime) -> str:
    """Write a CAP ``dateTime``: seconds precision, explicit offset, UTC as ``-00:00``.

    Example:
        >>> from datetime import timedelta, timezone
        >>> format_time(datetime(2026, 11, 26, 3, 0, 0, 500, tzinfo=timezone(timedelta(hours=1))))
        '2026-11-26T03:00:00+01:00'
        >>> format_time(datetime(2026, 11, 26, 2, 0, tzinfo=timezone.utc))
        '2026-11-26T02:00:00-00:00'
    """
    checked = _check_time("time", value)
    assert checked is not None
    offset = checked.utcoffset()
    assert offset is not None
    if offset % timedelta(minutes=1):
        raise CapError(f"offset-seconds: offset {offset} of {value} is not whole minutes")
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes <= 0 else "+"  # zero as "-00:00": CAP 1.2 section 3.3.2
    hours, mins = divmod(abs(minutes), 60)
    return f"{checked.strftime('%Y-%m-%dT%H:%M:%S')}{sign}{hours:02d}:{mins:02d}"


def parse_time(text: str) -> datetime:
    """Read a CAP ``dateTime``; refuses one without an offset.

    Example:
        >>> parse_time("2019-07-12T17:59:29-00:00").isoformat()
        '2019-07-12T17:59:29+00:00'
    """
    text = text.strip()
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise CapError(f"bad-datetime: {text!r} is not a CAP dateTime") from exc
    if value.tzinfo is None:
        raise CapError(f"naive-datetime: {text!r} has no time-zone offset")
    return value.replace(microsecond=0)


# --- values ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ValuePair:
    """A ``valueName``/``value`` pair: an eventCode, parameter or geocode."""

    value_name: str
    value: str


EventCode = ValuePair
Parameter = ValuePair
Geocode = ValuePair

Point = tuple[float, float]
"""A (lat, lon) point in WGS 84 [degrees]."""


@dataclass(frozen=True)
class Circle:
    """A circle: centre (lat, lon) in WGS 84 [degrees] and radius [km]."""

    lat: float
    lon: float
    radius_km: float


@dataclass(frozen=True)
class Reference:
    """One entry of ``<references>``: the sender, identifier and sent time of an earlier alert.

    Example:
        >>> Reference.parse("a@b.nl,SW-1,2026-11-26T03:00:00+01:00").format()
        'a@b.nl,SW-1,2026-11-26T03:00:00+01:00'
    """

    sender: str
    identifier: str
    sent: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "sent", _check_time("references sent", self.sent))

    def format(self) -> str:
        """The ``sender,identifier,sent`` form used inside ``<references>``."""
        return f"{self.sender},{self.identifier},{format_time(self.sent)}"

    @classmethod
    def parse(cls, text: str) -> Reference:
        """Read one ``sender,identifier,sent`` entry."""
        parts = text.split(",")
        if len(parts) != 3 or not all(parts):
            raise CapError(f"reference-malformed: {text!r} is not 'sender,identifier,sent'")
        return cls(parts[0], parts[1], parse_time(parts[2]))

    @classmethod
    def to(cls, alert: Alert) -> Reference:
        """The reference to ``alert``."""
        return cls(alert.sender, alert.identifier, alert.sent)


@dataclass(frozen=True)
class Resource:
    """``<resource>``: a file that goes with the info (an image, a map)."""

    resource_desc: str
    mime_type: str
    size: int | None = None
    uri: str | None = None
    deref_uri: str | None = None
    digest: str | None = None


@dataclass(frozen=True)
class Area:
    """``<area>``: where; polygons as closed rings of (lat, lon) [degrees], circles in km.

    Lists given for ``polygons``, ``circles`` or ``geocodes`` are stored as tuples.
    ``altitude`` and ``ceiling`` are in feet above sea level, as CAP says.
    """

    area_desc: str
    polygons: tuple[tuple[Point, ...], ...] = ()
    circles: tuple[Circle, ...] = ()
    geocodes: tuple[Geocode, ...] = ()
    altitude: float | None = None
    ceiling: float | None = None

    def __post_init__(self) -> None:
        polygons = tuple(tuple((float(p[0]), float(p[1])) for p in poly) for poly in self.polygons)
        object.__setattr__(self, "polygons", polygons)
        circles = tuple(c if isinstance(c, Circle) else Circle(*c) for c in self.circles)
        object.__setattr__(self, "circles", circles)
        object.__setattr__(self, "geocodes", tuple(self.geocodes))


@dataclass(frozen=True)
class Info:
    """``<info>``: the event in one language, for one set of areas."""

    category: tuple[Category, ...]
    event: str
    urgency: Urgency
    severity: Severity
    certainty: Certainty
    language: str = "en-US"  # the CAP default when <language> is absent
    response_type: tuple[ResponseType, ...] = ()
    audience: str | None = None
    event_codes: tuple[EventCode, ...] = ()
    effective: datetime | None = None
    onset: datetime | None = None
    expires: datetime | None = None
    sender_name: str | None = None
    headline: str | None = None
    description: str | None = None
    instruction: str | None = None
    web: str | None = None
    contact: str | None = None
    parameters: tuple[Parameter, ...] = ()
    resources: tuple[Resource, ...] = ()
    areas: tuple[Area, ...] = ()

    def __post_init__(self) -> None:
        category = (self.category,) if isinstance(self.category, str) else self.category
        object.__setattr__(self, "category", tuple(Category(c) for c in category))
        object.__setattr__(self, "urgency", Urgency(self.urgency))
        object.__setattr__(self, "severity", Severity(self.severity))
        object.__setattr__(self, "certainty", Certainty(self.certainty))
        object.__setattr__(
            self, "response_type", tuple(ResponseType(r) for r in self.response_type)
        )
        for name in ("effective", "onset", "expires"):
            object.__setattr__(self, name, _check_time(name, getattr(self, name)))
        for name in ("event_codes", "parameters", "resources", "areas"):
            object.__setattr__(self, name, tuple(getattr(self, name)))


@dataclass(frozen=True)
class Alert:
    """``<alert>``: one CAP 1.2 message.

    ``addresses`` and ``incidents`` keep CAP's space-delimited text as is.
    """

    identifier: str
    sender: str
    sent: datetime
    status: Status
    msg_type: MsgType
    scope: Scope
    source: str | None = None
    restriction: str | None = None
    addresses: str | None = None
    code: tuple[str, ...] = ()
    note: str | None = None
    references: tuple[Reference, ...] = ()
    incidents: str | None = None
    infos: tuple[Info, ...] = field(default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "sent", _check_time("sent", self.sent))
        object.__setattr__(self, "status", Status(self.status))
        object.__setattr__(self, "msg_type", MsgType(self.msg_type))
        object.__setattr__(self, "scope", Scope(self.scope))
        for name in ("code", "references", "infos"):
            object.__setattr__(self, name, tuple(getattr(self, name)))


def update(
    previous: Alert, *, identifier: str, sent: datetime, infos: Sequence[Info] | None = None
) -> Alert:
    """An Update of ``previous``: same sender, status and scope, referencing it.

    The references carry the whole chain (``previous.references`` and ``previous``), so a
    receiver that missed a message can still tie the update to the first alert.
    ``infos`` defaults to those of ``previous``.

    Example:
        >>> from datetime import timezone
        >>> first = Alert("sw-1", "x@y.nl", datetime(2026, 11, 26, 2, tzinfo=timezone.utc),
        ...               Status.ACTUAL, MsgType.ALERT, Scope.PUBLIC)
        >>> later = datetime(2026, 11, 26, 3, tzinfo=timezone.utc)
        >>> update(first, identifier="sw-2", sent=later).references[0].format()
        'x@y.nl,sw-1,2026-11-26T02:00:00-00:00'
    """
    return _follow_up(previous, MsgType.UPDATE, identifier, sent, infos, None)


def cancel(
    previous: Alert,
    *,
    identifier: str,
    sent: datetime,
    note: str | None = None,
    infos: Sequence[Info] = (),
) -> Alert:
    """A Cancel of ``previous``, referencing it (and the chain before it).

    CAP lets a Cancel carry no ``<info>``; pass ``infos`` to tell the public why.
    """
    return _follow_up(previous, MsgType.CANCEL, identifier, sent, infos, note)


def _follow_up(
    previous: Alert,
    msg_type: MsgType,
    identifier: str,
    sent: datetime,
    infos: Sequence[Info] | None,
    note: str | None,
) -> Alert:
    chain = [*previous.references, Reference.to(previous)]
    unique = tuple(dict.fromkeys(chain))
    return dataclasses.replace(
        previous,
        identifier=identifier,
        sent=sent,
        msg_type=msg_type,
        references=unique,
        note=note,
        infos=tuple(previous.infos if infos is None else infos),
    )


# --- writing -----------------------------------------------------------------------------


def _num(value: float) -> str:
    text = repr(float(value))
    if "e" in text or "inf" in text or "nan" in text:
        if not math.isfinite(value):
            return text
        text = f"{value:.12f}".rstrip("0").rstrip(".")
    return text.removesuffix(".0")


def _sub(parent: etree._Element, name: str, text: str | None) -> None:
    if text is not None:
        etree.SubElement(parent, _Q + name).text = text


def _pairs(parent: etree._Element, name: str, pairs: Sequence[ValuePair]) -> None:
    for pair in pairs:
        element = etree.SubElement(parent, _Q + name)
        _sub(element, "valueName", pair.value_name)
        _sub(element, "value", pair.value)


def _time(value: datetime | None) -> str | None:
    return None if value is None else format_time(value)


def _opt_num(value: float | None) -> str | None:
    return None if value is None else _num(value)


def _info_element(parent: etree._Element, info: Info) -> None:
    el = etree.SubElement(parent, _Q + "info")
    _sub(el, "language", info.language)
    for category in info.category:
        _sub(el, "category", category.value)
    _sub(el, "event", info.event)
    for response in info.response_type:
        _sub(el, "responseType", response.value)
    _sub(el, "urgency", info.urgency.value)
    _sub(el, "severity", info.severity.value)
    _sub(el, "certainty", info.certainty.value)
    _sub(el, "audience", info.audience)
    _pairs(el, "eventCode", info.event_codes)
    _sub(el, "effective", _time(info.effective))
    _sub(el, "onset", _time(info.onset))
    _sub(el, "expires", _time(info.expires))
    for name in ("sender_name", "headline", "description", "instruction", "web", "contact"):
        camel = "senderName" if name == "sender_name" else name
        _sub(el, camel, getattr(info, name))
    _pairs(el, "parameter", info.parameters)
    for resource in info.resources:
        res = etree.SubElement(el, _Q + "resource")
        _sub(res, "resourceDesc", resource.resource_desc)
        _sub(res, "mimeType", resource.mime_type)
        _sub(res, "size", None if resource.size is None else str(resource.size))
        _sub(res, "uri", resource.uri)
        _sub(res, "derefUri", resource.deref_uri)
        _sub(res, "digest", resource.digest)
    for area in info.areas:
        ar = etree.SubElement(el, _Q + "area")
        _sub(ar, "areaDesc", area.area_desc)
        for polygon in area.polygons:
            _sub(ar, "polygon", " ".join(f"{_num(lat)},{_num(lon)}" for lat, lon in polygon))
        for c in area.circles:
            _sub(ar, "circle", f"{_num(c.lat)},{_num(c.lon)} {_num(c.radius_km)}")
        _pairs(ar, "geocode", area.geocodes)
        _sub(ar, "altitude", _opt_num(area.altitude))
        _sub(ar, "ceiling", _opt_num(area.ceiling))


def to_xml(alert: Alert, *, check: bool = True) -> bytes:
    """Write ``alert`` as a CAP 1.2 document (UTF-8, XML declaration, elements in XSD order).

    Args:
        alert: The alert to write.
        check: Run :func:`stadswacht.alerting.validate.validate` on the result first, so
            that nothing invalid leaves; turn off only to build broken examples in tests.

    Raises:
        CapError: When the alert fails the OASIS schema or a rule; ``problems`` lists all.

    Example:
        >>> from datetime import timezone
        >>> alert = Alert("sw-1", "x@y.nl", datetime(2026, 11, 26, 2, tzinfo=timezone.utc),
        ...               Status.TEST, MsgType.ALERT, Scope.PUBLIC, infos=(Info(
        ...                   (Category.SAFETY,), "Test", Urgency.FUTURE, Severity.MINOR,
        ...                   Certainty.UNLIKELY),))
        >>> parse_cap(to_xml(alert)) == alert
        True
    """
    # CAP as the default namespace; lxml-stubs do not allow the None key lxml needs for it
    root = etree.Element(_Q + "alert", nsmap={None: CAP_NS})  # type: ignore[dict-item]
    _sub(root, "identifier", alert.identifier)
    _sub(root, "sender", alert.sender)
    _sub(root, "sent", format_time(alert.sent))
    _sub(root, "status", alert.status.value)
    _sub(root, "msgType", alert.msg_type.value)
    _sub(root, "source", alert.source)
    _sub(root, "scope", alert.scope.value)
    _sub(root, "restriction", alert.restriction)
    _sub(root, "addresses", alert.addresses)
    for code in alert.code:
        _sub(root, "code", code)
    _sub(root, "note", alert.note)
    if alert.references:
        _sub(root, "references", " ".join(r.format() for r in alert.references))
    _sub(root, "incidents", alert.incidents)
    for info in alert.infos:
        _info_element(root, info)
    xml: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    if check:
        validate(xml)
    return xml


# --- reading -----------------------------------------------------------------------------

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)


def _text(el: etree._Element, name: str) -> str | None:
    child = el.find(_Q + name)
    if child is None or child.text is None or not child.text.strip():
        return None
    return child.text.strip()


def _req(el: etree._Element, name: str) -> str:
    value = _text(el, name)
    if value is None:
        raise CapError(f"missing-element: <{name}> is required in <{etree.QName(el).localname}>")
    return value


def _texts(el: etree._Element, name: str) -> list[str]:
    return [c.text.strip() for c in el.findall(_Q + name) if c.text and c.text.strip()]


def _read_pairs(el: etree._Element, name: str) -> tuple[ValuePair, ...]:
    return tuple(
        ValuePair(_text(p, "valueName") or "", _text(p, "value") or "")
        for p in el.findall(_Q + name)
    )


def _opt_time(el: etree._Element, name: str) -> datetime | None:
    text = _text(el, name)
    return None if text is None else parse_time(text)


def _point(text: str) -> Point:
    lat, lon = text.split(",")
    return float(lat), float(lon)


def _read_area(el: etree._Element) -> Area:
    try:
        polygons = tuple(tuple(_point(p) for p in text.split()) for text in _texts(el, "polygon"))
        circles = []
        for text in _texts(el, "circle"):
            centre, radius = text.split()
            circles.append(Circle(*_point(centre), float(radius)))
        altitude, ceiling = _text(el, "altitude"), _text(el, "ceiling")
        return Area(
            area_desc=_req(el, "areaDesc"),
            polygons=polygons,
            circles=tuple(circles),
            geocodes=_read_pairs(el, "geocode"),
            altitude=None if altitude is None else float(altitude),
            ceiling=None if ceiling is None else float(ceiling),
        )
    except ValueError as exc:
        if isinstance(exc, CapError):
            raise
        raise CapError(f"bad-geometry: {exc}") from exc


def _read_info(el: etree._Element) -> Info:
    try:
        resources = []
        for r in el.findall(_Q + "resource"):
            size = _text(r, "size")
            resources.append(
                Resource(
                    resource_desc=_req(r, "resourceDesc"),
                    mime_type=_req(r, "mimeType"),
                    size=None if size is None else int(size),
                    uri=_text(r, "uri"),
                    deref_uri=_text(r, "derefUri"),
                    digest=_text(r, "digest"),
                )
            )
        return Info(
            language=_text(el, "language") or "en-US",
            category=tuple(Category(c) for c in _texts(el, "category")),
            event=_req(el, "event"),
            response_type=tuple(ResponseType(r) for r in _texts(el, "responseType")),
            urgency=Urgency(_req(el, "urgency")),
            severity=Severity(_req(el, "severity")),
            certainty=Certainty(_req(el, "certainty")),
            audience=_text(el, "audience"),
            event_codes=_read_pairs(el, "eventCode"),
            effective=_opt_time(el, "effective"),
            onset=_opt_time(el, "onset"),
            expires=_opt_time(el, "expires"),
            sender_name=_text(el, "senderName"),
            headline=_text(el, "headline"),
            description=_text(el, "description"),
            instruction=_text(el, "instruction"),
            web=_text(el, "web"),
            contact=_text(el, "contact"),
            parameters=_read_pairs(el, "parameter"),
            resources=tuple(resources),
            areas=tuple(_read_area(a) for a in el.findall(_Q + "area")),
        )
    except ValueError as exc:
        if isinstance(exc, CapError):
            raise
        raise CapError(f"bad-value: {exc}") from exc


def _read_alert(el: etree._Element) -> Alert:
    references = _text(el, "references")
    try:
        return Alert(
            identifier=_req(el, "identifier"),
            sender=_req(el, "sender"),
            sent=parse_time(_req(el, "sent")),
            status=Status(_req(el, "status")),
            msg_type=MsgType(_req(el, "msgType")),
            source=_text(el, "source"),
            scope=Scope(_req(el, "scope")),
            restriction=_text(el, "restriction"),
            addresses=_text(el, "addresses"),
            code=tuple(_texts(el, "code")),
            note=_text(el, "note"),
            references=tuple(Reference.parse(r) for r in (references or "").split()),
            incidents=_text(el, "incidents"),
            infos=tuple(_read_info(i) for i in el.findall(_Q + "info")),
        )
    except ValueError as exc:
        if isinstance(exc, CapError):
            raise
        raise CapError(f"bad-value: {exc}") from exc


def _root(xml: bytes) -> etree._Element:
    try:
        return etree.fromstring(xml, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise CapError(f"not-xml: {exc}") from exc


def parse_cap(xml: bytes) -> Alert:
    """Read a CAP 1.2 ``<alert>`` document (signed or not; the signature is not checked).

    Empty optional elements (``<note />``) read as absent. This reads, it does not judge:
    run :func:`stadswacht.alerting.validate.validate` for that.

    Raises:
        CapError: When the document is not XML, not a CAP 1.2 alert, or a value cannot be
            read (an unknown enum value, a time without offset, a malformed reference).

    Example:
        >>> parse_cap(b"<alert/>")
        Traceback (most recent call last):
        ...
        stadswacht.errors.CapError: not-cap12: root element is 'alert', not a CAP 1.2 <alert>
    """
    root = _root(xml)
    if root.tag != _Q + "alert":
        raise CapError(f"not-cap12: root element is {root.tag!r}, not a CAP 1.2 <alert>")
    return _read_alert(root)


def parse_alerts(xml: bytes) -> list[Alert]:
    """Read every CAP 1.2 alert inside a wrapper (an Atom feed, EDXL-DE) or a bare alert.

    Example:
        >>> parse_alerts(b"<feed xmlns='http://www.w3.org/2005/Atom'/>")
        []
    """
    root = _root(xml)
    return [_read_alert(el) for el in root.iter(_Q + "alert")]

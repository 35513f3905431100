"""CAP 1.2 alerting.

Contract: alerting turns warnings into CAP 1.2 alerts, checks each against the OASIS schema
and the rules before it leaves, and publishes them; it reads CAP 1.2 from others too. It is
pure: no network, no store, no clock (every time is given); the only file it reads is the
packaged OASIS schema (``schema/CAP-v1.2.xsd``).

- :mod:`~stadswacht.alerting.cap`: the model (:class:`Alert`, :class:`Info`, :class:`Area`,
  enums), :func:`to_xml` (which validates), :func:`parse_cap`, :func:`update`,
  :func:`cancel`.
- :mod:`~stadswacht.alerting.validate`: :func:`validate`, the XSD plus semantic rules, each
  problem with a stable code.
- :mod:`~stadswacht.alerting.feed`: :func:`atom_feed`, the Atom feed of alerts.

Stadswacht publishes each alert at ``/cap/alerts/{identifier}.xml`` and lists them in
``/cap/feed.atom``; see ``docs/cap.md``.
"""

from __future__ import annotations

from stadswacht.alerting.cap import (
    CAP_NS,
    LANG_EN,
    LANG_NL,
    Alert,
    Area,
    Category,
    Certainty,
    Circle,
    EventCode,
    Geocode,
    Info,
    MsgType,
    Parameter,
    Reference,
    Resource,
    ResponseType,
    Scope,
    Severity,
    Status,
    Urgency,
    ValuePair,
    cancel,
    format_time,
    parse_alerts,
    parse_cap,
    parse_time,
    to_xml,
    update,
)
from stadswacht.alerting.feed import ATOM_NS, CAP_MIME, atom_feed
from stadswacht.alerting.validate import validate

__all__ = [
    "ATOM_NS",
    "CAP_MIME",
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
    "atom_feed",
    "cancel",
    "format_time",
    "parse_alerts",
    "parse_cap",
    "parse_time",
    "to_xml",
    "update",
    "validate",
]

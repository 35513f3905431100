"""Publish/subscribe with acknowledgement: in-process by default, NATS JetStream scaled out.

Ingest publishes each stored reading once; consumers (detectors, the live stream) subscribe by
subject and acknowledge. Nothing on the bus is the system of record: the store is.
"""

from __future__ import annotations

from stadswacht.bus.base import Bus, Message, Subscription, reading_subject, subject_matches
from stadswacht.bus.inproc import InprocBus

__all__ = [
    "Bus",
    "InprocBus",
    "Message",
    "Subscription",
    "open_bus",
    "reading_subject",
    "subject_matches",
]


def open_bus(bus_url: str) -> Bus:
    """Open the bus a URL names: ``inproc://`` or ``nats://host:port``."""
    if bus_url.startswith("inproc://"):
        return InprocBus()
    if bus_url.startswith("nats://"):
        from stadswacht.bus.nats import NatsBus

        return NatsBus(bus_url)
    from stadswacht.errors import ConfigurationError

    raise ConfigurationError(f"unsupported bus URL {bus_url!r}; use inproc:// or nats://")

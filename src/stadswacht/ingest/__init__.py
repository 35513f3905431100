"""Ingest: the one door through which readings enter the platform.

A reading is authenticated (the device's Ed25519 signature), validated (its kind's values),
checked against replays and clock skew, stored durably and then published on the bus, in that
order and exactly once. Transports (HTTP in ``api``, MQTT here) only carry bytes to
:class:`Ingestor`; they decide nothing.
"""

from __future__ import annotations

from stadswacht.ingest.registry import DeviceRegistry, Registration
from stadswacht.ingest.service import BatchResult, Ingestor, Rejection, parse_body

__all__ = [
    "BatchResult",
    "DeviceRegistry",
    "Ingestor",
    "Registration",
    "Rejection",
    "parse_body",
]

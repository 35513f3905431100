"""Ingest: the one door through which readings enter the platform.

A reading is authenticated (the device's Ed25519 signature), validated (its kind's values),
checked against replays and clock skew, stored durably and then published on the bus, in that
order and exactly once. Transports (HTTP in ``api``, MQTT here) only carry bytes to
:class:`Ingestor`; they decide nothing.
"""

from __future__ import annotations

from stadswacht.ingest.registry import DeviceRegistry, Registration
from stadswacht.ingest.service import BatchResult, Ingestor, Rejection, parse_body
from stadswacht.ingest.signing import canonical_json, sign_reading, verify_reading

__all__ = [
    "BatchResult",
    "DeviceRegistry",
    "Ingestor",
    "Registration",
    "Rejection",
    "canonical_json",
    "parse_body",
    "sign_reading",
    "verify_reading",
]

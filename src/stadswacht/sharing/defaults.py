"""The classification an object has when its owner gave none (TLP 2.0).

An object may carry its own ``classification`` (``TLP:AMBER``); without one it gets its kind's
default here. The defaults lean to need-to-know: police detections (gunshots) are AMBER, crowd
and hazard states that the public will see anyway are GREEN or CLEAR.

>>> classification_of(ObjectKind.DETECTION, {"kind": "gunshot"}).value
'TLP:AMBER'
>>> classification_of(ObjectKind.DETECTION, {"kind": "hazard", "classification": "TLP:GREEN"}).value
'TLP:GREEN'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stadswacht.sharing.model import Classification, ObjectKind

__all__ = ["DEFAULT_BY_DETECTION_KIND", "DEFAULT_BY_KIND", "classification_of"]

DEFAULT_BY_KIND: dict[ObjectKind, Classification] = {
    ObjectKind.DEVICE: Classification.GREEN,
    ObjectKind.READING: Classification.GREEN,
    ObjectKind.DETECTION: Classification.AMBER,
    ObjectKind.INCIDENT: Classification.AMBER,
    ObjectKind.FORECAST: Classification.GREEN,
    ObjectKind.ALERT: Classification.CLEAR,
    ObjectKind.ZONE_STATE: Classification.GREEN,
    ObjectKind.POST: Classification.AMBER,
    ObjectKind.WEBSIGNAL_COUNT: Classification.GREEN,
    ObjectKind.AUDIT_LOG: Classification.AMBER_STRICT,
}
"""Default classification per object kind."""

DEFAULT_BY_DETECTION_KIND: dict[str, Classification] = {
    "gunshot": Classification.AMBER,
    "fireworks": Classification.GREEN,
    "crowd": Classification.GREEN,
    "hazard": Classification.CLEAR,
    "websignal": Classification.AMBER,
}
"""Default classification of a detection by its kind (what it detected)."""


def classification_of(kind: ObjectKind, doc: Mapping[str, Any]) -> Classification:
    """The object's own ``classification`` if it has one, else its kind's default."""
    own = doc.get("classification")
    if own:
        return Classification.parse(str(own))
    if kind is ObjectKind.DETECTION and doc.get("kind") in DEFAULT_BY_DETECTION_KIND:
        return DEFAULT_BY_DETECTION_KIND[str(doc["kind"])]
    return DEFAULT_BY_KIND.get(kind, Classification.AMBER)

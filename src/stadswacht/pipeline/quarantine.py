"""Quarantine between the infra detector and the other detectors.

A device the infra detector suspects of lying (stuck, spoofed, replayed, out of range, at odds
with its neighbours) is put in quarantine: its readings are still accepted and stored, and the
infra detector keeps watching them, but the gunshot, crowd and hazard detectors leave them out
until a person clears the device (``POST /v1/devices/{id}/clear``). Two thin wrappers do this
the same way live (:mod:`stadswacht.pipeline.detectors`) and in a living-lab evaluation
(:mod:`stadswacht.pipeline.offline`):

- :class:`Quarantining` wraps the infra stage and, for each detection that asks for it, puts the
  device(s) in quarantine in the registry (and on the audit log) before the next reading;
- :class:`SkipQuarantined` wraps every other stage and hands it only readings of devices that
  are not quarantined.

The infra stage comes first in the list of stages, so a reading that gets its own device
quarantined is already left out of the others.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from stadswacht.errors import UnknownDevice
from stadswacht.ingest.registry import DeviceRegistry
from stadswacht.model import Detection, parse_time
from stadswacht.pipeline.offline import Stage

__all__ = ["InfraLike", "Quarantining", "SkipQuarantined", "quarantine_targets"]

log = logging.getLogger(__name__)

Audit = Callable[[list[dict[str, Any]]], None]


class InfraLike(Stage, Protocol):
    """A stage that also takes the ingest's rejections (signature failures, replays), the
    arrival residuals of localisations, and a person's clearing of a device
    (:class:`~stadswacht.pipeline.infra.InfraStage`)."""

    def handle_rejection(
        self, rejection: Mapping[str, Any], at_s: float | None = None
    ) -> list[Detection]: ...

    def handle_localisation(
        self, residuals: Mapping[str, float], time_s: float, at_s: float | None = None
    ) -> list[Detection]: ...

    def clear(self, device_id: str, at_s: float) -> list[Detection]: ...


def quarantine_targets(detection: Detection) -> list[str]:
    """The devices a detection asks to quarantine (``details.quarantine`` true, and
    ``details.device`` or ``details.devices``).

    >>> from stadswacht.model import Detection, parse_time
    >>> d = Detection(id="x", kind="infra", detector="infra", agency="police",
    ...               time="2026-11-26T03:00:00Z", detected_at="2026-11-26T03:00:01Z",
    ...               probability=0.9, details={"quarantine": True, "device": "iz-pc-05"})
    >>> quarantine_targets(d)
    ['iz-pc-05']
    """
    details = detection.details or {}
    if not details.get("quarantine"):
        return []
    devices = details.get("devices") or ([details["device"]] if details.get("device") else [])
    return [str(d) for d in devices]


class Quarantining:
    """The infra stage, applying the quarantines its detections ask for.

    Args:
        stage: the infra detector stage.
        registry: where a device's status is kept.
        audit: appends entries to the audit log (``Platform.record_access``); optional.
    """

    def __init__(self, stage: InfraLike, registry: DeviceRegistry, audit: Audit | None = None):
        self.stage = stage
        self.registry = registry
        self.audit = audit
        self.quarantined: list[str] = []
        """Devices this wrapper put in quarantine, in order (for reports and tests)."""

    @property
    def watermark(self) -> float:
        return self.stage.watermark

    def handle(self, reading: Mapping[str, Any], at_s: float | None = None) -> list[Detection]:
        return self._apply(self.stage.handle(reading, at_s))

    def advance(self, now_s: float, at_s: float | None = None) -> list[Detection]:
        return self._apply(self.stage.advance(now_s, at_s))

    def handle_rejection(
        self, rejection: Mapping[str, Any], at_s: float | None = None
    ) -> list[Detection]:
        return self._apply(self.stage.handle_rejection(rejection, at_s))

    def handle_localisation(
        self, residuals: Mapping[str, float], time_s: float, at_s: float | None = None
    ) -> list[Detection]:
        """Arrival residuals [s] per acoustic sensor of one localisation, for the infra
        stage's clock check."""
        return self._apply(self.stage.handle_localisation(residuals, time_s, at_s))

    def clear(self, device_id: str, at_s: float) -> list[Detection]:
        """A person cleared ``device_id``: the stage's open findings on it end (nothing is
        quarantined by that)."""
        return self.stage.clear(device_id, at_s)

    def _apply(self, found: list[Detection]) -> list[Detection]:
        entries: list[dict[str, Any]] = []
        for det in found:
            for device_id in quarantine_targets(det):
                try:
                    updated = self.registry.quarantine(
                        device_id,
                        check=str(det.details.get("check", "infra")),
                        reason=det.summary_en(),
                        detection=det.id,
                        since=parse_time(det.time),
                    )
                except UnknownDevice:
                    log.warning("detection %s names unknown device %r", det.id, device_id)
                    continue
                if updated is None:
                    continue
                self.quarantined.append(device_id)
                log.warning("device %s quarantined: %s", device_id, det.summary_en())
                entries.append(
                    {
                        "actor": "system",
                        "actor_agency": updated.agency,
                        "action": "decision",
                        "object_kind": "device",
                        "object_id": device_id,
                        "owner": updated.agency,
                        "purpose": None,
                        "outcome": "allow",
                        "reason": "quarantine",
                        "detection": det.id,
                        "check": det.details.get("check"),
                    }
                )
        if entries and self.audit is not None:
            try:
                self.audit(entries)
            except Exception:  # the quarantine stands; the log says why the entry is missing
                log.exception("auditing %d quarantine decisions failed", len(entries))
        return found


class SkipQuarantined:
    """A detector stage that sees only readings of devices not in quarantine."""

    def __init__(self, stage: Stage, quarantined: Callable[[str], bool]) -> None:
        self.stage = stage
        self.quarantined = quarantined
        self.skipped = 0

    @property
    def watermark(self) -> float:
        return self.stage.watermark

    def handle(self, reading: Mapping[str, Any], at_s: float | None = None) -> list[Detection]:
        device = reading.get("device")
        if isinstance(device, str) and self.quarantined(device):
            self.skipped += 1
            return []
        return self.stage.handle(reading, at_s)

    def advance(self, now_s: float, at_s: float | None = None) -> list[Detection]:
        return self.stage.advance(now_s, at_s)

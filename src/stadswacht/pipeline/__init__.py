"""The one package that wires the platform together from settings: store, bus, device
registry, ingest and the detectors on the bus (and, as they are built, fusion and alerting).

- :mod:`stadswacht.pipeline.gunshot`, :mod:`~stadswacht.pipeline.crowd`,
  :mod:`~stadswacht.pipeline.hazard`: the detector stages (readings in, detections out; no I/O).
- :mod:`stadswacht.pipeline.detectors`: the live worker that feeds the stages from the bus and
  stores and publishes their detections.

The API and the CLI build a :class:`Platform`; nothing else composes these parts, so the same
detector runs live, in a replay and in an evaluation unchanged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from stadswacht.bus import Bus, open_bus
from stadswacht.config import Settings
from stadswacht.detect.hazard.thresholds import Threshold, read_thresholds
from stadswacht.ingest.registry import DeviceRegistry
from stadswacht.ingest.service import Ingestor
from stadswacht.sharing.agreements import read_agreements
from stadswacht.sharing.audit import (
    AuditEntry,
    AuditLog,
    generate_signing_key,
    load_signing_key,
    open_storage,
)
from stadswacht.sharing.policy import PolicyDecisionPoint
from stadswacht.store import Store, open_store

__all__ = ["Platform"]


def _open_audit(settings: Settings) -> AuditLog:
    """The audit log in the store's database, signed with the configured key (a key for this
    process only in development, logged as such)."""
    if settings.audit_key_file is not None:
        key = load_signing_key(settings.audit_key_file)
    else:
        key = generate_signing_key()
        logging.getLogger(__name__).warning(
            "audit checkpoints are signed with a key of this process only "
            "(STADSWACHT_AUDIT_KEY_FILE unset): they cannot be verified after a restart"
        )
    return AuditLog(open_storage(settings.database_url), key, settings.audit_log_id)


log = logging.getLogger(__name__)


@dataclass
class Platform:
    """Store, bus, registry and ingest of one process, built from :class:`Settings`."""

    settings: Settings
    store: Store
    bus: Bus
    registry: DeviceRegistry
    ingestor: Ingestor
    _mqtt: Any = field(default=None, repr=False)
    detectors: Any = field(default=None, repr=False)
    thresholds: list[Threshold] = field(default_factory=list)
    level_forecaster: Any = field(default=None, repr=False)
    alerts: Any = field(default=None, repr=False)
    policy: PolicyDecisionPoint = field(default_factory=lambda: PolicyDecisionPoint([]))
    audit: Any = field(default=None, repr=False)
    fusion: Any = field(default=None, repr=False)
    websignal: Any = field(default=None, repr=False)
    _retention: Any = field(default=None, repr=False)

    @classmethod
    def from_settings(
        cls, settings: Settings, *, store: Store | None = None, bus: Bus | None = None
    ) -> Platform:
        """Open the store and bus the settings name (or use the given ones).

        Raises:
            StorageError, BusError: the store or the bus cannot be reached; the message says
                which and where.
        """
        store = store or open_store(settings.database_url)
        try:
            bus = bus or open_bus(settings.bus_url)
            bus.ping()
        except BaseException:
            store.close()
            raise
        registry = DeviceRegistry(store)
        ingestor = Ingestor(store, bus, settings, registry)
        thresholds = read_thresholds(settings.thresholds_file) if settings.thresholds_file else []
        agreements = read_agreements(settings.agreements_file) if settings.agreements_file else []
        return cls(
            settings,
            store,
            bus,
            registry,
            ingestor,
            thresholds=thresholds,
            policy=PolicyDecisionPoint(agreements),
            audit=_open_audit(settings),
        )

    def record_access(self, entries: list[dict[str, Any]]) -> None:
        """Append decisions about data, shares, alerts and human decisions to the audit log.

        Each entry is a mapping with ``actor``, ``actor_agency``, ``action``, ``object_kind``,
        ``object_id``, ``owner``, ``purpose``, ``outcome`` and ``reason``; the rest goes into
        the entry's details. One transaction for all of them.
        """
        if self.audit is None or not entries:
            return
        now = datetime.now(UTC)
        core = {"actor", "actor_agency", "action", "object_kind", "object_id", "owner", "purpose",
                "outcome", "reason", "time"}  # fmt: skip
        self.audit.append_many(
            AuditEntry(
                time=e.get("time") or now,
                actor=str(e["actor"]),
                actor_agency=str(e["actor_agency"]),
                action=str(e["action"]),
                object_kind=str(e["object_kind"]),
                object_id=str(e["object_id"]),
                owner_agency=str(e["owner"]),
                purpose=e.get("purpose"),
                outcome=e["outcome"],
                reason=str(e["reason"]),
                details={k: v for k, v in e.items() if k not in core},
            )
            for e in entries
        )

    async def device_cleared(self, device_id: str) -> None:
        """Tell this process's infra detector that a person cleared ``device_id`` (call on the
        event loop that runs the detectors; a no-op where none run)."""
        if self.detectors is not None:
            await self.detectors.cleared(device_id)

    def add_thresholds(self, thresholds: list[Threshold]) -> None:
        """Put thresholds in force (a scenario's); one with the same id is replaced."""
        new = {t.id for t in thresholds}
        self.thresholds[:] = [t for t in self.thresholds if t.id not in new] + list(thresholds)

    def start_mqtt(self) -> None:
        """Subscribe to the broker named by ``settings.mqtt_url``, if any."""
        if not self.settings.mqtt_url or self._mqtt is not None:
            return
        from stadswacht.ingest.mqtt import MqttIngest

        self._mqtt = MqttIngest(self.settings, self.ingestor)
        self._mqtt.start()
        log.info("MQTT ingest subscribed at %s", self.settings.mqtt_url)

    async def start_fusion(self) -> None:
        """Start fusing detections into incidents on this process's bus (with the detectors)."""
        if not self.settings.detectors or self.fusion is not None:
            return
        from stadswacht.fusion.rules import read_rules
        from stadswacht.fusion.service import FusionService
        from stadswacht.fusion.sop import read_sops

        s = self.settings
        self.fusion = FusionService(
            self.store,
            self.bus,
            s,
            rules=read_rules(s.fusion_rules_file) if s.fusion_rules_file else None,
            sops=read_sops(s.fusion_sops_file) if s.fusion_sops_file else None,
        )
        await self.fusion.start()

    async def start_detectors(self) -> None:
        """Start the detector worker on this process's bus, if ``settings.detectors``."""
        if not self.settings.detectors or self.detectors is not None:
            return
        from stadswacht.alerting.cap import Status
        from stadswacht.alerting.service import AlertService
        from stadswacht.pipeline.detectors import DetectorWorker
        from stadswacht.pipeline.infra import InfraStage

        self.detectors = DetectorWorker(
            self.store,
            self.bus,
            self.registry,
            thresholds=lambda: list(self.thresholds),
            forecaster=self.level_forecaster,
            infra=InfraStage(
                device=self.registry.get,
                devices=self.registry.list,
                areas=self.store.list_areas,
            ),
            audit=self.record_access,
        )
        await self.detectors.start()
        log.info(
            "detectors running: infra, gunshot, crowd, hazard (%d thresholds)",
            len(self.thresholds),
        )
        self.alerts = AlertService(
            self.store,
            self.bus,
            self.settings,
            status=Status(self.settings.cap_status),
            record=self.record_access,
        )
        await self.alerts.start()
        from stadswacht.pipeline.websignal import WebsignalService

        self.websignal = WebsignalService(self.settings, self.store, self.bus)
        await self.websignal.start()
        await self.start_fusion()
        self._start_retention()

    def _start_retention(self) -> None:
        """Run the retention job in this process (the one that runs the detectors)."""
        import asyncio

        from stadswacht.privacy.retention import RetentionJob, RetentionPolicy, read_retention

        s = self.settings
        policy = read_retention(s.retention_file)[0] if s.retention_file else RetentionPolicy()
        policy.check(s.max_reading_age_s)
        job = RetentionJob(self.store, policy)
        self._retention = asyncio.create_task(
            job.run_forever(s.retention_interval_s), name="retention"
        )

    async def close(self) -> None:
        """Stop transports, detectors and alerts, then the bus, then the store."""
        await self.stop_detectors()
        if self._mqtt is not None:
            self._mqtt.stop()
            self._mqtt = None
        self.ingestor.close()  # stop the spool drainer; what is spooled stays for the next run
        await self.bus.close()
        if self.audit is not None:
            self.audit.close()
        self.store.close()

    async def stop_detectors(self) -> None:
        """Stop the detector worker, fusion, the alert service and the retention job of this
        process, if running."""
        if self._retention is not None:
            task, self._retention = self._retention, None
            task.cancel()
        if self.fusion is not None:
            fusion, self.fusion = self.fusion, None
            await fusion.stop()
        if self.websignal is not None:
            signals, self.websignal = self.websignal, None
            await signals.stop()
        if self.alerts is not None:
            service, self.alerts = self.alerts, None
            await service.stop()
        if self.detectors is not None:
            worker, self.detectors = self.detectors, None
            await worker.stop()

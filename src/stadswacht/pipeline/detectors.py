"""The live detector worker: readings from the bus through the detector stages (infra first,
then gunshot, crowd, hazard), detections to the store and back onto the bus
(``stadswacht.detections.<area>.<kind>``), where the live stream and fusion pick them up.

The infra stage also takes the ingest's rejections (``stadswacht.rejections.<reason>``:
signature failures, replays, duplicates) and may put a device in quarantine; the other stages
leave out the readings of quarantined devices (:mod:`stadswacht.pipeline.quarantine`).

Event time drives the detectors (see :mod:`stadswacht.pipeline.gunshot`). Between readings a
timer moves it on by the wall-clock time that passed since the newest reading, so a decision
that waits for late reports is taken even when no further reading comes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable, Sequence

from stadswacht.bus import Bus
from stadswacht.bus.base import (
    READINGS_PREFIX,
    REJECTIONS_PREFIX,
    Subscription,
    detection_subject,
)
from stadswacht.detect.hazard.thresholds import Threshold
from stadswacht.ingest.registry import DeviceRegistry
from stadswacht.model import Detection, DeviceKind, parse_time
from stadswacht.pipeline.crowd import CrowdStage
from stadswacht.pipeline.gunshot import GunshotStage
from stadswacht.pipeline.hazard import HazardStage, LevelForecaster
from stadswacht.pipeline.offline import Stage
from stadswacht.pipeline.quarantine import Audit, InfraLike, Quarantining, SkipQuarantined
from stadswacht.store import Store

__all__ = ["DetectorWorker", "publish_detections"]

log = logging.getLogger(__name__)


def publish_detections(store: Store, bus: Bus, detections: Sequence[Detection]) -> None:
    """Store each detection (newest version wins), then publish it; blocking."""
    for d in detections:
        store.put_detection(d)
    bus.publish(
        [
            (detection_subject(d.area, d.kind), d.model_dump_json().encode(), f"{d.id}:{d.version}")
            for d in detections
        ]
    )


class DetectorWorker:
    """Runs the detector stages on one process's bus subscription.

    Args:
        tick_s: how often event time is moved on when no reading comes [s].
    """

    def __init__(
        self,
        store: Store,
        bus: Bus,
        registry: DeviceRegistry,
        *,
        thresholds: Callable[[], list[Threshold]] = list,
        forecaster: LevelForecaster | None = None,
        infra: InfraLike | None = None,
        audit: Audit | None = None,
        tick_s: float = 0.2,
    ) -> None:
        self.store = store
        self.bus = bus
        self.tick_s = tick_s
        self.gunshot = GunshotStage(
            device=registry.get,
            acoustic_devices=lambda: [d for d in registry.list() if d.kind is DeviceKind.ACOUSTIC],
        )
        self.crowd = CrowdStage(device=registry.get, areas=store.list_areas)
        self.hazard = HazardStage(
            device=registry.get,
            areas=store.list_areas,
            thresholds=thresholds,
            forecaster=forecaster,
        )
        self.infra = Quarantining(infra, registry, audit) if infra is not None else None
        others: list[Stage] = [
            SkipQuarantined(stage, registry.quarantined)
            for stage in (self.gunshot, self.crowd, self.hazard)
        ]
        self._stages: list[Stage] = ([self.infra] if self.infra else []) + others
        # Per stage: newest event time seen, and the wall-clock time it was seen.
        self._marks = [(float("-inf"), 0.0) for _ in self._stages]
        self._tasks: list[asyncio.Task[None]] = []
        self.raised = 0

    async def start(self) -> None:
        """Subscribe and start consuming; returns once subscribed."""
        sub = await self.bus.subscribe(f"{READINGS_PREFIX}.>")
        self._tasks = [
            asyncio.create_task(
                self._each(sub, self._reading, "reading"), name="detectors-consume"
            ),
            asyncio.create_task(self._tick(), name="detectors-tick"),
        ]
        if self.infra is not None:
            rejections = await self.bus.subscribe(f"{REJECTIONS_PREFIX}.>")
            self._tasks.append(
                asyncio.create_task(
                    self._each(rejections, self._rejection, "rejection"),
                    name="detectors-rejections",
                )
            )

    async def stop(self) -> None:
        """Stop consuming; detections already raised are stored. Tasks of an event loop that
        has ended (a server stopped elsewhere) are let go."""
        tasks, self._tasks = self._tasks, []
        loop = asyncio.get_running_loop()
        mine = [t for t in tasks if t.get_loop() is loop]
        for task in mine:
            task.cancel()
        for task in mine:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _each(
        self, sub: Subscription, handle: Callable[[bytes], list[Detection]], what: str
    ) -> None:
        """Hand each message of ``sub`` to ``handle``, emit what it finds, then acknowledge;
        a message a detector fails on is logged and acknowledged (it would fail again)."""
        try:
            async for msg in sub:
                try:
                    found = handle(msg.data)
                except Exception:  # one bad message must not stop detection
                    log.exception("detector failed on %s %s", what, msg.msg_id)
                    found = []
                if found:
                    await self._emit(found)
                await msg.ack()
        finally:
            await sub.close()

    def _reading(self, data: bytes) -> list[Detection]:
        reading = json.loads(data)
        now = time.time()
        try:
            found = [d for stage in self._stages for d in stage.handle(reading, now)]
        finally:
            for i, stage in enumerate(self._stages):
                if stage.watermark > self._marks[i][0]:
                    self._marks[i] = (stage.watermark, time.time())
        return found + self._localised(found)

    def _rejection(self, data: bytes) -> list[Detection]:
        assert self.infra is not None
        return self.infra.handle_rejection(json.loads(data), time.time())

    def _localised(self, found: list[Detection]) -> list[Detection]:
        """Give the infra stage each new localisation's arrival residuals per sensor (its check
        of acoustic clocks over many localisations); returns what that finds."""
        if self.infra is None:
            return []
        out: list[Detection] = []
        for d in found:
            residuals = d.details.get("residuals_s")
            if not residuals or d.version != 1:
                continue
            try:
                time_s = parse_time(d.time).timestamp()
                out += self.infra.handle_localisation(residuals, time_s, time.time())
            except Exception:
                log.exception("infra detector failed on the localisation of %s", d.id)
        return out

    async def cleared(self, device_id: str) -> None:
        """A person cleared ``device_id``'s quarantine: the infra detector's open findings on it
        end (stored and published as ended). Call on this worker's event loop."""
        if self.infra is None:
            return
        found = self.infra.clear(device_id, time.time())
        if found:
            await self._emit(found)

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self.tick_s)
            wall = time.time()
            found = []
            for stage, (mark, seen) in zip(self._stages, self._marks, strict=True):
                if mark == float("-inf"):
                    continue
                now = mark + (wall - seen)
                try:
                    found += stage.advance(now, wall)
                except Exception:
                    log.exception("%s failed while advancing to %.3f", type(stage).__name__, now)
            if found:
                await self._emit(found + self._localised(found))

    async def _emit(self, detections: list[Detection]) -> None:
        try:
            await asyncio.to_thread(publish_detections, self.store, self.bus, detections)
        except Exception:
            log.exception("storing or publishing %d detections failed", len(detections))
            return
        self.raised += len(detections)
        for d in detections:
            log.info("detection %s v%d: %s", d.id, d.version, d.summary_en())

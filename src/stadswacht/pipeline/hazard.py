"""The hazard stage: water-level, rain, temperature and wind readings in, warnings out.

It adapts readings to one :class:`~stadswacht.detect.hazard.monitor.HazardMonitor` per
threshold (thresholds come from the deployment's thresholds file or the scenario). For a
threshold with ``forecast: true`` the stage asks its water-level forecaster, at each reading,
for the forecast issued from the gauge's history up to that reading, so a warning is issued
when the forecast crosses a level within the lead time. Each warning change becomes a
:class:`~stadswacht.model.Detection` of kind ``hazard``: one id per episode, a new version per
change; :mod:`stadswacht.alerting` turns them into CAP alerts. No I/O here.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from stadswacht.detect.hazard.monitor import ForecastPoint, HazardMonitor, HazardWarning
from stadswacht.detect.hazard.thresholds import HAZARDS, Threshold
from stadswacht.errors import NotFound
from stadswacht.model import Area, Detection, Device
from stadswacht.model.reading import epoch_seconds, format_epoch

__all__ = ["HazardStage", "LevelForecaster"]

log = logging.getLogger(__name__)

HISTORY_S = 2 * 86400.0
"""Observations kept per gauge for its forecaster [s]."""


class LevelForecaster(Protocol):
    """Forecasts a gauge's level from its history: ``(time_s, level, low, high)`` points after
    ``now_s`` up to ``lead_s`` ahead, using no observation after ``now_s``."""

    def __call__(
        self,
        device: str,
        times: Sequence[float],
        values: Sequence[float],
        now_s: float,
        lead_s: float,
    ) -> list[ForecastPoint]: ...


@dataclass
class HazardStage:
    """Every threshold's monitor, fed from the readings of its device.

    Args:
        device: looks up a registered device by id (raises ``NotFound``).
        areas: lists the platform's areas (a warning's area and name).
        thresholds: lists the thresholds in force (read again when a device without a monitor
            reports, so thresholds added later are picked up).
        forecaster: the water-level forecaster for thresholds with ``forecast: true``.
        clock: wall clock [s], only to measure processing time.
    """

    device: Callable[[str], Device]
    areas: Callable[[], list[Area]]
    thresholds: Callable[[], list[Threshold]]
    forecaster: LevelForecaster | None = None
    clock: Callable[[], float] = time.perf_counter
    _monitors: dict[str, list[HazardMonitor]] = field(default_factory=dict, init=False)
    _known: set[str] = field(default_factory=set, init=False)
    _history: dict[str, deque[tuple[float, float]]] = field(default_factory=dict, init=False)
    _first: dict[str, str] = field(default_factory=dict, init=False)
    _watermark: float = field(default=float("-inf"), init=False)
    _refreshed: float = field(default=float("-inf"), init=False)

    @property
    def watermark(self) -> float:
        """The newest event time seen [s since the Unix epoch]."""
        return self._watermark

    def handle(self, reading: Mapping[str, Any], at_s: float | None = None) -> list[Detection]:
        """Feed one reading; return the hazard detections that are new or changed."""
        device_id = str(reading.get("device"))
        kind = reading.get("kind")
        if device_id not in self._known and time.monotonic() - self._refreshed > 30.0:
            self._refresh()
        monitors = [
            m for m in self._monitors.get(device_id, []) if m.threshold.reading_kind == kind
        ]
        if not monitors:
            return []
        started = self.clock()
        t = epoch_seconds(str(reading["time"]))
        self._watermark = max(self._watermark, t if at_s is None else min(t, at_s))
        values = reading.get("values") or {}
        out: list[Detection] = []
        for monitor in monitors:
            th = monitor.threshold
            raw = values.get(th.value_key)
            if not isinstance(raw, int | float) or isinstance(raw, bool):
                continue
            value = float(raw)
            forecast: list[ForecastPoint] = []
            if th.forecast and self.forecaster is not None:
                hist = self._history.setdefault(device_id, deque())
                if not hist or t > hist[-1][0]:
                    hist.append((t, value))
                while hist and hist[0][0] < t - HISTORY_S:
                    hist.popleft()
                try:
                    forecast = self.forecaster(
                        device_id, [h[0] for h in hist], [h[1] for h in hist], t, th.lead_time_s
                    )
                except Exception:  # a failing forecast must not stop the observed warning
                    log.exception("water-level forecast failed for %s", device_id)
            for w in monitor.observe(t, value, forecast):
                raised = (t if at_s is None else at_s) + (self.clock() - started)
                out.append(self._detection(w, raised))
        return out

    def advance(self, now_s: float, at_s: float | None = None) -> list[Detection]:
        """Move event time on; hazard warnings change only with a reading."""
        self._watermark = max(self._watermark, now_s)
        return []

    def active(self) -> list[tuple[Threshold, int]]:
        """Thresholds with a warning in force, and its level index."""
        return [(m.threshold, m.level) for ms in self._monitors.values() for m in ms if m.active]

    # --- internals ---------------------------------------------------------------------------
    def _refresh(self) -> None:
        # Devices without a threshold cost one refresh per 30 s, not one per reading.
        self._refreshed = time.monotonic()
        have = {m.threshold.id for ms in self._monitors.values() for m in ms}
        for th in self.thresholds():
            if th.id not in have:
                self._monitors.setdefault(th.device, []).append(HazardMonitor(th))
            self._known.add(th.device)

    def _area(self, area_id: str | None) -> Area | None:
        if area_id is None:
            return None
        return next((a for a in self.areas() if a.id == area_id), None)

    def _detection(self, w: HazardWarning, at_s: float) -> Detection:
        th = w.threshold
        try:
            dev: Device | None = self.device(th.device)
        except NotFound:
            dev = None
        area = self._area(th.area or (dev.area if dev else None))
        first = self._first.setdefault(w.id, format_epoch(at_s))
        if w.change == "allclear":
            self._first.pop(w.id, None)
        level = th.levels[w.level] if w.level >= 0 else None
        hazard = HAZARDS[th.hazard]
        lead = None if w.onset_s is None else max(w.onset_s - w.time_s, 0.0)
        summary = (
            f"{hazard['en']} at {th.name or th.device}: "
            + (f"{level.label('en')} ({w.basis})" if level else "all clear")
            + f", {th.value_key} {w.value:.1f}"
        )
        return Detection(
            id=w.id,
            kind="hazard",
            detector="hazard",
            agency=th.agency or (dev.agency if dev else None) or "safety-region",
            area=area.id if area else None,
            time=format_epoch(w.issued_s),
            detected_at=first,
            updated_at=format_epoch(at_s),
            version=w.version,
            position=dev.position if dev else None,
            probability=w.probability,
            evidence=[f"{th.device}@{format_epoch(w.time_s)}"],
            sensors=[th.device],
            details={
                "hazard": th.hazard,
                "threshold": th.id,
                "threshold_kind": th.kind,
                "quantity": th.quantity,
                "change": w.change,
                "level": level.name if level else None,
                "level_index": w.level,
                "level_value": level.value if level else None,
                "levels": {lv.name: lv.value for lv in th.levels},
                "basis": w.basis,
                "value": round(w.value, 3),
                "observed_at": format_epoch(w.time_s),
                "onset": None if w.onset_s is None else format_epoch(w.onset_s),
                "lead_time_s": None if lead is None else round(lead, 1),
                "peak": None if w.peak == float("-inf") else round(w.peak, 3),
                "peak_time": format_epoch(w.peak_s),
                "first_warned": {k: format_epoch(v) for k, v in w.reached.items()},
                "area_name": area.name if area else None,
                "station_name": th.name or th.device,
                "radius_km": th.radius_km,
                "summary_en": summary,
            },
        )

"""Infrastructure detection: the platform watches the sensors it runs on.

Contract: an infrastructure detector consumes accepted readings (with the time the platform
received them), the readings ingest refused (rejections) and acoustic localisation residuals,
and yields :class:`Finding` s; it never reads a clock, never does I/O and never writes to the
store. A finding is advice with its evidence; ``quarantine`` says its devices are suspected of
lying, and a person clears them.

- :mod:`.health`: per-device checks: rhythm and silence, stuck values, physical range,
  impossible rates of change and of messages, repeated value patterns.
- :mod:`.clock`: device clocks against the platform's (drift, jump) and acoustic sensors'
  clocks against many localisations' arrival residuals.
- :mod:`.attack`: bursts of signature failures, replays and probes among the rejections.
- :mod:`.detector`: :class:`InfraDetector`, every check on every device, neighbour checks,
  and outages (power cut, network outage, flood, attack) inferred from many devices at once.
"""

from __future__ import annotations

from stadswacht.detect.infra.attack import FAMILY, Burst, RejectionWatch
from stadswacht.detect.infra.base import FAILURE_TYPES, DeviceInfo, Finding, distance_m
from stadswacht.detect.infra.clock import (
    ClockFault,
    ClockWatch,
    SensorBias,
    leave_one_out_residuals,
    tdoa_clock_bias,
)
from stadswacht.detect.infra.detector import InfraConfig, InfraDetector, classify_outage
from stadswacht.detect.infra.health import (
    MAX_RATE,
    PLAUSIBLE_RANGE,
    MessageRate,
    PatternRepeat,
    Rhythm,
    StuckRun,
    out_of_range,
    rate_of_change,
    signature,
)

__all__ = [
    "FAILURE_TYPES",
    "FAMILY",
    "MAX_RATE",
    "PLAUSIBLE_RANGE",
    "Burst",
    "ClockFault",
    "ClockWatch",
    "DeviceInfo",
    "Finding",
    "InfraConfig",
    "InfraDetector",
    "MessageRate",
    "PatternRepeat",
    "RejectionWatch",
    "Rhythm",
    "SensorBias",
    "StuckRun",
    "classify_outage",
    "distance_m",
    "leave_one_out_residuals",
    "out_of_range",
    "rate_of_change",
    "signature",
    "tdoa_clock_bias",
]

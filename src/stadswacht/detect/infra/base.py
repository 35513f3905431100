"""What every infrastructure check shares: the device facts it needs and what it finds.

A check never sees a :class:`~stadswacht.model.Device` (that is the pipeline's business); it
sees a :class:`DeviceInfo` in a local metric frame, and it returns :class:`Finding` s, which the
pipeline turns into detections of kind ``infra``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

__all__ = ["FAILURE_TYPES", "DeviceInfo", "Finding", "distance_m"]

FAILURE_TYPES = ("sensor_failure", "power_cut", "network_outage", "flood_outage", "cyber_attack")
"""The ``type`` of an infrastructure finding."""


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    """A device as the infrastructure checks see it.

    Attributes
    ----------
    id : str
        Device id.
    kind : str
        Device kind (``acoustic``, ``people_counter``, ``water_gauge``, ``power_monitor``, ...).
    x, y : float
        Position [m] east and north of the detector's origin.
    area : str or None
        The area (district, zone) the device is registered in.
    gateway : str or None
        The gateway its readings come through, if any.
    """

    id: str
    kind: str
    x: float
    y: float
    area: str | None = None
    gateway: str | None = None


def distance_m(a: DeviceInfo, b: DeviceInfo) -> float:
    """Distance between two devices [m].

    >>> distance_m(DeviceInfo("a", "other", 0, 0), DeviceInfo("b", "other", 3, 4))
    5.0
    """
    return math.hypot(a.x - b.x, a.y - b.y)


@dataclass(slots=True)
class Finding:
    """One infrastructure problem, kept up to date while it lasts.

    ``id`` is stable while the problem lasts; every change raises ``version``. ``time_s`` is
    when it began (estimated) and ``raised_s`` when it was first raised, both [s since the Unix
    epoch]; ``updated_s`` when it last changed; ``ended_s`` when it was over (None: ongoing).
    ``quarantine`` is true when the devices are suspected of lying: their readings are kept but
    no detector should use them until a person clears them.

    ``group`` is true for a finding about a group of devices that may belong to several
    agencies (an outage, an attack): the pipeline reports it once per agency, each naming only
    that agency's devices (need-to-know), all under the finding's id as their group.
    """

    id: str
    type: str
    check: str
    devices: list[str]
    time_s: float
    raised_s: float
    quarantine: bool
    probability: float
    evidence: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    updated_s: float = 0.0
    ended_s: float | None = None
    version: int = 1
    group: bool = False

    def touch(self, at_s: float) -> Finding:
        """Mark a change at ``at_s``: a new version."""
        self.version += 1
        self.updated_s = at_s
        return self

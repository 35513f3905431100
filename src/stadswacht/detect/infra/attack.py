"""Attacks seen in what ingest refused: bursts of signature failures, replays and probes.

Ingest refuses a forged or replayed reading and says why (a *rejection*: ``device``, ``seq``,
``reason``, ``source``, ``received_us``, and for an identical copy answered as a
``duplicate`` the ``original_age_s``). One refusal is an accident (a device with an old key, a
client retrying); several of one family within a few minutes, or one claiming to be a device
that is silent, is an attack. :class:`RejectionWatch` groups them into bursts.

>>> w = RejectionWatch()
>>> w.add({"device": "d1", "reason": "bad_signature"}, 0.0) is None
True
>>> b = w.add({"device": "d2", "reason": "bad_signature"}, 30.0)
>>> b.family, sorted(b.devices), b.count
('signature', ['d1', 'd2'], 2)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["FAMILY", "Burst", "RejectionWatch"]

FAMILY: dict[str, str] = {
    "bad_signature": "signature",
    "topic_mismatch": "signature",
    "not_gateway": "signature",
    "replay": "replay",
    "duplicate": "replay",
    "unknown_device": "probe",
    "decommissioned": "probe",
}
"""Rejection reasons that point at an attack, by family: a forged identity (signature), old
messages sent again (replay), or someone trying ids (probe). Malformed or invalid values are
integration errors, not attacks."""

CHECK = {"signature": "signature_failures", "replay": "replayed", "probe": "probing"}
"""The check a burst of each family reports."""


@dataclass
class Burst:
    """Rejections of one family close together in time."""

    id: str
    family: str
    first_s: float
    last_s: float
    count: int = 0
    devices: set[str] = field(default_factory=set)
    sources: set[str] = field(default_factory=set)
    reasons: Counter[str] = field(default_factory=Counter)
    evidence: list[str] = field(default_factory=list)
    raised: bool = False

    @property
    def check(self) -> str:
        """The check name this burst reports."""
        return CHECK[self.family]


@dataclass
class RejectionWatch:
    """Groups rejections into bursts and says when a burst is an attack.

    Args:
        window_s: a rejection within this long of the burst's last one joins it [s].
        min_count: rejections of a family that make an attack.
        min_duplicate_age_s: a duplicate of a reading first received less than this long ago
            is a client retrying, not a replay [s].
    """

    window_s: float = 600.0
    min_count: dict[str, int] = field(
        default_factory=lambda: {"signature": 2, "replay": 2, "probe": 5}
    )
    min_duplicate_age_s: float = 60.0
    bursts: dict[str, Burst] = field(default_factory=dict)
    _n: int = 0

    def add(
        self, rejection: Mapping[str, Any], at_s: float, *, suspicious: bool = False
    ) -> Burst | None:
        """Add one rejection received at ``at_s`` [s]; return its burst when the burst is an
        attack (new or grown), else None. ``suspicious``: the device it claims to be is silent
        or in an outage, so a single forged reading is already an attack."""
        reason = str(rejection.get("reason", ""))
        family = FAMILY.get(reason)
        if family is None:
            return None
        if reason == "duplicate":
            age = rejection.get("original_age_s")
            if not isinstance(age, int | float) or age < self.min_duplicate_age_s:
                return None
        key = family if family != "probe" else f"probe:{rejection.get('source')}"
        burst = self.bursts.get(key)
        if burst is None or at_s - burst.last_s > self.window_s:
            self._n += 1
            burst = Burst(f"{family}-{int(at_s)}-{self._n}", family, at_s, at_s)
            self.bursts[key] = burst
        burst.last_s = at_s
        burst.count += 1
        burst.reasons[reason] += 1
        device = rejection.get("device")
        if isinstance(device, str):
            burst.devices.add(device)
            seq = rejection.get("seq")
            burst.evidence.append(f"{device}:{seq}" if seq is not None else device)
        source = rejection.get("source")
        if isinstance(source, str):
            burst.sources.add(source)
        enough = burst.count >= self.min_count.get(family, 2)
        if enough or (suspicious and family == "signature"):
            burst.raised = True
            return burst
        return None

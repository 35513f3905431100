"""Detections: what a detector found, with its place, uncertainty and evidence.

A detection is advice, not a verdict: it carries the class probability, the uncertainty of
its position (an ellipse) and the readings it rests on, so a person can judge it. Fusion (#7)
turns detections into incidents; a detection that is updated (a second round of the same
shooting, a better fix) keeps its ``id`` and increases its ``version``.

>>> d = Detection(
...     id="gunshot-iz-ac-01-17", kind="gunshot", detector="gunshot", agency="police",
...     time="2026-11-25T02:13:07.120000Z", detected_at="2026-11-25T02:13:08.010000Z",
...     position=Position(lat=52.0915, lon=4.2925), probability=0.93,
...     uncertainty=Ellipse(semi_major_m=3.9, semi_minor_m=2.1, orientation_deg=35.0),
...     evidence=["iz-ac-01:17", "iz-ac-02:9", "iz-ac-03:12"],
...     sensors=["iz-ac-01", "iz-ac-02", "iz-ac-03"])
>>> d.summary_en()
'gunshot (p=0.93), 1 round, located within 3.9 m (95%) by 3 sensors'
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from stadswacht.model.area import AgencyId, AreaId, Position
from stadswacht.model.reading import parse_time_ns

__all__ = ["DETECTION_KINDS", "Detection", "DetectionId", "Ellipse"]

DetectionId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")]
"""A detection id: letters, digits and ``_ . : -``, at most 128."""

DETECTION_KINDS = ("gunshot", "fireworks", "impulsive_other", "crowd", "hazard", "websignal")
"""Kinds of detection the platform raises so far (more come with each detector)."""


class Ellipse(BaseModel):
    """An uncertainty ellipse of a position, at ``confidence`` (default 95 %).

    ``orientation_deg`` is the direction of the major axis in degrees clockwise from north.
    """

    model_config = ConfigDict(frozen=True)

    semi_major_m: float = Field(ge=0, allow_inf_nan=False)
    semi_minor_m: float = Field(ge=0, allow_inf_nan=False)
    orientation_deg: float = Field(ge=-360, le=360, allow_inf_nan=False)
    confidence: float = Field(default=0.95, gt=0, lt=1)


class Detection(BaseModel):
    """One thing a detector found.

    ``time`` is when it happened (for a shooting: the first round's emission), ``detected_at``
    when the platform first raised it and ``updated_at`` when it last changed (both on the
    clock that drove the detector: the wall clock live, the simulated clock in a replay).
    ``evidence`` lists the readings it rests on as ``device:seq``.
    """

    model_config = ConfigDict(frozen=True)

    id: DetectionId
    kind: str = Field(min_length=1, max_length=64, description="What was detected")
    detector: str = Field(min_length=1, max_length=64, description="Which detector found it")
    agency: AgencyId = Field(description="Owner: the agency of the sensors that found it")
    area: AreaId | None = None
    time: str
    detected_at: str
    updated_at: str | None = None
    version: int = Field(default=1, ge=1)
    position: Position | None = None
    uncertainty: Ellipse | None = None
    probability: float = Field(ge=0, le=1, description="Probability of ``kind``")
    evidence: list[str] = Field(default_factory=list)
    sensors: list[str] = Field(default_factory=list)
    details: dict[str, Any] = Field(default_factory=dict)
    classification: str | None = Field(
        default=None,
        pattern=r"^TLP:(CLEAR|GREEN|AMBER|AMBER\+STRICT|RED)$",
        description="TLP 2.0; without one the kind's default applies (stadswacht.sharing)",
    )

    @field_validator("time", "detected_at", "updated_at")
    @classmethod
    def _rfc3339(cls, v: str | None) -> str | None:
        if v is not None:
            parse_time_ns(v)
        return v

    @property
    def time_us(self) -> int:
        """``time`` in microseconds since the Unix epoch."""
        return parse_time_ns(self.time) // 1000

    def summary_en(self) -> str:
        """One line for an operator (English; the dashboard has the Dutch one too)."""
        if isinstance(self.details.get("summary_en"), str):
            return str(self.details["summary_en"])
        rounds = int(self.details.get("rounds", 1))
        text = f"{self.kind} (p={self.probability:.2f}), {rounds} round{'s' * (rounds != 1)}"
        if self.uncertainty is not None:
            text += f", located within {self.uncertainty.semi_major_m:.1f} m (95%)"
        if self.sensors:
            text += f" by {len(self.sensors)} sensors"
        if self.details.get("poor_geometry"):
            text += "; poor sensor geometry: position uncertain"
        return text

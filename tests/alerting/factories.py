"""Alerts as Stadswacht emits them, for the alerting tests."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from stadswacht.alerting import (
    LANG_EN,
    LANG_NL,
    Alert,
    Area,
    Category,
    Certainty,
    Circle,
    Info,
    MsgType,
    ResponseType,
    Scope,
    Severity,
    Status,
    Urgency,
    ValuePair,
)

AMS = ZoneInfo("Europe/Amsterdam")
FIXTURES = Path(__file__).parent.parent / "fixtures" / "cap"
SENDER = "alerts@stadswacht.example.nl"

# Rotterdam, Maasboulevard: a closed ring of (lat, lon) and a 500 m circle at the Erasmusbrug.
QUAY = (
    (51.9175, 4.4951),
    (51.9210, 4.5030),
    (51.9165, 4.5102),
    (51.9130, 4.5010),
    (51.9175, 4.4951),
)
BRIDGE = Circle(51.9094, 4.4868, 0.5)


def area() -> Area:
    return Area(
        "Rotterdam, Maasboulevard en Erasmusbrug",
        polygons=(QUAY,),
        circles=(BRIDGE,),
        geocodes=(ValuePair("CBS_gemeente", "GM0599"),),
    )


def info(language: str = LANG_NL) -> Info:
    dutch = language == LANG_NL
    return Info(
        language=language,
        category=(Category.MET, Category.SAFETY),
        event="Hoogwater" if dutch else "High water",
        response_type=(ResponseType.AVOID, ResponseType.MONITOR),
        urgency=Urgency.EXPECTED,
        severity=Severity.SEVERE,
        certainty=Certainty.LIKELY,
        event_codes=(ValuePair("stadswacht", "hydro.waterlevel"),),
        effective=datetime(2026, 11, 26, 3, 0, tzinfo=AMS),
        onset=datetime(2026, 11, 26, 5, 30, tzinfo=AMS),
        expires=datetime(2026, 11, 26, 12, 0, tzinfo=AMS),
        sender_name="Stadswacht Rotterdam",
        headline=(
            "Hoogwater verwacht aan de Maasboulevard"
            if dutch
            else "High water expected at the Maasboulevard"
        ),
        description=(
            "Waterstand Hoek van Holland verwacht 290 cm NAP (oranje)."
            if dutch
            else "Water level at Hoek van Holland expected at 290 cm NAP (orange)."
        ),
        instruction="Mijd de kade." if dutch else "Keep away from the quay.",
        web="https://stadswacht.example.nl/waarschuwingen/sw-2026-0001",
        contact="Stadswacht meldkamer 010 000 0000",
        parameters=(ValuePair("waterlevel_cm_nap", "290"), ValuePair("level", "orange")),
        areas=(area(),),
    )


def alert(**changes: object) -> Alert:
    """A bilingual (nl-NL, en-GB) Actual Alert with a polygon and a circle."""
    base = Alert(
        identifier="sw-2026-0001",
        sender=SENDER,
        sent=datetime(2026, 11, 26, 2, 45, 12, 123456, tzinfo=AMS),
        status=Status.ACTUAL,
        msg_type=MsgType.ALERT,
        scope=Scope.PUBLIC,
        source="Stadswacht hydro forecast",
        code=("profile:stadswacht:0.1",),
        infos=(info(LANG_NL), info(LANG_EN)),
    )
    return replace(base, **changes)  # type: ignore[arg-type]

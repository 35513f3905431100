"""A hazard warning (a detection of kind ``hazard``) as a CAP 1.2 alert, in Dutch and English.

Each version of a warning becomes one alert: the first an ``Alert``, every later one an
``Update`` that references all earlier ones (escalation, de-escalation, a new outlook); the all
clear is an ``Update`` with response type ``AllClear`` and urgency ``Past``, as CAP practice
(and MeteoAlarm) has it; ``Cancel`` is kept for a warning withdrawn as wrong. The mapping:

========================  ==============================================================
CAP                       from the warning
========================  ==============================================================
identifier                ``stadswacht-<warning id>-v<version>`` (unique per sender)
severity                  pre-warning Minor, yellow Moderate, orange Severe, red Extreme
urgency                   observed: Immediate; forecast: Immediate when the level is
                          reached within the hour, else Expected; all clear: Past
certainty                 observed: Observed; forecast: Likely at p >= 0.5, else Possible
onset / expires           when the level is (forecast to be) reached; the later of the
                          forecast peak + 3 h and sent + 6 h (all clear: sent + 1 h)
area                      the warning area's polygon, else a circle around the station
parameters                MeteoAlarm's ``awareness_level`` and ``awareness_type``, and the
                          threshold, level, value and basis
========================  ==============================================================

Pure: the caller gives the earlier alerts of the warning, the area and the time.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from stadswacht.alerting.cap import (
    LANG_EN,
    LANG_NL,
    Alert,
    Area,
    Category,
    Certainty,
    Circle,
    Info,
    MsgType,
    Parameter,
    ResponseType,
    Scope,
    Severity,
    Status,
    Urgency,
    ValuePair,
    update,
)
from stadswacht.detect.hazard.thresholds import HAZARDS, LEVEL_NAMES
from stadswacht.model import Area as PlatformArea
from stadswacht.model import Detection, parse_time

__all__ = ["alert_from_warning"]

SEVERITY = {
    "pre-warning": Severity.MINOR,
    "yellow": Severity.MODERATE,
    "orange": Severity.SEVERE,
    "red": Severity.EXTREME,
}

# MeteoAlarm's awareness parameters (the convention of European weather-warning CAP feeds).
AWARENESS_LEVEL = {
    "yellow": "2; yellow; Moderate",
    "orange": "3; orange; Severe",
    "red": "4; red; Extreme",
}
AWARENESS_TYPE = {
    "flood": "7; coastalevent",
    "rain": "10; rain",
    "heat": "5; high-temperature",
    "wind": "1; Wind",
}

UNITS = {
    "water_level.level_cm_nap": ("cm NAP", "cm NAP"),
    "rain.rain_mm": ("mm", "mm"),
    "temperature.temperature_c": ("°C", "°C"),
    "wind.gust_ms": ("m/s", "m/s"),
}

INSTRUCTION = {
    "flood": (
        "Stay away from quays, beaches and areas outside the dikes. Follow the instructions of "
        "the water board and the municipality.",
        "Blijf weg van kades, het strand en buitendijks gebied. Volg de aanwijzingen van het "
        "waterschap en de gemeente op.",
    ),
    "rain": (
        "Avoid tunnels, underpasses and flooded streets. Do not drive through standing water.",
        "Vermijd tunnels, onderdoorgangen en ondergelopen straten. Rijd niet door water op de weg.",
    ),
    "heat": (
        "Drink enough water, stay out of the sun in the afternoon and look after people who "
        "are vulnerable.",
        "Drink voldoende water, blijf 's middags uit de zon en let op kwetsbare mensen.",
    ),
    "wind": (
        "Stay indoors where you can and beware of falling branches and loose objects.",
        "Blijf waar mogelijk binnen en pas op voor vallende takken en losse voorwerpen.",
    ),
}


def _local(t: datetime, tz: ZoneInfo) -> datetime:
    return t.astimezone(tz).replace(microsecond=0)


def _texts(d: Detection, where: str, tz: ZoneInfo) -> dict[str, tuple[str, str, str]]:
    """Per language: (event, headline, description)."""
    x: dict[str, Any] = d.details
    hazard = HAZARDS[x["hazard"]]
    unit_en, unit_nl = UNITS.get(x["quantity"], ("", ""))
    level = x.get("level")
    value = float(x["value"])
    clock = "%H:%M"
    out = {}
    for lang, unit in (("en", unit_en), ("nl", unit_nl)):
        event = hazard[lang]
        if level is None:
            headline = {
                "en": f"All clear: {event.lower()} at {where}",
                "nl": f"Alles veilig: {event.lower()} bij {where}",
            }[lang]
            body = {
                "en": f"The value at {where} ({value:.0f} {unit}) is back below the warning "
                "levels. The warning is lifted.",
                "nl": f"De waarde bij {where} ({value:.0f} {unit}) is weer onder de "
                "waarschuwingsniveaus. De waarschuwing is opgeheven.",
            }[lang]
            out[lang] = (event, headline, body)
            continue
        label = LEVEL_NAMES.get(level, {}).get(lang, level)
        headline = {
            "en": f"{label.capitalize()}: {event.lower()} at {where}",
            "nl": f"{label.capitalize()}: {event.lower()} bij {where}",
        }[lang]
        threshold = float(x["level_value"])
        if x["basis"] == "observed":
            body = {
                "en": f"Measured at {where}: {value:.0f} {unit}, at or above the {label} level "
                f"of {threshold:.0f} {unit}.",
                "nl": f"Gemeten bij {where}: {value:.0f} {unit}, op of boven het niveau "
                f"{label} van {threshold:.0f} {unit}.",
            }[lang]
        else:
            onset = _local(parse_time(x["onset"]), tz).strftime(clock)
            peak_at = _local(parse_time(x["peak_time"]), tz).strftime(clock)
            body = {
                "en": f"Forecast for {where}: the {label} level of {threshold:.0f} {unit} is "
                f"reached at about {onset}, with a peak near {float(x['peak']):.0f} {unit} at "
                f"about {peak_at} (local time). Now: {value:.0f} {unit}.",
                "nl": f"Verwachting voor {where}: het niveau {label} van {threshold:.0f} {unit} "
                f"wordt rond {onset} bereikt, met een hoogste stand van ongeveer "
                f"{float(x['peak']):.0f} {unit} rond {peak_at} (lokale tijd). Nu: "
                f"{value:.0f} {unit}.",
            }[lang]
        out[lang] = (event, headline, body)
    return out


def alert_from_warning(
    d: Detection,
    previous: Sequence[Alert],
    *,
    sent: datetime,
    sender: str,
    sender_name: str,
    area: PlatformArea | None = None,
    status: Status = Status.ACTUAL,
    web: str | None = None,
    tz: ZoneInfo | None = None,
) -> Alert:
    """The CAP alert for this version of a hazard warning.

    Args:
        d: the warning (a detection of kind ``hazard``).
        previous: the alerts already issued for earlier versions, oldest first.
        sent: when the alert is issued (with a time-zone offset).
        sender: the CAP sender (no spaces); ``sender_name`` is shown to the public.
        area: the warning's area (its polygon); ``None``: a circle around the station.
        status: ``Actual``; ``Exercise`` for the living lab.
        web: a page with more about the warning.
        tz: the time zone for local times in the text (default Europe/Amsterdam).

    Raises:
        ValueError: ``d`` is not a hazard warning.
    """
    if d.kind != "hazard":
        raise ValueError(f"detection {d.id} is a {d.kind}, not a hazard warning")
    tz = tz or ZoneInfo("Europe/Amsterdam")
    x = d.details
    level = x.get("level")
    clear = level is None
    station = d.sensors[0] if d.sensors else "the station"
    where = str(x.get("station_name") or x.get("area_name") or station)
    if area is not None:
        ring = [(lat, lon) for lon, lat in area.polygon]
        cap_area = Area(area.name, polygons=((*ring, ring[0]),))
    elif d.position is not None:
        radius = float(x.get("radius_km") or 2.0)
        cap_area = Area(
            f"{radius:g} km around {station}",
            circles=(Circle(d.position.lat, d.position.lon, radius),),
        )
    else:
        raise ValueError(f"warning {d.id} has neither an area nor a position")

    if clear:
        urgency, severity, certainty = Urgency.PAST, Severity.MINOR, Certainty.OBSERVED
        response: tuple[ResponseType, ...] = (ResponseType.ALL_CLEAR,)
        onset = None
        expires = sent + timedelta(hours=1)
    else:
        severity = SEVERITY.get(str(level), Severity.MODERATE)
        response = (ResponseType.MONITOR,)
        if x["basis"] == "observed":
            urgency, certainty = Urgency.IMMEDIATE, Certainty.OBSERVED
        else:
            soon = x.get("lead_time_s") is not None and float(x["lead_time_s"]) <= 3600
            urgency = Urgency.IMMEDIATE if soon else Urgency.EXPECTED
            certainty = Certainty.LIKELY if d.probability >= 0.5 else Certainty.POSSIBLE
        onset = parse_time(x["onset"]) if x.get("onset") else None
        peak_end = parse_time(x["peak_time"]) + timedelta(hours=3)
        expires = max(sent + timedelta(hours=6), peak_end)
    parameters = [
        ValuePair("stadswacht:threshold", str(x["threshold"])),
        ValuePair("stadswacht:level", str(level or "none")),
        ValuePair("stadswacht:value", f"{float(x['value']):g}"),
        ValuePair("stadswacht:basis", str(x.get("basis"))),
        ValuePair("awareness_type", AWARENESS_TYPE[x["hazard"]]),
    ]
    if level in AWARENESS_LEVEL:
        parameters.insert(0, Parameter("awareness_level", AWARENESS_LEVEL[str(level)]))
    texts = _texts(d, where, tz)
    instruction = INSTRUCTION[x["hazard"]]
    infos = tuple(
        Info(
            category=(Category(HAZARDS[x["hazard"]]["category"]),),
            event=texts[lang][0],
            urgency=urgency,
            severity=severity,
            certainty=certainty,
            language=tag,
            response_type=response,
            event_codes=(ValuePair("stadswacht", str(x["hazard"])),),
            effective=sent,
            onset=onset,
            expires=expires,
            sender_name=sender_name,
            headline=texts[lang][1],
            description=texts[lang][2],
            instruction=None if clear else instruction[0 if lang == "en" else 1],
            web=web,
            parameters=tuple(parameters),
            areas=(cap_area,),
        )
        for lang, tag in (("nl", LANG_NL), ("en", LANG_EN))
    )
    identifier = f"stadswacht-{d.id}-v{d.version}"
    if previous:
        return update(previous[-1], identifier=identifier, sent=sent, infos=infos)
    return Alert(
        identifier=identifier,
        sender=sender,
        sent=sent,
        status=status,
        msg_type=MsgType.ALERT,
        scope=Scope.PUBLIC,
        infos=infos,
    )

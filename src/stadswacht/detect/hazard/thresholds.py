"""Warning thresholds: which quantity, at which station, crossing which levels, how.

Three kinds of threshold, after Delft-FEWS's threshold types:

- ``level``: the value itself crosses a level (water at 220 cm NAP; 30 °C);
- ``rate``: the rate of rise over ``window_s`` crosses a level [unit per hour] (a dike
  pumping station in trouble shows as a rising level long before the level itself is high);
- ``maximum``: the largest value within ``window_s`` crosses a level (a wind gust);
- ``sum``: the total over ``window_s`` crosses a level (rain: 25 mm in an hour).

Each threshold has ordered levels (pre-warning, yellow, orange, red; at least one) and a
hysteresis: a level is left only when the value falls ``hysteresis`` below it, so a warning
does not flap on noise. Levels default to the public ones where there are any:
:data:`RWS_LEVELS_CM_NAP` (Rijkswaterstaat's water-level levels at the coast) and
:data:`KNMI_CRITERIA` (after KNMI's weather-warning criteria; check the current ones before
using them operationally).

>>> t = Threshold.model_validate({"id": "sch-level", "device": "sch-wg-01",
...     "quantity": "water_level.level_cm_nap", "hazard": "flood",
...     "levels": {"pre-warning": 200, "yellow": 220, "orange": 280, "red": 365}})
>>> [lv.name for lv in t.levels], t.level_index(230.0), t.level_index(199.0)
(['pre-warning', 'yellow', 'orange', 'red'], 1, -1)
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from stadswacht.errors import ConfigurationError
from stadswacht.model.area import AgencyId, AreaId
from stadswacht.model.device import DeviceId

__all__ = [
    "HAZARDS",
    "KNMI_CRITERIA",
    "LEVEL_NAMES",
    "RWS_LEVELS_CM_NAP",
    "Level",
    "Threshold",
    "read_thresholds",
    "threshold_from_dict",
]

LEVEL_NAMES: dict[str, dict[str, str]] = {
    "pre-warning": {"en": "pre-warning", "nl": "voorwaarschuwing"},
    "yellow": {"en": "code yellow", "nl": "code geel"},
    "orange": {"en": "code orange", "nl": "code oranje"},
    "red": {"en": "code red", "nl": "code rood"},
}
"""The usual level names, in English and Dutch (other names are used as given)."""

HAZARDS: dict[str, dict[str, str]] = {
    "flood": {"en": "High water", "nl": "Hoogwater", "category": "Met"},
    "rain": {"en": "Heavy rain", "nl": "Zware neerslag", "category": "Met"},
    "heat": {"en": "Heat", "nl": "Hitte", "category": "Met"},
    "wind": {"en": "Severe gusts", "nl": "Zware windstoten", "category": "Met"},
}
"""Hazards a threshold can warn of: event names in English and Dutch, and the CAP category."""

RWS_LEVELS_CM_NAP: dict[str, dict[str, float]] = {
    "HOEKVHLD": {"pre-warning": 200, "yellow": 220, "orange": 280, "red": 365},
    "VLISSGN": {"pre-warning": 310, "yellow": 330, "orange": 370, "red": 410},
}
"""Rijkswaterstaat's water-level warning levels [cm NAP] at Hoek van Holland and Vlissingen."""

KNMI_CRITERIA: dict[str, dict[str, Any]] = {
    "rain": {
        "quantity": "rain.rain_mm",
        "kind": "sum",
        "window_s": 3600.0,
        "levels": {"yellow": 25.0, "orange": 50.0},
        "hysteresis": 2.0,
    },
    "heat": {
        "quantity": "temperature.temperature_c",
        "kind": "maximum",
        "window_s": 86400.0,
        "levels": {"yellow": 30.0, "orange": 35.0, "red": 40.0},
        "hysteresis": 1.0,
    },
    "wind": {
        "quantity": "wind.gust_ms",
        "kind": "maximum",
        "window_s": 600.0,
        "levels": {"yellow": 20.8, "orange": 27.8, "red": 33.3},
        "hysteresis": 2.0,
    },
}
"""Default thresholds per weather hazard, after KNMI's warning criteria (rain 25/50 mm an hour,
heat 30/35/40 °C, gusts 75/100/120 km/h); KNMI weighs more than one station's value and the
criteria change: a deployment sets its own."""


class Level(BaseModel):
    """One warning level: a name (``yellow``) and the value it starts at."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(min_length=1, max_length=40, pattern=r"^[a-z][a-z0-9-]*$")
    value: float = Field(allow_inf_nan=False)

    def label(self, language: str) -> str:
        """The level's name in ``language`` (``en`` or ``nl``)."""
        return LEVEL_NAMES.get(self.name, {}).get(language, self.name)


class Threshold(BaseModel):
    """The warning levels of one quantity at one station.

    ``quantity`` is ``<reading kind>.<value>`` (``water_level.level_cm_nap``). ``levels`` may be
    given as a mapping ``name: value`` in order of rising severity. ``area`` is the area the
    warning is for (its polygon goes into the CAP alert; without one, a circle of
    ``radius_km`` around the station). ``forecast``: warn on the water-level forecast too, up to
    ``lead_time_s`` ahead.
    """

    model_config = ConfigDict(frozen=True)

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    device: DeviceId
    name: str | None = Field(
        default=None, max_length=120, description="Where, as the public knows it (alert text)"
    )
    quantity: str = Field(pattern=r"^[a-z_]+\.[a-z_0-9]+$")
    hazard: Literal["flood", "rain", "heat", "wind"]
    kind: Literal["level", "rate", "maximum", "sum"] = "level"
    window_s: float = Field(default=3600.0, gt=0, le=7 * 86400)
    levels: tuple[Level, ...] = Field(min_length=1)
    hysteresis: float = Field(default=0.0, ge=0)
    area: AreaId | None = None
    radius_km: float = Field(default=2.0, gt=0, le=500)
    agency: AgencyId | None = None
    forecast: bool = False
    lead_time_s: float = Field(default=6 * 3600.0, gt=0, le=5 * 86400)
    update_interval_s: float = Field(
        default=1800.0, ge=0, description="Least time between two updates at the same level [s]"
    )

    @field_validator("levels", mode="before")
    @classmethod
    def _levels(cls, v: Any) -> Any:
        if isinstance(v, dict):
            return tuple({"name": k, "value": x} for k, x in v.items())
        return v

    @field_validator("levels")
    @classmethod
    def _rising(cls, v: tuple[Level, ...]) -> tuple[Level, ...]:
        values = [lv.value for lv in v]
        if any(b <= a for a, b in itertools.pairwise(values)):
            raise ValueError(f"levels must rise with severity, got {values}")
        if len({lv.name for lv in v}) != len(v):
            raise ValueError("level names must be unique")
        return v

    @property
    def reading_kind(self) -> str:
        """The reading kind this threshold watches (``water_level``)."""
        return self.quantity.split(".", 1)[0]

    @property
    def value_key(self) -> str:
        """The value in the reading (``level_cm_nap``)."""
        return self.quantity.split(".", 1)[1]

    def level_index(self, value: float) -> int:
        """The highest level ``value`` reaches; -1 below all."""
        index = -1
        for i, lv in enumerate(self.levels):
            if value >= lv.value:
                index = i
        return index


def read_thresholds(path: str | Path) -> list[Threshold]:
    """Read thresholds from a YAML file: a list, or a mapping with a ``thresholds`` list.

    A threshold may name a ``preset`` instead of levels: ``rws:HOEKVHLD`` for
    Rijkswaterstaat's levels there, ``knmi:rain`` (``heat``, ``wind``) for the weather criteria.

    Raises:
        ConfigurationError: the file is missing or an entry is not valid (the message names the
            entry and the field).
    """
    p = Path(path)
    try:
        doc = yaml.safe_load(p.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigurationError(f"cannot read thresholds file {p}: {exc}") from exc
    items = doc.get("thresholds", []) if isinstance(doc, dict) else doc
    if not isinstance(items, list):
        raise ConfigurationError(f"{p}: expected a list of thresholds")
    return [threshold_from_dict(item, f"{p} entry {i + 1}") for i, item in enumerate(items)]


def threshold_from_dict(item: Any, where: str = "threshold") -> Threshold:
    """One threshold from its mapping, resolving a ``preset``; errors name ``where``."""
    if not isinstance(item, dict):
        raise ConfigurationError(f"{where}: expected a mapping, got {type(item).__name__}")
    item = dict(item)
    preset = item.pop("preset", None)
    if preset is not None:
        source, _, name = str(preset).partition(":")
        if source == "rws" and name in RWS_LEVELS_CM_NAP:
            item.setdefault("quantity", "water_level.level_cm_nap")
            item.setdefault("hazard", "flood")
            item.setdefault("hysteresis", 5.0)
            item.setdefault("levels", RWS_LEVELS_CM_NAP[name])
        elif source == "knmi" and name in KNMI_CRITERIA:
            item.setdefault("hazard", name)
            for key, value in KNMI_CRITERIA[name].items():
                item.setdefault(key, value)
        else:
            known = [f"rws:{k}" for k in RWS_LEVELS_CM_NAP] + [f"knmi:{k}" for k in KNMI_CRITERIA]
            raise ConfigurationError(f"{where}: unknown preset {preset!r}; known: {known}")
    try:
        return Threshold.model_validate(item)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        field = ".".join(str(x) for x in first["loc"]) or "threshold"
        raise ConfigurationError(f"{where}: {field}: {first['msg']}") from exc

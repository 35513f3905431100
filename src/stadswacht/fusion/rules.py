"""Correlation rules: which detections are one event, and what that does to its severity.

A :class:`CorrelationRule` names the kinds that may join one incident, how far apart in time
(``window_s``) and space (``radius_m``, or ``same_area``) their detections may be, detail keys
that must be equal (a hazard warning joins only warnings of the same hazard), and how much
each further kind of evidence raises the severity (``boost``). A :class:`RuleSet` holds the
rules, the kinds that never make an incident (fireworks), the base severity per kind and which
kind leads an incident of several.

Rules load from YAML (:func:`read_rules`)::

    ignore: [fireworks, impulsive_other]
    rules:
      - name: violence
        kinds: [gunshot, crowd, websignal]
        window_s: 600
        radius_m: 300
        same_area: true
        boost: 1

>>> r = DEFAULT_RULES.rules[0]
>>> r.name, sorted(r.kinds), r.window_s, r.radius_m
('violence', ['crowd', 'gunshot', 'websignal'], 600.0, 300.0)
>>> round(distance_m(52.0915, 4.2925, 52.0915, 4.2969))  # 0.0044 degrees east at 52° N
301
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from stadswacht.errors import ConfigurationError
from stadswacht.sharing.model import Classification

__all__ = [
    "DEFAULT_RULES",
    "EARTH_RADIUS_M",
    "CorrelationRule",
    "RuleSet",
    "distance_m",
    "read_rules",
    "rules_from_dict",
]

EARTH_RADIUS_M = 6_371_008.8
"""Mean Earth radius [m] (IUGG), for the haversine distance."""


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance between two WGS84 points [m] (haversine, spherical Earth)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


class CorrelationRule(BaseModel):
    """When detections join one incident.

    A detection joins an open incident under this rule when its kind and every kind the
    incident holds are in ``kinds``, its time is within ``window_s`` [s] of the incident's
    first to last detection, it lies within ``radius_m`` [m] of the incident's position or
    (``same_area``) in the incident's area, every detail named in ``keys`` equals the
    incident's, and (``same_agency``) it is owned by the agency that owns the incident's
    evidence. ``boost`` raises the severity by this much per kind of evidence beyond the
    first.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    kinds: frozenset[str] = Field(min_length=1)
    window_s: float = Field(gt=0)
    radius_m: float | None = Field(default=None, gt=0)
    same_area: bool = False
    same_agency: bool = False
    keys: tuple[str, ...] = ()
    boost: int = Field(default=0, ge=0, le=4)

    @model_validator(mode="after")
    def _needs_a_place(self) -> CorrelationRule:
        if self.radius_m is None and not self.same_area:
            raise ValueError(f"rule {self.name!r}: give radius_m, same_area: true, or both")
        return self


class RuleSet(BaseModel):
    """All correlation rules, and what decides an incident's kind, owner and severity.

    - ``ignore``: kinds that never make an incident (a detector's "not a gunshot" classes).
    - ``severity``: base severity (1-5) per kind; ``default_severity`` for others. A crowd or
      hazard detection's ``details.level_index`` (0 = the lowest level) adds to its base.
    - ``lead``: kinds in order of precedence; the incident's kind, owner agency, position and
      procedure are those of its evidence of the first kind listed here.
    - ``classification``: TLP per incident kind (the owner may share wider under agreements).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    rules: tuple[CorrelationRule, ...] = ()
    ignore: frozenset[str] = frozenset()
    severity: dict[str, int] = Field(default_factory=dict)
    default_severity: int = Field(default=2, ge=1, le=5)
    lead: tuple[str, ...] = ()
    classification: dict[str, Classification] = Field(default_factory=dict)
    default_classification: Classification = Classification.AMBER

    @property
    def max_window_s(self) -> float:
        """The longest time window of any rule [s]: how far back open incidents are looked for."""
        return max((r.window_s for r in self.rules), default=0.0)

    def rank(self, kind: str) -> int:
        """Precedence of ``kind`` as the lead of an incident; lower leads."""
        return self.lead.index(kind) if kind in self.lead else len(self.lead)


DEFAULT_RULES = RuleSet(
    rules=(
        CorrelationRule(
            name="violence",
            kinds=frozenset({"gunshot", "crowd", "websignal"}),
            window_s=600,
            radius_m=300,
            same_area=True,
            boost=1,
        ),
        CorrelationRule(
            name="hazard",
            kinds=frozenset({"hazard"}),
            window_s=12 * 3600,
            same_area=True,
            keys=("hazard",),
        ),
        CorrelationRule(
            name="crowd-zone", kinds=frozenset({"crowd"}), window_s=3600, same_area=True
        ),
        # Infra findings are made per affected agency (each names only its own devices), so
        # each agency gets one incident about its own devices, not one owned by another.
        CorrelationRule(
            name="infra",
            kinds=frozenset({"infra"}),
            window_s=900,
            radius_m=2000,
            same_area=True,
            same_agency=True,
        ),
    ),
    ignore=frozenset({"fireworks", "impulsive_other"}),
    severity={"gunshot": 3, "crowd": 2, "hazard": 2, "websignal": 1, "infra": 2},
    lead=("gunshot", "hazard", "infra", "crowd", "websignal"),
    classification={
        "gunshot": Classification.AMBER,
        "crowd": Classification.GREEN,
        "hazard": Classification.GREEN,
        "infra": Classification.AMBER,
    },
)
"""The rules in force when none are configured: a gunshot, a sudden crowd outflow and a burst
of posts within 10 minutes and 300 m (or in the same area) are one incident, each further kind
one severity step higher; hazard warnings of one hazard and area are one incident, and so are
crowd warnings of one zone within an hour."""


def rules_from_dict(doc: Mapping[str, Any]) -> RuleSet:
    """A rule set from a mapping (the YAML's structure); kinds left out keep the defaults.

    Raises:
        ConfigurationError: the mapping is malformed; the message names the field.
    """
    base = DEFAULT_RULES.model_dump()
    merged = {**base, **{k: v for k, v in doc.items() if v is not None}}
    try:
        return RuleSet.model_validate(merged)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigurationError(f"correlation rules: {problems}") from exc


def read_rules(path: str | Path) -> RuleSet:
    """A rule set from a YAML file (see the module docstring).

    Raises:
        ConfigurationError: the file cannot be read or is malformed.
    """
    try:
        doc = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigurationError(f"cannot read correlation rules from {path}: {exc}") from exc
    if not isinstance(doc, Mapping):
        raise ConfigurationError(f"{path}: expected a mapping with 'rules', 'ignore', ...")
    return rules_from_dict(doc)

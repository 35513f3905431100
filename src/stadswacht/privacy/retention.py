"""Retention: how long each kind of data is kept, and the job that deletes what is older.

Every data kind has a retention period; :class:`RetentionJob` deletes, on a schedule, every
record older than its period (readings by their ``time``, dead letters by their receipt,
detections by their ``time``, CAP alerts by their ``sent``). The defaults, and why:

=========================== ===== ==============================================================
data kind                   days  why
=========================== ===== ==============================================================
readings: acoustic_impulse  30    reports of impulsive sounds near people; the detection they
                                  support keeps their ids and summary. A month covers review of
                                  a detection and a complaint about one.
readings: people_count      90    the "normal for this time" band rests on 12 weeks of weekly
                                  slots (84 days); counts are aggregates, but small ones at a
                                  gate at night come close to a person.
readings: water_level,      730   physical measurements with no person in them; two winters of
rain, temperature, wind           storm season are needed to check the forecasts' skill.
readings: power, heartbeat  30    device health only; a month covers a maintenance cycle.
readings: any other kind    30    the default for raw readings.
dead letters                14    rejected requests, kept to help an integrator fix a device
                                  and to see an attack; they hold a raw payload and a
                                  pseudonymised source, so they are kept shortest.
detections                  365   what the platform found and warned about, for evaluation and
                                  accountability; one year, as police data for the daily task
                                  (Wet politiegegevens, art. 8).
CAP alerts                  1826  public warnings are public record: five years, to account for
                                  a warning (or its absence) and measure warning skill. Longer
                                  keeping is for the archive (Archiefwet), by export.
closed incidents            1826  what was done about an event, by whom and why (the timeline):
                                  five years, as for alerts. Open incidents are never deleted.
posts (web signals)         7     public posts are personal data; they are kept only to count
                                  distinct authors and to let an analyst check a burst. With
                                  the post goes its author's pseudonym (kept nowhere else).
=========================== ===== ==============================================================

A reading must be kept longer than ``max_reading_age_s`` (7 days by default): until then a
replayed reading is caught by its sequence number, after that by its age.
:meth:`RetentionPolicy.check` refuses a policy that would open that gap.

Web-signal posts (issue #10) are kept 7 days; their author pseudonyms go with them.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from stadswacht.errors import ConfigurationError, StadswachtError
from stadswacht.model.reading import READING_KINDS
from stadswacht.store.base import Store

__all__ = [
    "DEFAULT_READING_DAYS",
    "RetentionJob",
    "RetentionPolicy",
    "policy_from_dict",
    "read_retention",
]

log = logging.getLogger(__name__)

DAY_S = 86_400

DEFAULT_READING_DAYS: Mapping[str, float] = MappingProxyType(
    {
        "acoustic_impulse": 30,
        "people_count": 90,
        "water_level": 730,
        "rain": 730,
        "temperature": 730,
        "wind": 730,
        "power": 30,
        "heartbeat": 30,
    }
)
"""Retention of readings per reading kind [days]; why each, in the module docstring."""


@dataclass(frozen=True)
class RetentionPolicy:
    """How long each data kind is kept [days].

    >>> p = RetentionPolicy()
    >>> p.reading_days("people_count"), p.reading_days("unknown-kind"), p.dead_letters
    (90, 30, 14)
    >>> p.cutoffs(100 * 86_400)["dead_letters"] == 86 * 86_400 * 1_000_000
    True
    """

    readings: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_READING_DAYS))
    """Per reading kind; a kind not named keeps readings ``readings_default`` days."""
    readings_default: float = 30
    dead_letters: float = 14
    detections: float = 365
    alerts: float = 1826
    incidents: float = 1826
    """Closed incidents (resolved, false alarm), by their last activity."""
    posts: float = 7
    """Web-signal posts (pseudonymised), by the time they were posted."""

    def __post_init__(self) -> None:
        periods = {f"readings.{k}": v for k, v in self.readings.items()}
        periods.update(
            readings_default=self.readings_default,
            dead_letters=self.dead_letters,
            detections=self.detections,
            alerts=self.alerts,
            incidents=self.incidents,
            posts=self.posts,
        )
        for name, days in periods.items():
            if isinstance(days, bool) or not isinstance(days, int | float):
                raise ConfigurationError(f"retention of {name} must be a number of days: {days!r}")
            if not (math.isfinite(days) and days > 0):
                raise ConfigurationError(
                    f"retention of {name} is {days!r} days; give a positive number of days"
                )
        unknown = set(self.readings) - set(READING_KINDS)
        if unknown:
            raise ConfigurationError(
                f"retention names unknown reading kind(s) {', '.join(sorted(unknown))}; "
                f"the kinds are {', '.join(sorted(READING_KINDS))}"
            )

    def reading_days(self, kind: str) -> float:
        """How long readings of ``kind`` are kept [days]."""
        return self.readings.get(kind, self.readings_default)

    def cutoffs(self, now_s: float) -> dict[str, int]:
        """For each data kind, the time before which its records go [µs since the epoch]:
        ``readings.<kind>`` for every reading kind, ``dead_letters``, ``detections``,
        ``alerts``, ``incidents``."""

        def before(days: float) -> int:
            return int((now_s - days * DAY_S) * 1_000_000)

        out = {f"readings.{k}": before(self.reading_days(k)) for k in sorted(READING_KINDS)}
        out["dead_letters"] = before(self.dead_letters)
        out["detections"] = before(self.detections)
        out["alerts"] = before(self.alerts)
        out["incidents"] = before(self.incidents)
        out["posts"] = before(self.posts)
        return out

    def check(self, max_reading_age_s: float) -> None:
        """Refuse a policy that deletes readings a replay could still be made of.

        Raises:
            ConfigurationError: a reading kind is kept no longer than ``max_reading_age_s``.
        """
        for kind in sorted(READING_KINDS):
            if self.reading_days(kind) * DAY_S <= max_reading_age_s:
                raise ConfigurationError(
                    f"readings of {kind} are kept {self.reading_days(kind):g} days, not longer "
                    f"than STADSWACHT_MAX_READING_AGE_S ({max_reading_age_s / DAY_S:g} days): a "
                    "replayed reading would pass both the sequence and the age check; keep them "
                    "longer or lower the maximum age"
                )

    def as_table(self) -> list[dict[str, Any]]:
        """One row per data kind: ``{"data": ..., "days": ...}``, as published in the docs."""
        rows: list[dict[str, Any]] = [
            {"data": f"readings.{k}", "days": self.reading_days(k)} for k in sorted(READING_KINDS)
        ]
        rows += [
            {"data": "dead_letters", "days": self.dead_letters},
            {"data": "detections", "days": self.detections},
            {"data": "alerts", "days": self.alerts},
            {"data": "incidents", "days": self.incidents},
            {"data": "posts", "days": self.posts},
        ]
        return rows


_TOP = {"readings", "dead_letters", "detections", "alerts", "incidents", "posts"}


def policy_from_dict(doc: Any, where: str = "retention") -> RetentionPolicy:
    """A policy from a mapping that overrides some defaults (any key may be left out).

    >>> p = policy_from_dict({"readings": {"default": 20, "rain": 3650}, "dead_letters": 7})
    >>> p.reading_days("power"), p.reading_days("rain"), p.reading_days("heartbeat")
    (20, 3650, 20)
    """
    if not isinstance(doc, dict):
        raise ConfigurationError(f"{where}: expected a mapping of data kind to days")
    if "retention_days" in doc and isinstance(doc["retention_days"], dict):
        doc = doc["retention_days"]
    unknown = set(doc) - _TOP
    if unknown:
        raise ConfigurationError(
            f"{where}: unknown data kind(s) {', '.join(sorted(map(str, unknown)))}; "
            f"the kinds are {', '.join(sorted(_TOP))}"
        )
    readings_doc = doc.get("readings", {})
    if not isinstance(readings_doc, dict):
        raise ConfigurationError(f"{where}: readings must map reading kinds (or default) to days")
    readings = dict(DEFAULT_READING_DAYS)
    readings_default = RetentionPolicy.readings_default
    for kind, days in readings_doc.items():
        if kind == "default":
            readings_default = days
            # A default given in the file applies to the kinds the file does not name.
            readings = {k: v for k, v in readings.items() if k in readings_doc}
        else:
            readings[kind] = days
    kinds = ("dead_letters", "detections", "alerts", "incidents", "posts")
    fields = {k: doc[k] for k in kinds if k in doc}
    try:
        return RetentionPolicy(readings=readings, readings_default=readings_default, **fields)
    except ConfigurationError as exc:
        raise ConfigurationError(f"{where}: {exc}") from None


def read_retention(path: str | Path) -> tuple[RetentionPolicy, dict[str, Any]]:
    """Read a retention policy from a YAML file; returns ``(policy, {"source": path})``.

    The file overrides defaults, in days::

        readings:        # per reading kind; "default" for the kinds not named
          default: 30
          people_count: 120
        dead_letters: 7
        detections: 365
        alerts: 1826

    Raises:
        ConfigurationError: the file cannot be read or names an unknown kind or a bad period.
    """
    p = Path(path)
    try:
        doc = yaml.safe_load(p.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigurationError(f"cannot read retention file {p}: {exc}") from exc
    return policy_from_dict(doc if doc is not None else {}, str(p)), {"source": str(p)}


class RetentionJob:
    """Deletes everything past its retention, once (:meth:`run_once`) or on a schedule
    (:meth:`run_forever`).

    Args:
        store: where the data is.
        policy: how long each kind is kept.
        clock: the time now [s since the epoch]; a test moves it.
    """

    def __init__(
        self,
        store: Store,
        policy: RetentionPolicy | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.policy = policy or RetentionPolicy()
        self.clock = clock

    def run_once(self, now: float | None = None) -> dict[str, int]:
        """Delete what is past its retention at ``now`` (default: the clock) [s since the
        epoch]; returns how many records of each data kind went (the keys of
        :meth:`RetentionPolicy.cutoffs`). Blocking."""
        cutoffs = self.policy.cutoffs(self.clock() if now is None else now)
        deleted: dict[str, int] = {}
        for name, before_us in cutoffs.items():
            if name.startswith("readings."):
                n = self.store.purge_readings(name.removeprefix("readings."), before_us)
            elif name == "dead_letters":
                n = self.store.purge_dead_letters(before_us)
            elif name == "detections":
                n = self.store.purge_detections(before_us)
            elif name == "incidents":
                n = self.store.purge_incidents(before_us)
            elif name == "posts":
                n = self.store.purge_posts(before_us)
            else:
                n = self.store.purge_alerts(before_us)
            deleted[name] = n
        if any(deleted.values()):
            log.info(
                "retention: deleted %s",
                ", ".join(f"{n} {name}" for name, n in deleted.items() if n),
            )
        return deleted

    async def run_forever(self, interval_s: float = 3600.0) -> None:
        """Run :meth:`run_once` now and then every ``interval_s`` [s] until cancelled; a
        failing run is logged and retried at the next interval."""
        while True:
            try:
                await asyncio.to_thread(self.run_once)
            except StadswachtError:
                log.exception("retention run failed; retrying in %.0f s", interval_s)
            await asyncio.sleep(interval_s)

    def __repr__(self) -> str:
        return f"RetentionJob({dataclasses.asdict(self.policy)!r})"

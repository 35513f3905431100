"""Simulated public posts: ordinary chatter, bursts about an event, and one author's spam.

Three event types of a scenario (``docs/scenarios.md``):

- ``post_chatter``: everyday posts (weather, food, traffic) at ``rate_per_h`` by a pool of
  ``authors``, some geotagged, some naming a zone: the background a burst must stand out from.
- ``post_burst``: after something happens in a ``zone`` (``topic``: fire, fight, crowd,
  power_outage, flooding), ``posts`` posts by ``authors`` different people within
  ``duration``, front-loaded (most in the first third), NL and EN; ground truth type
  ``post_burst``, the target of the web-signal detector.
- ``post_spam``: one ``author`` posting ``posts`` times about the same ``topic`` in a zone;
  ground truth type ``post_spam``, a confuser that must give no detection.

A post is what a connector hands over: the raw handle as ``author`` and ``@mentions`` in the
text, so the replay also checks that nothing of them reaches the store. Deterministic: each
event draws from its own generator, seeded by the scenario's seed and the event id.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from stadswacht.livinglab.scenario import EventSpec, Scenario, Zone, parse_duration
from stadswacht.livinglab.simulator import TruthEvent
from stadswacht.model import Position, format_time

__all__ = ["POST_EVENTS", "TOPICS", "SimPost", "simulate_posts"]

POST_EVENTS = ("post_chatter", "post_burst", "post_spam")
"""The scenario event types that make posts."""

TOPICS: dict[str, dict[str, tuple[str, ...]]] = {
    "fire": {
        "nl": (
            "Grote brand bij {place}, veel rook!",
            "Rookwolk boven {place}, ramen dicht houden",
            "Brandweer is er al bij {place}, vlammen te zien",
            "Uitslaande brand vlakbij {place}, blijf uit de buurt",
            "Zie rook bij {place}, wat is er aan de hand?",
        ),
        "en": (
            "Huge fire near {place}, lots of smoke",
            "Smoke everywhere at {place}, keep windows closed",
            "Fire at {place}, flames visible from the street",
            "Firefighters at {place}, stay away from the area",
        ),
    },
    "fight": {
        "nl": (
            "Vechtpartij bij {place}, politie onderweg",
            "Grote vechtpartij bij {place}, er zijn gewonden",
            "Geweld bij {place}, blijf weg daar",
            "Ambulances bij {place} na een vechtpartij",
        ),
        "en": (
            "Big fight at {place}, police on the way",
            "Fight broke out near {place}, people injured",
            "Violence at {place}, avoid the area",
        ),
    },
    "crowd": {
        "nl": (
            "Veel te druk bij {place}, gedrang bij de uitgang",
            "Gevaarlijk gedrang bij {place}, mensen vallen",
            "Paniek bij {place}, iedereen duwt",
        ),
        "en": (
            "Way too crowded at {place}, people getting crushed",
            "Dangerous crush at the {place} exit",
            "Panic at {place}, everyone pushing",
        ),
    },
    "power_outage": {
        "nl": (
            "Stroomstoring bij {place}, alles donker",
            "Geen stroom meer rond {place}",
            "Stroomuitval bij {place}, verkeerslichten uit",
        ),
        "en": (
            "Power outage at {place}, everything dark",
            "Blackout around {place}, traffic lights out",
        ),
    },
    "flooding": {
        "nl": (
            "Wateroverlast bij {place}, straat staat blank",
            "Ondergelopen straten rond {place}",
        ),
        "en": ("Flooding near {place}, street under water", "{place} flooded after the rain"),
    },
}
"""Post texts per topic and language; ``{place}`` is a place name or a vague "here"."""

CHATTER: dict[str, tuple[str, ...]] = {
    "nl": (
        "Wat een mooie avond bij {place}",
        "Koffie gehaald bij {place}",
        "Lekker weer vandaag in Den Haag",
        "Iemand zin om te lunchen?",
        "Nieuwe fiets gekocht!",
        "Wie weet een goede pizzeria in de buurt van {place}?",
        "Onderweg naar huis, fijn weekend allemaal",
        "Mooie foto's gemaakt bij {place}",
    ),
    "en": (
        "Beautiful evening at {place}",
        "Great concert vibes tonight",
        "Traffic is slow on the way home",
        "Running in the park this morning",
        "The Hague is lovely in autumn",
        "Anyone know a good restaurant near {place}?",
    ),
}
"""Everyday posts; ``{place}`` as in :data:`TOPICS`."""

_VAGUE = {"nl": "de buurt", "en": "the area"}


@dataclass(frozen=True, slots=True)
class SimPost:
    """One post as a connector hands it over, and when it reaches the platform [s from the
    scenario's start]; ``event`` is the injected event it belongs to."""

    send_s: float
    post: dict[str, Any]
    event: str | None = None


def _rng(seed: int, name: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


def place_name(zone: Zone) -> str:
    """What people call a zone: its name up to `` / `` or `` (``.

    >>> from stadswacht.model import Area
    >>> z = Zone(Area(id="k", name="Koekamp (egress)", polygon=((0, 0), (1, 0), (1, 1))), 1, {})
    >>> place_name(z)
    'Koekamp'
    """
    return zone.area.name.split(" / ")[0].split(" (")[0].strip()


class _Posts:
    def __init__(self, sc: Scenario, start: datetime) -> None:
        self.sc = sc
        self.start = start
        self.zones = {z.id: z for z in sc.zones}
        self.out: list[SimPost] = []
        self.truth: list[TruthEvent] = []

    def iso(self, t: float) -> str:
        return format_time(self.start + timedelta(seconds=t))

    def point_in(self, zone: Zone, rng: np.random.Generator) -> list[float]:
        ring = zone.area.polygon
        lons, lats = [p[0] for p in ring], [p[1] for p in ring]
        for _ in range(200):
            lon = float(rng.uniform(min(lons), max(lons)))
            lat = float(rng.uniform(min(lats), max(lats)))
            if zone.area.contains(Position(lon=lon, lat=lat)):
                return [round(lon, 6), round(lat, 6)]
        return [sum(lons) / len(lons), sum(lats) / len(lats)]

    def post(
        self,
        ev: EventSpec,
        i: int,
        t: float,
        author: str,
        texts: dict[str, tuple[str, ...]],
        zone: Zone | None,
        rng: np.random.Generator,
        *,
        geotagged: float,
        named: float,
        lang_nl: float,
    ) -> None:
        lang = "nl" if rng.random() < lang_nl else "en"
        template = texts[lang][int(rng.integers(len(texts[lang])))]
        u = rng.random()
        place = ev.params.get("place") or (place_name(zone) if zone else None)
        position = None
        if zone is not None and u < geotagged:
            position = self.point_in(zone, rng)
        if place is not None and geotagged <= u < geotagged + named:
            text = template.format(place=place)
        else:
            text = template.format(place=_VAGUE[lang])
        if rng.random() < 0.3:  # a mention of someone else, which must never be stored
            text += f" @{'buur' if lang == 'nl' else 'friend'}_{int(rng.integers(1000, 9999))}"
        post: dict[str, Any] = {"id": f"{ev.id}-{i}", "text": text, "time": self.iso(t),
                                "author": author}  # fmt: skip
        if rng.random() < 0.8:
            post["lang"] = lang
        if position is not None:
            post["position"] = position
        delay = float(rng.uniform(2.0, 20.0))  # the feed's or the pusher's latency
        self.out.append(SimPost(t + delay, post, ev.id))

    def chatter(self, ev: EventSpec) -> None:
        p = ev.params
        rng = _rng(self.sc.seed, f"posts:{ev.id}")
        end = min(
            ev.at_s + parse_duration(p.get("duration", self.sc.duration_s)), self.sc.duration_s
        )
        rate = float(p.get("rate_per_h", 60)) / 3600.0
        pool = int(p.get("authors", 300))
        zones = [self.zones[z] for z in p.get("zones") or list(self.zones)]
        t, i = ev.at_s, 0
        while True:
            t += float(rng.exponential(1.0 / rate))
            if t >= end:
                break
            zone = zones[int(rng.integers(len(zones)))] if zones else None
            author = f"@resident_{int(rng.integers(pool))}"
            self.post(
                ev, i, t, author, CHATTER, zone, rng,
                geotagged=float(p.get("geotagged", 0.2)), named=float(p.get("named", 0.3)),
                lang_nl=float(p.get("lang_nl", 0.6)),
            )  # fmt: skip
            i += 1

    def burst(self, ev: EventSpec, spam: bool) -> None:
        p = ev.params
        rng = _rng(self.sc.seed, f"posts:{ev.id}")
        zone = self.zones[p["zone"]]
        span = parse_duration(p.get("duration", "30m" if spam else "20m"))
        n = int(p.get("posts", 60 if spam else 40))
        if spam:
            times = np.sort(rng.uniform(0.0, span, n))
            authors = [str(p.get("author", "@spammer"))] * n
        else:
            # Front-loaded: most people post in the first third, as after a fire or a fight.
            times = np.sort(np.minimum(rng.exponential(span / 3.0, n), span))
            k = min(int(p.get("authors", 25)), n)
            authors = [f"@{ev.id}_witness_{j}" for j in range(k)]
            authors += [authors[int(rng.integers(k))] for _ in range(n - k)]
            rng.shuffle(authors)
        texts = TOPICS[p["topic"]]
        for i, (dt, author) in enumerate(zip(times, authors, strict=True)):
            self.post(ev, i, ev.at_s + float(dt), author, texts, zone, rng,
                      geotagged=float(p.get("geotagged", 0.3)), named=float(p.get("named", 0.6)),
                      lang_nl=float(p.get("lang_nl", 0.7)))  # fmt: skip
        self.truth.append(
            TruthEvent(
                ev.id,
                "post_spam" if spam else "post_burst",
                self.iso(ev.at_s + float(times[0])),
                self.iso(ev.at_s + float(times[-1])),
                zone=zone.id,
                details={"topic": p["topic"], "posts": n, "authors": len(set(authors))},
            )
        )


def simulate_posts(sc: Scenario, start: datetime) -> tuple[list[SimPost], list[TruthEvent]]:
    """The posts of a scenario's post events, in send order, and their ground truth."""
    sim = _Posts(sc, start)
    for ev in sc.events:
        if ev.type == "post_chatter":
            sim.chatter(ev)
        elif ev.type in ("post_burst", "post_spam"):
            sim.burst(ev, spam=ev.type == "post_spam")
    sim.out.sort(key=lambda p: (p.send_s, p.post["id"]))
    return sim.out, sim.truth

"""Burst detection: more distinct people than normal posting about one kind of thing in one area.

For every area and information type (and for all safety-relevant types of an area together,
so a burst whose posts the classifier spreads over several types is still seen) the detector
keeps the normal rate of *arrivals*: posts by an author who had not posted on that key within
the window before. The test, each time a post comes, is a Poisson tail test over a sliding
window of ``window_s``:

    k = distinct authors in the window,   mu = rate * window_s,
    p = P(X >= k | Poisson(mu)),          a burst when p < alpha and k >= min_authors.

Counting authors, not posts, is what makes one author posting many times never a burst: a
spammer adds one to ``k``, however often they post. ``min_authors`` (default 5, the platform's
minimum group size) keeps a quiet area's two or three posts from being "significant".

The rate is learnt from the key's own history before the window (posts leave the window into the
baseline), with exponential forgetting (``half_life_s``) and a prior of ``prior_rate_per_h``
worth ``prior_weight_s`` of observation, so a new area starts from a stated normal and adapts.
Arrivals during a burst of the area, and that time itself, are kept out of the baseline, so a
long burst does not become normal. The approach is the space-time burst detection of
Twitcident/PublicSonar and of Kulldorff's prospective scan statistics (Kulldorff, J. R. Stat.
Soc. A 164(1), 2001), reduced to fixed areas and one window length.

An area's burst is one episode: it opens when any of its keys fires, is updated while posts keep
coming (new version when the count of authors grows), and ends when none of its keys has fired
for ``window_s``. Each episode carries up to ``max_examples`` example posts, each from a different
author, with the author replaced by a label that means something within the episode only.

>>> det = BurstDetector(BurstParams(prior_rate_per_h=1.0))
>>> out = []
>>> for i in range(8):  # eight people within four minutes
...     out += det.add(ObservedPost(f"p{i}", 1000.0 + 30 * i, "malieveld", f"a{i}",
...                                 "caution_advice", "Brand! Rook bij het Malieveld"))
>>> [(b.area, b.authors, b.version) for b in out][:1]
[('malieveld', 5, 1)]
>>> spam = BurstDetector(BurstParams(prior_rate_per_h=1.0))
>>> sum((spam.add(ObservedPost(f"s{i}", 1000.0 + 5 * i, "malieveld", "same", "caution_advice",
...                            "Brand!")) for i in range(200)), [])
[]
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from scipy.stats import poisson

__all__ = ["ALL_TYPES", "Burst", "BurstDetector", "BurstParams", "ObservedPost"]

ALL_TYPES = "*"
"""The key of all safety-relevant types of an area together."""


@dataclass(frozen=True, slots=True)
class BurstParams:
    """The detector's parameters (defaults chosen a priori, not tuned on the living lab).

    Attributes:
        window_s: the sliding window [s]; also how long an episode lasts after its last firing.
        alpha: the tail probability below which a window is a burst (1e-4: with about 100
            keys tested once a minute, about one chance alarm a week at the normal rate).
        min_authors: fewest distinct authors in a burst.
        prior_rate_per_h: the normal rate of arrivals of a key before it has a history [1/h].
        prior_weight_s: how much observation the prior is worth [s].
        half_life_s: half-life of the baseline's memory [s].
        max_examples: example posts carried by a burst.
    """

    window_s: float = 900.0
    alpha: float = 1e-4
    min_authors: int = 5
    prior_rate_per_h: float = 2.0
    prior_weight_s: float = 6 * 3600.0
    half_life_s: float = 24 * 3600.0
    max_examples: int = 3


@dataclass(frozen=True, slots=True)
class ObservedPost:
    """What the detector needs of a classified, geofenced, safety-relevant post."""

    id: str
    time_s: float
    area: str
    author: str
    info_type: str
    text: str = ""
    position: tuple[float, float] | None = None


@dataclass(frozen=True, slots=True)
class Burst:
    """One state of an area's burst episode.

    ``start_s`` is the first post of the window that first fired; ``authors`` and ``posts`` are
    the counts in the firing window with the most authors; ``expected`` the authors a normal
    window has; ``p_value`` the tail probability of that window. ``info_type`` is the most
    common type among its posts; ``types`` counts authors per type.
    """

    id: str
    area: str
    info_type: str
    start_s: float
    raised_s: float
    updated_s: float
    version: int
    status: str
    authors: int
    posts: int
    expected: float
    p_value: float
    types: dict[str, int]
    examples: list[dict[str, Any]]
    post_ids: list[str]
    positions: list[tuple[float, float]]


@dataclass
class _Key:
    window: deque[ObservedPost] = field(default_factory=deque)
    arrivals: deque[tuple[float, bool]] = field(default_factory=deque)  # (time, in baseline)
    n: float = 0.0  # decayed arrivals in the baseline
    t: float = 0.0  # decayed exposure [s]
    clock: float | None = None  # baseline is folded up to here
    last_by_author: dict[str, float] = field(default_factory=dict)


@dataclass
class _Episode:
    id: str
    start_s: float
    raised_s: float
    last_fired_s: float
    version: int
    best: tuple[int, int, float, float, str] = (0, 0, 0.0, 1.0, ALL_TYPES)
    window: list[ObservedPost] = field(default_factory=list)


class BurstDetector:
    """Bursts per area and information type (see the module docstring). Pure: no I/O, no clock
    of its own; event time comes with the posts and :meth:`advance`."""

    def __init__(self, params: BurstParams | None = None) -> None:
        self.params = params or BurstParams()
        self._keys: dict[tuple[str, str], _Key] = {}
        self._episodes: dict[str, _Episode] = {}
        self._ended_until: dict[str, float] = {}
        self._now = float("-inf")

    # --- the baseline -----------------------------------------------------------------------
    def rate(self, area: str, info_type: str) -> float:
        """The normal rate of arrivals of a key [1/s]."""
        p = self.params
        key = self._keys.get((area, info_type))
        n, t = (key.n, key.t) if key else (0.0, 0.0)
        return (n + p.prior_rate_per_h * p.prior_weight_s / 3600.0) / (t + p.prior_weight_s)

    def _fold(self, area: str, key: _Key, until: float) -> None:
        """Move arrivals older than the window into the baseline, up to ``until - window``."""
        edge = until - self.params.window_s
        if key.clock is None:
            key.clock = edge
            return
        while key.arrivals and key.arrivals[0][0] < edge:
            t, counted = key.arrivals.popleft()
            self._expose(area, key, t)
            if counted:
                key.n += 1.0
        self._expose(area, key, edge)

    def _expose(self, area: str, key: _Key, to: float) -> None:
        assert key.clock is not None
        if to <= key.clock:
            return
        decay = 0.5 ** ((to - key.clock) / self.params.half_life_s)
        key.n *= decay
        # Time inside a burst of the area is not normal time.
        if area not in self._episodes and to > self._ended_until.get(area, float("-inf")):
            key.t = key.t * decay + (to - key.clock)
        else:
            key.t *= decay
        key.clock = to

    # --- feeding ----------------------------------------------------------------------------
    def add(self, post: ObservedPost) -> list[Burst]:
        """Count one safety-relevant post; return the bursts that opened or grew."""
        self._now = max(self._now, post.time_s)
        out: list[Burst] = []
        fired: list[tuple[int, int, float, float, str, list[ObservedPost]]] = []
        for info_type in (post.info_type, ALL_TYPES):
            key = self._keys.setdefault((post.area, info_type), _Key())
            self._fold(post.area, key, self._now)
            last = key.last_by_author.get(post.author)
            if last is None or post.time_s - last >= self.params.window_s:
                key.arrivals.append((post.time_s, post.area not in self._episodes))
            key.last_by_author[post.author] = post.time_s
            key.window.append(post)
            self._trim(key)
            authors = len({p.author for p in key.window})
            if authors < self.params.min_authors:
                continue
            mu = self.rate(post.area, info_type) * self.params.window_s
            p_value = float(poisson.sf(authors - 1, mu))
            if p_value < self.params.alpha:
                fired.append((authors, len(key.window), mu, p_value, info_type, list(key.window)))
        if fired:
            best = max(fired, key=lambda f: (f[0], -f[3]))
            burst = self._fire(post.area, best)
            if burst is not None:
                out.append(burst)
        return out

    def advance(self, now_s: float) -> list[Burst]:
        """Move event time on; return the bursts that ended."""
        self._now = max(self._now, now_s)
        out: list[Burst] = []
        for area, ep in list(self._episodes.items()):
            if self._now - ep.last_fired_s >= self.params.window_s:
                del self._episodes[area]
                self._ended_until[area] = ep.last_fired_s
                out.append(self._burst(area, ep, "ended"))
        return out

    def _trim(self, key: _Key) -> None:
        edge = self._now - self.params.window_s
        while key.window and key.window[0].time_s < edge:
            key.window.popleft()
        if len(key.last_by_author) > 4 * len(key.window) + 64:
            key.last_by_author = {
                a: t for a, t in key.last_by_author.items() if t >= edge - self.params.window_s
            }

    def _fire(
        self, area: str, f: tuple[int, int, float, float, str, list[ObservedPost]]
    ) -> Burst | None:
        authors, posts, mu, p_value, info_type, window = f
        ep = self._episodes.get(area)
        if ep is None:
            start = window[0].time_s
            ep = _Episode(f"websignal-{area}-{int(start)}", start, self._now, self._now, 0)
            self._episodes[area] = ep
        ep.last_fired_s = self._now
        if authors <= ep.best[0]:
            return None
        ep.best = (authors, posts, mu, p_value, info_type)
        ep.window = window
        ep.version += 1
        return self._burst(area, ep, "active")

    def _burst(self, area: str, ep: _Episode, status: str) -> Burst:
        authors, posts, mu, p_value, _ = ep.best
        types: dict[str, int] = {}
        seen: set[tuple[str, str]] = set()
        for p in ep.window:
            if (p.author, p.info_type) not in seen:
                seen.add((p.author, p.info_type))
                types[p.info_type] = types.get(p.info_type, 0) + 1
        labels: dict[str, str] = {}
        examples: list[dict[str, Any]] = []
        for p in ep.window:
            if p.author in labels or len(examples) >= self.params.max_examples:
                continue
            labels[p.author] = f"author-{len(labels) + 1}"
            examples.append(
                {"id": p.id, "time_s": p.time_s, "text": p.text, "info_type": p.info_type,
                 "author": labels[p.author]}
            )  # fmt: skip
        if status == "ended":
            ep.version += 1
        dominant = max(types, key=lambda t: (types[t], t)) if types else ALL_TYPES
        return Burst(
            id=ep.id,
            area=area,
            info_type=dominant,
            start_s=ep.start_s,
            raised_s=ep.raised_s,
            updated_s=self._now,
            version=ep.version,
            status=status,
            authors=authors,
            posts=posts,
            expected=round(mu, 4),
            p_value=p_value,
            types=types,
            examples=examples,
            post_ids=[p.id for p in ep.window],
            positions=[p.position for p in ep.window if p.position is not None],
        )

    @property
    def active(self) -> list[str]:
        """Areas with a burst going on."""
        return sorted(self._episodes)

    def __repr__(self) -> str:
        return f"BurstDetector({self.params!r}, keys={len(self._keys)})"

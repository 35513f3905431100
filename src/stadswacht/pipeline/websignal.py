"""The web-signal stage: posts in, pseudonymised and annotated, bursts out as detections.

- :class:`PostIntake` takes posts from a connector (a feed, the push endpoint, a replay file),
  makes each safe on arrival (:func:`~stadswacht.detect.websignal.post.parse_post`: author and
  id pseudonymised, handles in the text replaced), geofences and classifies them
  (:class:`~stadswacht.detect.websignal.annotate.Annotator`), stores them, and hands them to a
  :class:`WebsignalStage` if it has one. One bad post is rejected with its index and reason; the
  rest of its batch is kept.
- :class:`WebsignalStage` has the shape of the other detector stages
  (:class:`~stadswacht.pipeline.offline.Stage`: ``watermark``, ``handle``, ``advance``) but is
  fed posts (documents with ``kind: "post"``): it runs the
  :class:`~stadswacht.detect.websignal.burst.BurstDetector` and turns bursts into
  :class:`~stadswacht.model.Detection` of kind ``websignal``, classified by the sharing defaults.
  No I/O.
- :class:`FeedPoller` polls the deployment's RSS/Atom feeds into an intake.
- :func:`evaluate_replayed` runs a living-lab simulation's posts through intake and stage on the
  simulated clock (``stadswacht evaluate``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from stadswacht.config import Settings
from stadswacht.detect.websignal.annotate import Annotator, Classifier, default_classifier
from stadswacht.detect.websignal.burst import Burst, BurstDetector, BurstParams, ObservedPost
from stadswacht.detect.websignal.connectors import FeedSpec, get_feed
from stadswacht.detect.websignal.geofence import Gazetteer, Geofence, read_gazetteer
from stadswacht.detect.websignal.keywords import KeywordLayer, read_keywords
from stadswacht.detect.websignal.post import InvalidPost, Post, parse_post
from stadswacht.errors import StadswachtError
from stadswacht.model import Area, Detection, Position
from stadswacht.model.reading import epoch_seconds, format_epoch
from stadswacht.privacy.pseudonym import Pseudonymiser, pseudonymiser_from_settings
from stadswacht.sharing.defaults import classification_of
from stadswacht.sharing.model import ObjectKind
from stadswacht.store import Store
from stadswacht.store.base import StoredPost

__all__ = [
    "FeedPoller",
    "IntakeResult",
    "PostIntake",
    "Rejected",
    "WebsignalService",
    "WebsignalStage",
    "evaluate_replayed",
]

log = logging.getLogger(__name__)

MAX_EVIDENCE = 100
"""Most post ids a detection lists as evidence."""


def _type_names() -> dict[str, dict[str, str]]:
    try:
        from stadswacht.detect.websignal.classify import INFO_TYPE_NAMES
    except ImportError:  # pragma: no cover - the classifier ships with the package
        return {}
    return dict(INFO_TYPE_NAMES)


def _decimal_comma(value: float, digits: int = 1) -> str:
    """``value`` as Dutch writes it: a decimal comma.

    >>> _decimal_comma(0.5), _decimal_comma(12.25, 2)
    ('0,5', '12,25')
    """
    return f"{value:.{digits}f}".replace(".", ",")


def _centroid(area: Area) -> Position:
    ring = area.polygon
    return Position(
        lon=sum(p[0] for p in ring) / len(ring), lat=sum(p[1] for p in ring) / len(ring)
    )


@dataclass
class WebsignalStage:
    """Bursts of posts per area and information type, as detections.

    Args:
        areas: lists the platform's areas (for a burst's owner agency and position).
        agency: owner of a burst in an area without a responsible agency.
        params: the burst detector's parameters.
    """

    areas: Callable[[], list[Area]]
    agency: str = "municipality"
    params: BurstParams = field(default_factory=BurstParams)
    detector: BurstDetector = field(init=False)
    _areas: dict[str, Area] = field(default_factory=dict, init=False)
    _seen: dict[str, float] = field(default_factory=dict, init=False)
    _first: dict[str, str] = field(default_factory=dict, init=False)
    _watermark: float = field(default=float("-inf"), init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        self.detector = BurstDetector(self.params)
        self._names = _type_names()

    @property
    def watermark(self) -> float:
        """The newest event time seen [s since the Unix epoch]."""
        return self._watermark

    def handle(self, reading: Mapping[str, Any], at_s: float | None = None) -> list[Detection]:
        """Feed one post document (``kind: "post"``, as :meth:`Post.as_doc` gives; anything
        else is ignored); return the burst detections that are new or changed."""
        if reading.get("kind") != "post":
            return []
        with self._lock:  # the intake (a worker thread) and the timer both feed it
            return self._handle(reading, at_s)

    def _handle(self, reading: Mapping[str, Any], at_s: float | None) -> list[Detection]:
        t = epoch_seconds(str(reading["time"]))
        # Event time never runs ahead of the platform's clock (a post stamped in the future).
        self._watermark = max(self._watermark, t if at_s is None else min(t, at_s))
        found: list[Burst] = []
        pid = str(reading["id"])
        if (
            reading.get("relevant")
            and reading.get("area")
            and reading.get("info_type") != "not_related"
            and pid not in self._seen
        ):
            self._seen[pid] = t
            pos = reading.get("position")
            found += self.detector.add(
                ObservedPost(
                    id=pid,
                    time_s=t,
                    area=str(reading["area"]),
                    author=str(reading["author"]),
                    info_type=str(reading.get("info_type") or "other_useful"),
                    text=str(reading.get("text") or ""),
                    position=(float(pos["lon"]), float(pos["lat"])) if pos else None,
                )
            )
        found += self.detector.advance(self._watermark)
        self._forget()
        return [self._detection(b, at_s) for b in found]

    def advance(self, now_s: float, at_s: float | None = None) -> list[Detection]:
        """Move event time on to ``now_s``; return the bursts that ended."""
        with self._lock:
            self._watermark = max(self._watermark, now_s)
            return [self._detection(b, at_s) for b in self.detector.advance(self._watermark)]

    def _forget(self) -> None:
        if len(self._seen) > 10_000:
            edge = self._watermark - 2 * self.params.window_s
            self._seen = {k: t for k, t in self._seen.items() if t >= edge}

    def _area(self, area_id: str) -> Area | None:
        if area_id not in self._areas:
            self._areas = {a.id: a for a in self.areas()}
        return self._areas.get(area_id)

    def _detection(self, b: Burst, at_s: float | None) -> Detection:
        area = self._area(b.area)
        raised = format_epoch(b.updated_s if at_s is None else at_s)
        first = self._first.setdefault(b.id, raised)
        if b.positions:
            lon = sum(p[0] for p in b.positions) / len(b.positions)
            lat = sum(p[1] for p in b.positions) / len(b.positions)
            position: Position | None = Position(lon=lon, lat=lat)
        else:
            position = _centroid(area) if area is not None else None
        names = self._names.get(b.info_type, {"en": b.info_type, "nl": b.info_type})
        zone = area.name if area is not None else b.area
        summary_en = (
            f"web signals: {b.authors} people posting about {names['en'].lower()} in {zone} "
            f"(normally {b.expected:.1f} in {self.params.window_s / 60:.0f} min)"
        )
        summary_nl = (
            f"websignalen: {b.authors} mensen posten over {names['nl'].lower()} in {zone} "
            f"(normaal {_decimal_comma(b.expected)} per {self.params.window_s / 60:.0f} min)"
        )
        doc: dict[str, Any] = {"kind": "websignal"}
        return Detection(
            id=b.id,
            kind="websignal",
            detector="websignal",
            agency=(area.agency if area is not None and area.agency else self.agency),
            area=b.area,
            time=format_epoch(b.start_s),
            detected_at=first,
            updated_at=raised,
            version=b.version,
            position=position,
            probability=round(min(max(1.0 - b.p_value, 0.0), 1.0), 6),
            evidence=b.post_ids[:MAX_EVIDENCE],
            details={
                "status": b.status,
                "info_type": b.info_type,
                "info_type_name": names,
                "authors": b.authors,
                "posts": b.posts,
                "expected_authors": b.expected,
                "p_value": b.p_value,
                "window_s": self.params.window_s,
                "authors_by_type": b.types,
                "examples": [
                    {
                        **{k: v for k, v in e.items() if k != "time_s"},
                        "time": format_epoch(e["time_s"]),
                    }
                    for e in b.examples
                ],
                "summary_en": summary_en,
                "summary_nl": summary_nl,
            },
            classification=classification_of(ObjectKind.DETECTION, doc).value,
        )


@dataclass(frozen=True, slots=True)
class Rejected:
    """A post of a batch that was not accepted: its index, reason code and message."""

    index: int
    reason: str
    message: str


@dataclass
class IntakeResult:
    """What became of a batch: the posts that passed their checks (with their index in the
    batch), how many of them were stored before (duplicates), the rejected ones, and the
    detections raised."""

    accepted: list[tuple[int, Post]] = field(default_factory=list)
    duplicates: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    detections: list[Detection] = field(default_factory=list)

    @property
    def stored(self) -> int:
        """Posts of the batch stored now: accepted and not a duplicate."""
        return len(self.accepted) - self.duplicates

    def as_dict(self) -> dict[str, Any]:
        """The push endpoint's answer: ``accepted`` counts the posts newly stored (a duplicate
        is not among them), so ``accepted + duplicates + len(rejected)`` is the batch."""
        return {
            "accepted": self.stored,
            "duplicates": self.duplicates,
            "rejected": [
                {"index": r.index, "reason": r.reason, "message": r.message} for r in self.rejected
            ],
            "detections": [d.id for d in self.detections],
        }


class PostIntake:
    """Makes incoming posts safe, annotates, stores them and feeds the stage.

    Args:
        store: where posts are kept (pseudonymised).
        authors: pseudonymiser of author handles (context ``author``).
        ids: pseudonymiser of the sources' post ids (context ``post``).
        classifier: relevance and type of a text (default: the packaged model).
        gazetteer: place names per area; keywords: the operator's scenario terms.
        agency: owner of posts whose feed names none.
        stage: the burst stage to feed (``None``: store only).
        clock: wall clock [s], for ``received_us`` and the stage's ``at_s``.
    """

    def __init__(
        self,
        store: Store,
        *,
        authors: Pseudonymiser,
        ids: Pseudonymiser,
        classifier: Classifier | None = None,
        gazetteer: Gazetteer | None = None,
        keywords: KeywordLayer | None = None,
        agency: str = "municipality",
        stage: WebsignalStage | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if authors.context != "author" or ids.context != "post":
            raise ValueError("authors needs the 'author' pseudonym context, ids the 'post' one")
        self.store = store
        self.authors = authors
        self.ids = ids
        self.classifier = classifier if classifier is not None else default_classifier()
        self.gazetteer = gazetteer
        self.keywords = keywords
        self.agency = agency
        self.stage = stage
        self.clock = clock
        self._areas: list[Area] | None = None
        self._annotator: Annotator | None = None

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        store: Store,
        *,
        classifier: Classifier | None = None,
        stage: WebsignalStage | None = None,
    ) -> PostIntake:
        """An intake with the settings' pseudonym key, gazetteer, keywords and agency."""
        gazetteer = read_gazetteer(settings.websignal_gazetteer_file)[0]
        keywords = read_keywords(settings.websignal_keywords_file)[0]
        return cls(
            store,
            authors=pseudonymiser_from_settings(settings, "author"),
            ids=pseudonymiser_from_settings(settings, "post"),
            classifier=classifier,
            gazetteer=gazetteer,
            keywords=keywords,
            agency=settings.websignal_agency,
            stage=stage,
        )

    def annotator(self) -> Annotator:
        """The annotator over the store's current areas (rebuilt when they change)."""
        areas = self.store.list_areas()
        if self._annotator is None or areas != self._areas:
            self._areas = areas
            self._annotator = Annotator(
                Geofence(areas, self.gazetteer), self.classifier, self.keywords
            )
        return self._annotator

    def ingest(
        self, items: Sequence[Any], source: str, *, agency: str | None = None
    ) -> IntakeResult:
        """Accept what can be accepted of a batch (blocking: it stores).

        ``items`` are post objects; an item that is an :class:`InvalidPost` already (from a
        connector) is rejected as it is.

        Raises:
            ValueError: ``source`` is not a valid source id.
            StorageError: the store failed; nothing of the batch was stored.
        """
        now = self.clock()
        received_us = int(now * 1_000_000)
        result = IntakeResult()
        parsed: list[tuple[int, Post]] = []
        for i, item in enumerate(items):
            try:
                if isinstance(item, InvalidPost):
                    raise item
                post = parse_post(
                    item,
                    source=source,
                    agency=agency or self.agency,
                    received_us=received_us,
                    author_pseudonym=self.authors.pseudonym,
                    id_pseudonym=self.ids.pseudonym,
                )
            except InvalidPost as exc:
                result.rejected.append(Rejected(i, exc.reason, exc.message))
                continue
            parsed.append((i, post))
        annotated = self.annotator().annotate([p for _, p in parsed])
        result.accepted = [(i, p) for (i, _), p in zip(parsed, annotated, strict=True)]
        new = self.store.put_posts([_stored(p) for _, p in result.accepted])
        result.duplicates = len(result.accepted) - new
        if self.stage is not None:
            latest: dict[str, Detection] = {}
            for _, p in sorted(result.accepted, key=lambda ip: ip[1].time_us):
                for d in self.stage.handle(p.as_doc(), now):
                    latest[d.id] = d  # the last version of each burst
            result.detections = list(latest.values())
        return result


def _stored(p: Post) -> StoredPost:
    return StoredPost(
        id=p.id, source=p.source, agency=p.agency, area=p.area, time_us=p.time_us,
        received_us=p.received_us, author=p.author, relevant=p.relevant,
        info_type=p.info_type, doc=p.model_dump_json(),
    )  # fmt: skip


class FeedPoller:
    """Polls RSS/Atom feeds into an intake and hands the detections raised to ``emit``.

    Args:
        feeds: the feeds the deployment may read (:func:`~stadswacht.detect.websignal.
            connectors.read_feeds`).
        intake: where posts go.
        emit: called with the detections of each poll (store and publish them).
    """

    def __init__(
        self,
        feeds: Sequence[FeedSpec],
        intake: PostIntake,
        emit: Callable[[list[Detection]], None] | None = None,
    ) -> None:
        self.feeds = list(feeds)
        self.intake = intake
        self.emit = emit
        self._tasks: list[asyncio.Task[None]] = []

    def poll_once(self, feed: FeedSpec) -> IntakeResult:
        """Fetch one feed and take in its posts (blocking)."""
        items, _ = get_feed(feed.url)
        result = self.intake.ingest(items, feed.id, agency=feed.agency)
        if result.rejected:
            log.warning(
                "feed %s: %d posts rejected (first: %s)",
                feed.id,
                len(result.rejected),
                result.rejected[0].message,
            )
        if result.detections and self.emit is not None:
            self.emit(result.detections)
        return result

    async def _run(self, feed: FeedSpec) -> None:
        while True:
            try:
                await asyncio.to_thread(self.poll_once, feed)
            except (StadswachtError, OSError) as exc:
                log.warning("feed %s failed: %s; retrying in %.0f s", feed.id, exc, feed.interval_s)
            await asyncio.sleep(feed.interval_s)

    async def start(self) -> None:
        """Start polling every feed on its own interval."""
        self._tasks = [asyncio.create_task(self._run(f), name=f"feed-{f.id}") for f in self.feeds]

    async def stop(self) -> None:
        """Stop polling. Tasks of an event loop that has ended (a server stopped elsewhere)
        are let go."""
        tasks, self._tasks = self._tasks, []
        await _cancel(tasks)


class WebsignalService:
    """Web signals in a running platform: the intake (for the push endpoint), its burst stage,
    a timer that ends bursts when posts stop, and the feed poller (when
    ``settings.websignal_feeds_file`` lists feeds). Detections are stored and published like
    every detector's (:func:`stadswacht.pipeline.detectors.publish_detections`).

    Args:
        tick_s: how often the timer moves event time on [s].
    """

    def __init__(self, settings: Settings, store: Store, bus: Any, *, tick_s: float = 30.0) -> None:
        from stadswacht.detect.websignal.connectors import read_feeds

        self.store = store
        self.bus = bus
        self.tick_s = tick_s
        self.stage = WebsignalStage(areas=store.list_areas, agency=settings.websignal_agency)
        self.intake = PostIntake.from_settings(settings, store, stage=self.stage)
        feeds = (
            read_feeds(settings.websignal_feeds_file)[0] if settings.websignal_feeds_file else []
        )
        self.poller = FeedPoller(feeds, self.intake, emit=self.emit)
        self._timer: asyncio.Task[None] | None = None

    def emit(self, detections: list[Detection]) -> None:
        """Store and publish detections (blocking)."""
        from stadswacht.pipeline.detectors import publish_detections

        if detections:
            publish_detections(self.store, self.bus, detections)

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self.tick_s)
            now = time.time()
            try:
                ended = self.stage.advance(now, now)
                if ended:
                    await asyncio.to_thread(self.emit, ended)
            except StadswachtError:
                log.exception("web-signal timer failed; retrying in %.0f s", self.tick_s)

    async def start(self) -> None:
        """Start the timer and the feed poller."""
        self._timer = asyncio.create_task(self._tick(), name="websignal-timer")
        await self.poller.start()

    async def stop(self) -> None:
        """Stop the timer and the feed poller (tasks of an ended event loop are let go)."""
        await self.poller.stop()
        if self._timer is not None:
            task, self._timer = self._timer, None
            await _cancel([task])


async def _cancel(tasks: list[asyncio.Task[None]]) -> None:
    """Cancel ``tasks`` and wait for those of the running loop; a task of another loop (one
    that has ended, or runs elsewhere) cannot be awaited here, so it is only cancelled."""
    loop = asyncio.get_running_loop()
    for task in tasks:
        if task.get_loop() is loop:
            task.cancel()
        else:
            with contextlib.suppress(RuntimeError):  # that loop is closed: nothing runs it
                task.get_loop().call_soon_threadsafe(task.cancel)
    for task in tasks:
        if task.get_loop() is loop:
            with contextlib.suppress(asyncio.CancelledError):
                await task


def evaluate_replayed(platform: Any, simulation: Any) -> list[dict[str, Any]]:
    """The web-signal detections of a living-lab replay, as the evaluator takes them.

    The simulation's posts (``simulation.posts``: each with ``send_s`` and ``post``) go
    through a :class:`PostIntake` into the platform's store (pseudonymised, geofenced,
    classified), then through a :class:`WebsignalStage` on the simulated clock: each post
    reaches it at the simulated time it was sent (:func:`stadswacht.pipeline.offline.
    detect_recorded`). Each detection is ``{"type": "post_burst", "time", "detected_at",
    "zone", "position": None, "authors", "posts"}``; the position is left out of matching
    (a burst is placed by its area, not a point).
    """
    from stadswacht.pipeline.offline import detect_recorded

    posts = list(getattr(simulation, "posts", []) or [])
    if not posts:
        return []
    intake = PostIntake.from_settings(platform.settings, platform.store)
    stage = WebsignalStage(
        areas=platform.store.list_areas, agency=platform.settings.websignal_agency
    )
    start_s = simulation.start.timestamp()
    # The batch reaches the platform, on the simulated clock, when its last post is sent.
    end_s = start_s + max(p.send_s for p in posts)
    intake.clock = lambda: end_s
    result = intake.ingest([p.post for p in posts], "livinglab")
    for r in result.rejected:
        log.warning("living-lab post %d rejected: %s", r.index, r.message)
    received = sorted(
        ((start_s + posts[i].send_s, post.as_doc()) for i, post in result.accepted),
        key=lambda pair: pair[0],
    )
    found = detect_recorded([stage], received, tick_s=5.0, tail_s=2 * stage.params.window_s)
    return [
        {
            "type": "post_burst",
            "time": d.time,
            "detected_at": d.detected_at,
            "zone": d.area,
            "position": None,
            "authors": d.details.get("authors"),
            "posts": d.details.get("posts"),
            "info_type": d.details.get("info_type"),
        }
        for d in found
        if d.kind == "websignal"
    ]

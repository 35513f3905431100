"""Annotation: where a post is (geofence) and what it is about (classifier + keyword layer).

The classifier is :class:`stadswacht.detect.websignal.classify.PostClassifier` (the packaged
model), or anything with its ``classify(texts, langs)``; :func:`default_classifier` loads it.
A deployment without the model (or a test) may run on the keyword layer alone with
:class:`KeywordOnly`, which calls nothing relevant by itself: only keyword hits count then.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol

from stadswacht.detect.websignal.geofence import Geofence
from stadswacht.detect.websignal.keywords import NOT_RELATED, KeywordLayer, combine
from stadswacht.detect.websignal.post import Post

__all__ = ["Annotator", "Classification", "Classifier", "KeywordOnly", "default_classifier"]

log = logging.getLogger(__name__)


class Classification(Protocol):
    """What the classifier says of one post (``PostClass``)."""

    @property
    def relevant(self) -> bool: ...
    @property
    def p_relevant(self) -> float: ...
    @property
    def info_type(self) -> str: ...
    @property
    def p_type(self) -> float: ...


class Classifier(Protocol):
    """Classifies texts for safety relevance and information type (``PostClassifier``)."""

    def classify(
        self, texts: Sequence[str], langs: Sequence[str | None] | None = None
    ) -> Sequence[Classification]: ...


class _Nothing:
    relevant = False
    p_relevant = 0.0
    info_type = NOT_RELATED
    p_type = 0.0


class KeywordOnly:
    """A classifier that finds nothing relevant: the keyword layer alone decides."""

    def classify(
        self, texts: Sequence[str], langs: Sequence[str | None] | None = None
    ) -> Sequence[Classification]:
        """``not_related`` for every text."""
        return [_Nothing() for _ in texts]


def default_classifier() -> Classifier:
    """The packaged text classifier; :class:`KeywordOnly` (logged) when it is not installed."""
    try:
        from stadswacht.detect.websignal.classify import PostClassifier
    except ImportError:
        log.warning("web-signal classifier not installed: only keyword hits count as relevant")
        return KeywordOnly()
    try:
        classifier: Classifier = PostClassifier.load()
    except (OSError, ValueError) as exc:
        log.warning("web-signal classifier cannot be loaded (%s): keyword layer only", exc)
        return KeywordOnly()
    return classifier


class Annotator:
    """Geofences and classifies posts; pure (the classifier is a computation).

    Args:
        geofence: finds a post's area.
        classifier: relevance and information type of a text.
        keywords: the operator's terms, folded in by :func:`~stadswacht.detect.websignal.
            keywords.combine`.
    """

    def __init__(
        self, geofence: Geofence, classifier: Classifier, keywords: KeywordLayer | None = None
    ) -> None:
        self.geofence = geofence
        self.classifier = classifier
        self.keywords = keywords

    def annotate(self, posts: Sequence[Post]) -> list[Post]:
        """The posts with ``area``, ``located_by``, ``relevant``, ``p_relevant``,
        ``info_type``, ``p_type`` and ``keywords`` set."""
        if not posts:
            return []
        classes = self.classifier.classify([p.text for p in posts], [p.lang for p in posts])
        out = []
        for post, c in zip(posts, classes, strict=True):
            hits = self.keywords.match(post.text) if self.keywords is not None else []
            relevant, p_rel, info_type, p_type = combine(
                bool(c.relevant), float(c.p_relevant), str(c.info_type), float(c.p_type), hits
            )
            if info_type == NOT_RELATED:
                relevant = False
            where = self.geofence.locate(post.position, post.place, post.text)
            out.append(
                post.model_copy(
                    update={
                        "area": where[0] if where else None,
                        "located_by": where[1] if where else None,
                        "relevant": relevant,
                        "p_relevant": round(min(max(p_rel, 0.0), 1.0), 4),
                        "info_type": info_type,
                        "p_type": round(min(max(p_type, 0.0), 1.0), 4),
                        "keywords": tuple(str(h) for h in hits),
                    }
                )
            )
        return out

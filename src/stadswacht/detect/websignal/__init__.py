"""Web signals: area-based monitoring of public posts, phenomena and places, never persons.

Public posts (text) are classified for safety relevance and information type by a small
linear model that ships inside the package (:mod:`stadswacht.detect.websignal.classify`).

Contract: posts are made safe on arrival (:mod:`~stadswacht.detect.websignal.post`: author and
post id as keyed pseudonyms, ``@handles`` in the text replaced); geofenced to the platform's
areas (:mod:`~stadswacht.detect.websignal.geofence`), classified and matched against the
operator's scenario terms (:mod:`~stadswacht.detect.websignal.keywords`,
:mod:`~stadswacht.detect.websignal.annotate`); a burst of distinct authors per area and
information type (:mod:`~stadswacht.detect.websignal.burst`) becomes a detection; only counts
of cells with enough authors leave by default (:mod:`~stadswacht.detect.websignal.aggregate`).
These modules do no I/O, except the connectors (:mod:`~stadswacht.detect.websignal.connectors`)
and the ``read_*`` functions of configuration files; :mod:`stadswacht.pipeline.websignal`
stores and wires them. See ``docs/websignal.md`` and ``docs/dpia-websignal.md``.
"""

from stadswacht.detect.websignal.aggregate import count_posts
from stadswacht.detect.websignal.annotate import Annotator, KeywordOnly, default_classifier
from stadswacht.detect.websignal.burst import Burst, BurstDetector, BurstParams, ObservedPost
from stadswacht.detect.websignal.geofence import Gazetteer, Geofence, read_gazetteer
from stadswacht.detect.websignal.keywords import KeywordHit, KeywordLayer, read_keywords
from stadswacht.detect.websignal.post import InvalidPost, Post, parse_post, scrub_handles

__all__ = [
    "Annotator",
    "Burst",
    "BurstDetector",
    "BurstParams",
    "Gazetteer",
    "Geofence",
    "InvalidPost",
    "KeywordHit",
    "KeywordLayer",
    "KeywordOnly",
    "ObservedPost",
    "Post",
    "count_posts",
    "default_classifier",
    "parse_post",
    "read_gazetteer",
    "read_keywords",
    "scrub_handles",
]

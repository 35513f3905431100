"""Aggregated signals: counts of posts per area and information type, for cells with enough
distinct authors only.

This is what leaves the web-signal module by default. A count rests on distinct authors, and a
cell (area x type x period) with fewer than the minimum group size (``min_published_count``,
default 5) gives neither its count of authors nor its count of posts, only a ``"<5"`` note
(:func:`stadswacht.privacy.coarsen.coarsen_counts`): a handful of authors posting about one
street is close to being about persons.

>>> posts = [{"agency": "m", "area": "a", "info_type": "caution_advice", "relevant": True,
...           "author": f"ps:author:{i:032x}"} for i in range(4)]
>>> count_posts(posts, minimum=5)[0]["authors"], count_posts(posts * 2, minimum=5)[0]["posts"]
(None, None)
>>> more = posts + [{**posts[0], "author": "ps:author:" + "f" * 32}]
>>> c = count_posts(more, minimum=5)[0]
>>> c["authors"], c["posts"], c["info_type"]
(5, 5, 'caution_advice')
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from stadswacht.privacy.coarsen import CountField, coarsen_counts

__all__ = ["COUNT_FIELDS", "count_posts"]

COUNT_FIELDS = (CountField("authors", also=("posts",), note="count_coarse"),)
"""A cell's count of authors, and with it its count of posts, coarsened together."""


def count_posts(
    posts: Iterable[Mapping[str, Any]], *, minimum: int, relevant_only: bool = False
) -> list[dict[str, Any]]:
    """Counts per ``(agency, area, info_type)`` of posts with an area; cells with fewer than
    ``minimum`` distinct authors are coarsened. Sorted by agency, area, type.

    Each cell is ``{"id", "kind": "websignal_count", "agency", "area", "info_type", "authors",
    "posts"}`` (plus ``count_coarse: "<minimum"`` when coarsened).
    """
    cells: dict[tuple[str, str, str], tuple[set[str], int]] = {}
    for p in posts:
        area = p.get("area")
        if area is None or (relevant_only and not p.get("relevant")):
            continue
        key = (str(p["agency"]), str(area), str(p.get("info_type") or "not_related"))
        authors, n = cells.get(key, (set(), 0))
        authors.add(str(p["author"]))
        cells[key] = (authors, n + 1)
    out = []
    for (agency, area, info_type), (authors, n) in sorted(cells.items()):
        doc: dict[str, Any] = {
            "id": f"{agency}:{area}:{info_type}",
            "kind": "websignal_count",
            "agency": agency,
            "area": area,
            "info_type": info_type,
            "authors": len(authors),
            "posts": n,
        }
        out.append(coarsen_counts(doc, minimum, COUNT_FIELDS))
    return out

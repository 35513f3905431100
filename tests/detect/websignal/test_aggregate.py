"""Only cells with at least the minimum number of distinct authors publish a count."""

from __future__ import annotations

from stadswacht.detect.websignal.aggregate import count_posts


def _posts(authors: int, each: int = 1, area: str = "malieveld") -> list[dict[str, object]]:
    return [
        {"agency": "municipality", "area": area, "info_type": "caution_advice",
         "author": f"ps:author:{a:032x}", "relevant": True}
        for a in range(authors) for _ in range(each)
    ]  # fmt: skip


def test_a_cell_of_four_authors_publishes_no_count_five_do() -> None:
    four = count_posts(_posts(4, each=10), minimum=5)
    assert four == [{
        "id": "municipality:malieveld:caution_advice", "kind": "websignal_count",
        "agency": "municipality", "area": "malieveld", "info_type": "caution_advice",
        "authors": None, "posts": None, "count_coarse": "<5",
    }]  # fmt: skip
    five = count_posts(_posts(5, each=2), minimum=5)
    assert five[0]["authors"] == 5 and five[0]["posts"] == 10 and "count_coarse" not in five[0]


def test_posts_without_an_area_are_counted_nowhere_and_cells_are_separate() -> None:
    posts = _posts(6) + _posts(3, area="koekamp") + [{**_posts(1)[0], "area": None}]
    cells = {c["area"]: c for c in count_posts(posts, minimum=5)}
    assert set(cells) == {"malieveld", "koekamp"}
    assert cells["malieveld"]["authors"] == 6 and cells["koekamp"]["authors"] is None

"""The posts table on both stores (SQLite and PostgreSQL), with the store contract's fixtures:
round trip, no post twice, the filters, and the purge."""

from __future__ import annotations

import json

from stadswacht.store import Store
from stadswacht.store.base import PostQuery, StoredPost

T0 = 1_795_640_400_000_000


def _post(i: int, *, area: str | None = "malieveld", agency: str = "municipality",
          relevant: bool = True, info_type: str = "caution_advice",
          time_us: int | None = None) -> StoredPost:  # fmt: skip
    author = f"ps:author:{i % 3:032x}"
    doc = json.dumps({"id": f"ps:post:{i:032x}", "text": f"post {i}", "author": author})
    received = T0 + i * 1_000_000 + 9  # 9 µs after it was posted
    posted = T0 + i * 1_000_000 if time_us is None else time_us
    return StoredPost(f"ps:post:{i:032x}", "feed-1", agency, area, posted, received,
                      author, relevant, info_type, doc)  # fmt: skip


def _empty(store: Store) -> None:
    store.purge_posts(2**62)


def test_posts_round_trip_once_in_time_order(store: Store) -> None:
    _empty(store)
    posts = [_post(i) for i in range(5)]
    assert store.put_posts(posts[::-1]) == 5
    assert store.put_posts([*posts[:2], _post(5)]) == 1  # the first two are stored already
    got = store.list_posts(PostQuery())
    assert got == [*posts, _post(5)]
    assert json.loads(got[0].doc)["text"] == "post 0"
    newest = store.list_posts(PostQuery(newest_first=True, limit=2))
    assert [p.id for p in newest] == [_post(5).id, _post(4).id]
    assert store.put_posts([]) == 0


def test_post_filters_by_area_type_relevance_time_and_agency(store: Store) -> None:
    _empty(store)
    store.put_posts([
        _post(0), _post(1, area="koekamp"), _post(2, relevant=False, info_type="not_related"),
        _post(3, agency="police"), _post(4, area=None),
    ])  # fmt: skip

    def ids(**q: object) -> list[int]:
        return [int(p.id[-3:], 16) for p in store.list_posts(PostQuery(**q))]  # type: ignore[arg-type]

    assert ids(area="koekamp") == [1]
    assert ids(relevant_only=True) == [0, 1, 3, 4]
    assert ids(info_type="not_related") == [2]
    assert ids(since_us=T0 + 1_000_000, until_us=T0 + 3_000_000) == [1, 2]
    assert ids(agencies=frozenset({"police"})) == [3]
    assert ids(agencies=frozenset()) == []


def test_purge_posts_deletes_those_posted_before_a_time(store: Store) -> None:
    _empty(store)
    store.put_posts([_post(i) for i in range(4)])
    assert store.purge_posts(T0 + 2_000_000) == 2
    assert [p.id for p in store.list_posts(PostQuery())] == [_post(2).id, _post(3).id]


def test_a_post_dated_in_the_future_is_purged_on_when_it_was_received(store: Store) -> None:
    _empty(store)
    year_2030 = 1_893_456_000_000_000
    store.put_posts([_post(0, time_us=year_2030), _post(5)])
    # Seven days after it arrived, it goes, whatever date it claims.
    assert store.purge_posts(T0 + 1_000_000) == 1
    assert [p.id for p in store.list_posts(PostQuery())] == [_post(5).id]

"""Posts are made safe on arrival: author and id pseudonymised, handles in the text replaced,
unknown fields dropped, bad posts refused with a reason."""

from __future__ import annotations

import pytest

from stadswacht.detect.websignal.post import InvalidPost, parse_post, scrub_handles
from stadswacht.privacy.pseudonym import Pseudonymiser

AUTHORS = Pseudonymiser(b"k" * 32, "author")
IDS = Pseudonymiser(b"k" * 32, "post")


def _parse(doc: object, source: str = "feed-1"):  # type: ignore[no-untyped-def]
    return parse_post(
        doc, source=source, agency="municipality", received_us=1,
        author_pseudonym=AUTHORS.pseudonym, id_pseudonym=IDS.pseudonym,
    )  # fmt: skip


def test_handles_in_text_are_replaced_but_e_mail_addresses_and_words_are_not() -> None:
    text = "@Jan_01 zag rook bij @vredespaleis; mastodon @kees@social.example.nl, mail a@b.nl"
    assert scrub_handles(text) == "@user zag rook bij @user; mastodon @user, mail a@b.nl"


def test_author_and_source_id_become_pseudonyms_and_unknown_fields_are_dropped() -> None:
    post = _parse({
        "id": "https://x.example/jan_01/status/9", "text": "Brand!  bij @jan_01",
        "time": "2026-11-25T21:00:00+01:00", "author": "@Jan_01", "lang": "NL",
        "position": [4.31, 52.08], "place": "Malieveld", "followers": 1234,
        "profile_url": "https://x.example/jan_01",
    })  # fmt: skip
    assert post.author == AUTHORS.pseudonym("jan_01")  # "@Jan_01" and "jan_01": one author
    assert post.id == IDS.pseudonym("feed-1\x00https://x.example/jan_01/status/9")
    assert post.text == "Brand! bij @user"
    assert post.time == "2026-11-25T20:00:00.000000Z" and post.lang == "nl"
    dumped = post.model_dump_json()
    assert "jan_01" not in dumped.lower() and "followers" not in dumped


def test_the_same_post_from_two_sources_gets_two_ids() -> None:
    doc = {"id": "1", "text": "t", "time": "2026-11-25T21:00:00Z", "author": "a"}
    assert _parse(doc, "feed-1").id != _parse(doc, "feed-2").id


@pytest.mark.parametrize(
    ("doc", "reason"),
    [
        ([1, 2], "not_an_object"),
        ({"time": "2026-11-25T21:00:00Z", "author": "a"}, "missing_field"),
        ({"text": " ", "time": "2026-11-25T21:00:00Z", "author": "a"}, "bad_text"),
        ({"text": "t", "time": "yesterday", "author": "a"}, "bad_time"),
        ({"text": "t", "time": "2026-11-25T21:00:00Z"}, "missing_field"),
        ({"text": "t", "time": "2026-11-25T21:00:00Z", "author": "a", "position": [200, 1]},
         "bad_position"),
        ({"text": "t", "time": "2026-11-25T21:00:00Z", "author": "a", "lang": 7}, "bad_lang"),
        ({"text": "t\udfff", "time": "2026-11-25T21:00:00Z", "author": "a"}, "bad_text"),
    ],
)  # fmt: skip
def test_a_bad_post_is_refused_with_its_reason(doc: object, reason: str) -> None:
    with pytest.raises(InvalidPost) as exc:
        _parse(doc)
    assert exc.value.reason == reason

"""Posts are made safe on arrival: author and id pseudonymised, handles in the text replaced,
unknown fields dropped, bad posts refused with a reason."""

from __future__ import annotations

import pytest

from stadswacht.detect.websignal.post import InvalidPost, parse_post, scrub_handles
from stadswacht.privacy.pseudonym import Pseudonymiser

RECEIVED_US = 1_795_640_400_000_000  # 2026-11-25T21:00:00Z, when the posts below arrive
AUTHORS = Pseudonymiser(b"k" * 32, "author")
IDS = Pseudonymiser(b"k" * 32, "post")


def _parse(doc: object, source: str = "feed-1", received_us: int = RECEIVED_US):  # type: ignore[no-untyped-def]
    return parse_post(
        doc, source=source, agency="municipality", received_us=received_us,
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


@pytest.mark.parametrize(
    ("lang", "kept"), [("nl", "nl"), ("EN", "en"), ("nl-NL", "nl"), ("en_GB", "en"), (None, None)]
)
def test_a_language_is_an_iso_639_1_code_perhaps_with_a_region(
    lang: str | None, kept: str | None
) -> None:
    doc = {"text": "t", "time": "2026-11-25T21:00:00Z", "author": "a", "lang": lang}
    assert _parse(doc).lang == kept


@pytest.mark.parametrize("lang", ["klingon", "kl-", "xx", "dutch", "nld", "", "n"])
def test_a_language_that_is_no_iso_639_1_code_is_refused(lang: str) -> None:
    doc = {"text": "t", "time": "2026-11-25T21:00:00Z", "author": "a", "lang": lang}
    with pytest.raises(InvalidPost) as exc:
        _parse(doc)
    assert exc.value.reason == "bad_lang" and repr(lang) in exc.value.message


def test_a_post_from_the_future_is_refused_but_a_clock_a_little_ahead_is_not() -> None:
    doc = {"text": "t", "time": "2030-01-01T00:00:00Z", "author": "a"}
    with pytest.raises(InvalidPost) as exc:
        _parse(doc)
    assert exc.value.reason == "bad_time"
    assert "in the future" in exc.value.message and "2030-01-01T00:00:00Z" in exc.value.message
    ahead = {"text": "t", "time": "2026-11-25T21:04:59Z", "author": "a"}  # 4:59 min ahead
    assert _parse(ahead).time == "2026-11-25T21:04:59.000000Z"
    with pytest.raises(InvalidPost):
        _parse({**ahead, "time": "2026-11-25T21:05:01Z"})


def test_a_time_that_is_no_rfc_3339_is_refused_in_one_sentence() -> None:
    with pytest.raises(InvalidPost) as exc:
        _parse({"text": "t", "time": "yesterday", "author": "a"})
    assert exc.value.message.count("yesterday") == 1
    assert exc.value.message == (
        "time 'yesterday' is not an RFC 3339 time with an offset, e.g. 2026-11-25T21:00:00Z"
    )

"""The operator's scenario terms: whole words or prefixes, and how a hit folds into the
classifier's answer."""

from __future__ import annotations

from pathlib import Path

import pytest

from stadswacht.detect.websignal.keywords import (
    KeywordLayer,
    combine,
    parse_keywords,
    read_keywords,
)
from stadswacht.errors import ConfigurationError


def test_terms_match_whole_words_phrases_and_prefixes_in_either_language() -> None:
    layer = parse_keywords({"scenarios": {"fire": [
        {"info_type": "caution_advice", "nl": ["brand", "ramen dicht", "brandweer*"],
         "en": ["smoke"]},
    ]}})  # fmt: skip
    assert [h.term for h in layer.match("BRAND! Houd de ramen   dicht")] == ["brand", "ramen dicht"]
    assert [h.term for h in layer.match("brandweerwagens en smoke")] == ["brandweer*", "smoke"]
    assert layer.match("brandstof, smokey") == []


def test_a_hit_makes_a_post_relevant_and_sets_a_weak_type() -> None:
    hit = KeywordLayer({"fire": [("caution_advice", ("rook",))]}).match("rook")
    assert combine(False, 0.1, "not_related", 0.9, hit) == (True, 0.9, "caution_advice", 0.9)
    assert combine(True, 0.7, "sympathy", 0.8, hit)[2] == "caution_advice"
    # A confident, safety-relevant type of the classifier stands.
    assert combine(True, 0.97, "infrastructure", 0.7, hit) == (True, 0.97, "infrastructure", 0.7)
    # No hit: the classifier's answer unchanged.
    assert combine(False, 0.3, "not_related", 0.6, []) == (False, 0.3, "not_related", 0.6)


def test_the_packaged_file_reads_and_a_bad_one_says_where(tmp_path: Path) -> None:
    layer, _ = read_keywords()
    assert {h.scenario for h in layer.match("Stroomstoring en rook")} == {"power", "fire"}
    bad = tmp_path / "k.yaml"
    bad.write_text("scenarios:\n  fire:\n    - {nl: [brand]}\n")
    with pytest.raises(ConfigurationError, match=r"k.yaml: scenarios.fire\[0\] needs an info_type"):
        read_keywords(bad)
    bad.write_text("scenarios:\n  fire:\n    - {info_type: x, de: [feuer]}\n")
    with pytest.raises(ConfigurationError, match="unknown key"):
        read_keywords(bad)

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from stadswacht.detect.websignal.classify import (
    FORMAT,
    INFO_TYPE_NAMES,
    INFO_TYPES,
    MODEL_DIR,
    PostClass,
    PostClassifier,
    looks_dutch,
    normalise,
    read_nl_vocabulary,
    translate_nl,
)
from stadswacht.detect.websignal.train import (
    TYPE_MAP,
    fit,
    places_pattern,
    read_crisislex,
    save,
)
from stadswacht.errors import ConfigurationError

DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "websignal" / "CrisisLexT26"


@pytest.fixture(scope="module")
def shipped() -> PostClassifier:
    return PostClassifier.load()


def test_shipped_model_is_small_plain_arrays_and_json() -> None:
    files = {f.name: f.stat().st_size for f in MODEL_DIR.iterdir()}
    assert set(files) == {"model.json", "weights.npz", "nl_en.json"}
    assert sum(files.values()) < 5_000_000
    meta = json.loads((MODEL_DIR / "model.json").read_text())
    assert meta["format"] == FORMAT
    assert meta["info_types"] == list(INFO_TYPES)
    with np.load(MODEL_DIR / "weights.npz", allow_pickle=False) as npz:
        assert all(npz[k].dtype != object for k in npz.files)


def test_every_type_has_english_and_dutch_names() -> None:
    assert set(INFO_TYPE_NAMES) == set(INFO_TYPES)
    assert all(set(v) == {"en", "nl"} and all(v.values()) for v in INFO_TYPE_NAMES.values())
    assert set(TYPE_MAP.values()) == set(INFO_TYPES)


# Dutch posts written for this test; CrisisLexT26 has no Dutch, so these check that the NL
# vocabulary carries the obvious cases, not Dutch quality.
DUTCH = [
    ("Grote brand bij het station, blijf uit de buurt", True, "caution_advice"),
    ("Drie gewonden na aanrijding op de A4, traumahelikopter geland", True, "affected_people"),
    (
        "Brug afgesloten door overstroming, verkeer wordt omgeleid via de ring",
        True,
        "infrastructure",
    ),
    ("Doneer nu voor de slachtoffers van de overstroming", True, "donations"),
    ("Sterkte aan alle slachtoffers en hun families, verschrikkelijk", False, "sympathy"),
    ("Lekker weekje vakantie gehad, nu weer aan het werk", False, "not_related"),
]

ENGLISH = [
    ("Road closed near the harbour because of flooding, use the ring road", True, "infrastructure"),
    pytest.param(
        "Stay indoors and keep windows closed, toxic smoke from the fire",
        True,
        "caution_advice",
        marks=pytest.mark.xfail(
            strict=True,
            reason="known weakness (model card): 'closed' pulls advice to infrastructure",
        ),
    ),
    ("Praying for everyone affected, thoughts are with you", False, "sympathy"),
]


@pytest.mark.parametrize(("text", "relevant", "info_type"), DUTCH)
def test_dutch_posts(shipped: PostClassifier, text: str, relevant: bool, info_type: str) -> None:
    (out,) = shipped.classify([text], ["nl"])
    assert (out.relevant, out.info_type) == (relevant, info_type)


@pytest.mark.parametrize(("text", "relevant", "info_type"), ENGLISH)
def test_english_posts(shipped: PostClassifier, text: str, relevant: bool, info_type: str) -> None:
    (out,) = shipped.classify([text], ["en"])
    assert (out.relevant, out.info_type) == (relevant, info_type)


# Sixteen Dutch posts written by the developer (the six above among them) with the labels he
# meant; the model card reports the result. A floor, so a worse vocabulary or model shows.
DUTCH_SANITY = [
    *DUTCH,
    ("Gaslek in de Spuistraat, bewoners geëvacueerd. Houd ramen en deuren gesloten", True,
     "caution_advice"),
    ("Stroomstoring in heel Den Haag, verkeerslichten doen het niet", True, "infrastructure"),
    ("Vrijwilligers gezocht om zandzakken te vullen bij de dijk", True, "donations"),
    ("Mijn gedachten zijn bij iedereen in Scheveningen", False, "sympathy"),
    ("Wat een mooie wedstrijd vanavond, gefeliciteerd Feyenoord!", False, "not_related"),
    ("NL-Alert: zware storm, blijf binnen en vermijd de kust", True, "caution_advice"),
    ("Schietpartij op het plein, politie zoekt schutter, twee doden", True, "affected_people"),
    ("Explosie in woning aan de Laan van Meerdervoort, brandweer ter plaatse", True,
     "other_useful"),
    ("Kelders ondergelopen in de hele wijk na de hoosbui", True, "infrastructure"),
    ("Trein ontspoord bij Den Haag Centraal, geen treinverkeer tot vanavond", True,
     "infrastructure"),
]  # fmt: skip


def test_dutch_sanity_set(shipped: PostClassifier) -> None:
    out = shipped.classify([t for t, _, _ in DUTCH_SANITY], ["nl"] * len(DUTCH_SANITY))
    relevance = sum(o.relevant == r for o, (_, r, _) in zip(out, DUTCH_SANITY, strict=True))
    kind = sum(o.info_type == k for o, (_, _, k) in zip(out, DUTCH_SANITY, strict=True))
    assert len(DUTCH_SANITY) == 16
    assert relevance >= 12 and kind >= 12
    # Without the vocabulary (tagged English), the same posts fare clearly worse.
    plain = shipped.classify([t for t, _, _ in DUTCH_SANITY], ["en"] * len(DUTCH_SANITY))
    plain_kind = sum(o.info_type == k for o, (_, _, k) in zip(plain, DUTCH_SANITY, strict=True))
    assert plain_kind < kind


def test_dutch_is_guessed_without_a_language_tag(shipped: PostClassifier) -> None:
    text = DUTCH[0][0]
    assert shipped.classify([text]) == shipped.classify([text], ["nl"])
    assert shipped.classify([text], ["nl"]) != shipped.classify([text], ["en"])


def test_probabilities_are_probabilities(shipped: PostClassifier) -> None:
    texts = [t for t, _, _ in DUTCH] + ["Praying for everyone", "", "@someone 123 http://t.co/x"]
    out = shipped.classify(texts)
    assert all(isinstance(o, PostClass) for o in out)
    assert all(0.0 <= o.p_relevant <= 1.0 and 0.0 < o.p_type <= 1.0 for o in out)
    assert all(o.relevant == (o.p_relevant >= shipped.threshold) for o in out)
    p_rel, p_type = shipped.probabilities(texts)
    np.testing.assert_allclose(p_rel, [o.p_relevant for o in out])
    assert p_type.shape == (len(texts), len(INFO_TYPES))
    np.testing.assert_allclose(p_type.sum(axis=1), 1.0, atol=1e-6)


def test_empty_input_and_mismatched_languages(shipped: PostClassifier) -> None:
    assert shipped.classify([]) == []
    with pytest.raises(ValueError, match="2 texts but 1 languages"):
        shipped.classify(["a", "b"], ["nl"])


def test_user_handles_links_and_numbers_are_replaced() -> None:
    text = normalise("RT @Jan_Jansen: 12 gewonden http://t.co/abc https://x.nl/y?z=1")
    assert text == "rt _user_: _num_ gewonden _url_ _url_"
    assert "jan" not in text


def test_crisis_places_are_masked() -> None:
    places = re.compile(places_pattern())
    assert normalise("#BostonMarathon blast, LAX closed, relax", places) == (
        "#_place_ blast, _place_ closed, relax"
    )


def test_dutch_vocabulary() -> None:
    vocabulary = read_nl_vocabulary()
    assert looks_dutch("Er is een brand bij het station", vocabulary)
    assert not looks_dutch("There is a fire at the station", vocabulary)
    assert translate_nl("gewonden bij explosie", vocabulary) == "injured near explosion"


def test_missing_or_foreign_model_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="retrain"):
        PostClassifier.load(tmp_path)
    (tmp_path / "model.json").write_text(json.dumps({"format": "something/else"}))
    np.savez(tmp_path / "weights.npz", x=np.zeros(1))
    with pytest.raises(ConfigurationError, match="format"):
        PostClassifier.load(tmp_path)


SMALL = {
    "caution_advice": ["stay indoors, warning issued", "avoid the area, evacuate now"],
    "affected_people": ["two dead and ten injured", "people missing after the blast"],
    "infrastructure": ["bridge closed, power outage downtown", "roads flooded and closed"],
    "donations": ["donate to the red cross now", "volunteers needed, give blood"],
    "sympathy": ["praying for the victims", "thoughts with everyone there"],
    "other_useful": ["live updates on the news channel", "photos of the scene"],
    "not_related": ["great game tonight", "my new phone is awesome"],
}


def test_fit_save_load_round_trip(tmp_path: Path) -> None:
    texts = [t for ts in SMALL.values() for t in ts] * 3
    types = [k for k, ts in SMALL.items() for _ in ts] * 3
    relevant = [t not in ("sympathy", "not_related") for t in types]
    model = fit(texts, relevant, types)
    save(model, tmp_path, {"note": "test"})
    loaded = PostClassifier.load(tmp_path)
    assert loaded.metadata["note"] == "test"
    assert loaded.vocabulary is None  # no nl_en.json beside this model
    fitted_rel, fitted_type = model.probabilities(texts)
    loaded_rel, loaded_type = loaded.probabilities(texts)
    np.testing.assert_allclose(loaded_rel, fitted_rel, atol=2e-2)  # float16 weights
    np.testing.assert_allclose(loaded_type, fitted_type, atol=2e-2)
    predicted = [o.info_type for o in loaded.classify(texts)]
    assert np.mean([p == t for p, t in zip(predicted, types, strict=True)]) > 0.9


def test_fit_needs_every_type() -> None:
    with pytest.raises(ValueError, match="donations"):
        fit(["a b", "c d"], [True, False], ["caution_advice", "not_related"])


@pytest.mark.skipif(not DATA.exists(), reason="CrisisLexT26 not on this machine")
def test_read_crisislex() -> None:
    posts, meta = read_crisislex(DATA)
    assert len(posts) == 27933
    assert len(meta["crises"]) == 26
    assert {p.info_type for p in posts} == set(INFO_TYPES)
    assert sum(p.relevant for p in posts) == 16849  # "Related and informative"


def test_read_crisislex_without_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="no CrisisLexT26 files"):
        read_crisislex(tmp_path)


def test_train_command_writes_a_loadable_model(tmp_path: Path) -> None:
    from stadswacht.detect.websignal.train import main

    inverse = {v: k for k, v in TYPE_MAP.items() if k != "Not applicable"}
    data = tmp_path / "data"
    data.mkdir()
    lines = ["Tweet ID, Tweet Text, Information Source, Information Type, Informativeness"]
    for i, (kind, texts) in enumerate(SMALL.items()):
        informative = "Not related" if kind == "not_related" else "Related and informative"
        for j, text in enumerate(texts * 3):
            lines.append(f'"{i}{j}","{text}",Media,{inverse[kind]},{informative}')
    (data / "2099_Test_crisis-tweets_labeled.csv").write_text("\n".join(lines) + "\n")
    out = tmp_path / "model"
    assert main(["--data", str(data), "--out", str(out)]) == 0
    loaded = PostClassifier.load(out)
    assert loaded.vocabulary is not None  # the NL vocabulary is copied beside the model
    assert loaded.metadata["training_posts"] == 42
    assert loaded.classify(["donate to the red cross"])[0].info_type == "donations"
    assert main(["--data", str(tmp_path / "nothing"), "--out", str(out)]) == 2

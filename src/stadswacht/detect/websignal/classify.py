"""Post classifier: safety relevance and information type of a short public post (EN/NL).

Two linear heads share one feature space: for each post, whether it is safety relevant
(CrisisLexT26's "related and informative") and which information type it carries
(:data:`INFO_TYPES`). The model is trained by :mod:`stadswacht.detect.websignal.train` on
CrisisLexT26 (Olteanu, Vieweg and Castillo 2015, "What to expect when the unexpected happens:
social media communications across crises", CSCW) and ships inside the package as plain
arrays (``model/weights.npz``, loaded with ``allow_pickle=False``) and JSON
(``model/model.json``, ``model/nl_en.json``): nothing is downloaded and nothing is unpickled.

Features (:func:`featurise`): the text is normalised (:func:`normalise`: lower case; links,
user handles and numbers become the tokens ``_url_``, ``_user_``, ``_num_``, so no handle is
ever kept; names of the training crises' places become ``_place_`` so the model cannot learn
"Boston means informative"), Dutch words are mapped to English through a small hand-written
crisis vocabulary (:func:`translate_nl`), then two hashed TF-IDF blocks are built: word 1-2
grams and character 2-5 grams within word boundaries (the character block carries spelling
variants, hashtags and Dutch compounds the vocabulary misses). Hashing (scikit-learn's
MurmurHash3, deterministic) keeps the model free of a vocabulary; each block is
sublinear-TF, IDF-weighted and L2-normalised, and the two are scaled by 1/sqrt(2) and joined.

Each head (:class:`LinearHead`) is a linear model, logistic for relevance and softmax over
the seven types; the packaged heads are each the logit mean of two logistic regressions
(:mod:`~stadswacht.detect.websignal.train`). Artefacts: about 3 MB. Classifying 1,000 posts
takes 0.1 to 0.5 s on the project's 2 shared cores (``bench/websignal.py``).

Dutch quality is not measured: no labelled Dutch posts are on the machine; see
``docs/model-cards/websignal.md``.
"""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from sklearn.feature_extraction.text import HashingVectorizer

from stadswacht.errors import ConfigurationError

__all__ = [
    "FORMAT",
    "INFO_TYPES",
    "INFO_TYPE_NAMES",
    "MODEL_DIR",
    "FeatureSpace",
    "LinearHead",
    "PostClass",
    "PostClassifier",
    "features_from_counts",
    "featurise",
    "hashed_counts",
    "looks_dutch",
    "normalise",
    "prepare",
    "read_nl_vocabulary",
    "tfidf_block",
    "translate_nl",
]

FORMAT = "stadswacht.websignal.linear/1"
"""Format tag written in ``model.json``; :meth:`PostClassifier.load` refuses any other."""

MODEL_DIR = Path(__file__).with_name("model")
"""The packaged model: ``model.json``, ``weights.npz`` and the NL vocabulary ``nl_en.json``."""

INFO_TYPES: tuple[str, ...] = (
    "caution_advice",
    "affected_people",
    "infrastructure",
    "donations",
    "sympathy",
    "other_useful",
    "not_related",
)
"""Information types, in the order of the type head's outputs."""

INFO_TYPE_NAMES: dict[str, dict[str, str]] = {
    "caution_advice": {"en": "Caution and advice", "nl": "Waarschuwing en advies"},
    "affected_people": {"en": "Affected people", "nl": "Getroffen personen"},
    "infrastructure": {
        "en": "Infrastructure and utilities",
        "nl": "Infrastructuur en voorzieningen",
    },
    "donations": {"en": "Donations and volunteering", "nl": "Donaties en vrijwilligers"},
    "sympathy": {"en": "Sympathy and support", "nl": "Medeleven en steun"},
    "other_useful": {"en": "Other useful information", "nl": "Overige nuttige informatie"},
    "not_related": {"en": "Not related", "nl": "Niet gerelateerd"},
}
"""Display names per information type id, English and Dutch."""

_URL = re.compile(r"https?://\S+|www\.\S+|\bt\.co/\S+")
_USER = re.compile(r"@\w+")
_NUM = re.compile(r"\d+(?:[.,:/]\d+)*")
_SPACE = re.compile(r"\s+")
_WORD = re.compile(r"\w+")
_WORD_NGRAM_PATTERN = r"(?u)\b\w+\b"


@dataclass(frozen=True)
class PostClass:
    """Classification of one post.

    ``relevant`` is ``p_relevant >= threshold`` (0.5 for the packaged model); ``info_type``
    is the most probable of :data:`INFO_TYPES` and ``p_type`` its probability. Both heads
    are independent: a post can be not relevant and still be typed ``sympathy``.
    """

    relevant: bool
    p_relevant: float
    info_type: str
    p_type: float


def normalise(text: str, places: re.Pattern[str] | None = None) -> str:
    """Lower-case ``text`` and replace links, handles, numbers (and places) by tokens.

    >>> normalise("RT @Jan: 3 doden bij #Boston brand http://t.co/x1",
    ...           re.compile(r"\\w*boston\\w*"))
    'rt _user_: _num_ doden bij #_place_ brand _url_'
    """
    t = html.unescape(text).lower()
    t = _URL.sub(" _url_ ", t)
    t = _USER.sub(" _user_ ", t)
    t = _NUM.sub(" _num_ ", t)
    if places is not None:
        t = places.sub("_place_", t)
    return _SPACE.sub(" ", t).strip().replace(" :", ":")


def read_nl_vocabulary(path: Path | None = None) -> dict[str, Any]:
    """Read the Dutch->English crisis vocabulary (``model/nl_en.json`` by default).

    Returns a dict with ``words`` (Dutch word -> English words), ``stop_nl`` and
    ``stop_en`` (function words used by :func:`looks_dutch`).
    """
    path = path or MODEL_DIR / "nl_en.json"
    try:
        doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"cannot read the NL vocabulary {path}: {exc}") from exc
    return doc


def looks_dutch(text: str, vocabulary: dict[str, Any]) -> bool:
    """Guess whether ``text`` is Dutch from its function words (at least 2, more than English).

    >>> looks_dutch("Grote brand bij het station, blijf uit de buurt", read_nl_vocabulary())
    True
    >>> looks_dutch("Big fire near the station, stay away", read_nl_vocabulary())
    False
    """
    words = _WORD.findall(text.lower())
    stop_nl = set(vocabulary["stop_nl"])
    stop_en = set(vocabulary["stop_en"])
    nl = sum(w in stop_nl for w in words)
    en = sum(w in stop_en for w in words)
    return nl >= 2 and nl > en


def translate_nl(text: str, vocabulary: dict[str, Any]) -> str:
    """Replace the Dutch words of ``text`` found in the vocabulary by their English words.

    Words not in the vocabulary stay as they are (names, words shared with English).

    >>> translate_nl("grote brand bij het station, blijf uit de buurt", read_nl_vocabulary())
    'big fire near the station, stay out of the area'
    """
    words: dict[str, str] = vocabulary["words"]

    def swap(match: re.Match[str]) -> str:
        return words.get(match.group(0), match.group(0))

    return _WORD.sub(swap, text)


@dataclass(frozen=True)
class FeatureSpace:
    """The hashed TF-IDF feature space shared by both heads.

    ``idf_word`` and ``idf_char`` hold one inverse document frequency per hash bucket
    (``log((1 + n) / (1 + df)) + 1``, 0 for buckets no training post hit).
    """

    word_bits: int
    char_bits: int
    idf_word: NDArray[np.float32]
    idf_char: NDArray[np.float32]
    places: re.Pattern[str] | None

    @property
    def n_features(self) -> int:
        """Width of the joined feature matrix."""
        return (1 << self.word_bits) + (1 << self.char_bits)


def _vectorisers(word_bits: int, char_bits: int) -> tuple[HashingVectorizer, HashingVectorizer]:
    common: dict[str, Any] = {
        "alternate_sign": False,
        "norm": None,
        "lowercase": False,
        "dtype": np.float32,
    }
    word = HashingVectorizer(
        analyzer="word",
        ngram_range=(1, 2),
        token_pattern=_WORD_NGRAM_PATTERN,
        n_features=1 << word_bits,
        **common,
    )
    char = HashingVectorizer(
        analyzer="char_wb", ngram_range=(2, 5), n_features=1 << char_bits, **common
    )
    return word, char


def hashed_counts(
    texts: Sequence[str], word_bits: int, char_bits: int
) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Raw hashed n-gram counts of already normalised ``texts``: (word block, char block)."""
    word, char = _vectorisers(word_bits, char_bits)
    return sp.csr_matrix(word.transform(texts)), sp.csr_matrix(char.transform(texts))


def tfidf_block(counts: sp.csr_matrix, idf: NDArray[np.float32]) -> sp.csr_matrix:
    """Sublinear TF times IDF, each row L2-normalised (an all-zero row stays zero)."""
    x = counts.copy().astype(np.float32)
    x.data = 1.0 + np.log(x.data)
    x = sp.csr_matrix(x.multiply(idf[np.newaxis, :]))
    norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sp.csr_matrix(sp.diags((1.0 / norms).astype(np.float32)) @ x)


def prepare(
    texts: Sequence[str],
    places: re.Pattern[str] | None,
    langs: Sequence[str | None] | None = None,
    vocabulary: dict[str, Any] | None = None,
) -> list[str]:
    """Normalised texts, Dutch ones translated, ready for :func:`hashed_counts`.

    A text is translated with the NL vocabulary when its language is ``"nl"`` (any
    ``nl-*`` tag), or, when its language is ``None``, when :func:`looks_dutch` says so.
    Without ``vocabulary`` no text is translated (training on CrisisLexT26).
    """
    prepared = []
    for i, text in enumerate(texts):
        t = normalise(text, places)
        if vocabulary is not None:
            lang = langs[i] if langs is not None else None
            dutch = lang.lower().startswith("nl") if lang else looks_dutch(t, vocabulary)
            if dutch:
                t = translate_nl(t, vocabulary)
        prepared.append(t)
    return prepared


def features_from_counts(
    word: sp.csr_matrix, char: sp.csr_matrix, space: FeatureSpace
) -> sp.csr_matrix:
    """Joined TF-IDF blocks, each scaled by 1/sqrt(2), from :func:`hashed_counts`."""
    scale = np.float32(1.0 / math.sqrt(2.0))
    return sp.csr_matrix(
        sp.hstack([tfidf_block(word, space.idf_word), tfidf_block(char, space.idf_char)]) * scale
    )


def featurise(
    texts: Sequence[str],
    space: FeatureSpace,
    langs: Sequence[str | None] | None = None,
    vocabulary: dict[str, Any] | None = None,
) -> sp.csr_matrix:
    """Feature matrix, shape (len(texts), space.n_features), for raw post texts."""
    prepared = prepare(texts, space.places, langs, vocabulary)
    word, char = hashed_counts(prepared, space.word_bits, space.char_bits)
    return features_from_counts(word, char, space)


@dataclass(frozen=True)
class LinearHead:
    """One or more linear models over the same features whose probabilities are averaged.

    ``coef`` has shape (n_models, n_outputs, n_features), ``intercept`` (n_models,
    n_outputs). With one output the model is logistic (P(positive)); with several, softmax.
    """

    coef: NDArray[np.float32]
    intercept: NDArray[np.float32]

    def probabilities(self, x: sp.csr_matrix) -> NDArray[np.float64]:
        """P(positive), shape (n,), for one output; class probabilities (n, k) otherwise."""
        total: NDArray[np.float64] | None = None
        for coef, intercept in zip(self.coef, self.intercept, strict=True):
            z = np.asarray(x @ coef.T.astype(np.float64)) + intercept.astype(np.float64)
            if z.shape[1] == 1:
                p = 1.0 / (1.0 + np.exp(-z[:, 0]))
            else:
                z = z - z.max(axis=1, keepdims=True)
                e = np.exp(z)
                p = e / e.sum(axis=1, keepdims=True)
            total = p if total is None else total + p
        assert total is not None
        result: NDArray[np.float64] = total / len(self.coef)
        return result


class PostClassifier:
    """Relevance and information type of public posts, from the packaged model.

    >>> clf = PostClassifier.load()
    >>> out = clf.classify(["Grote brand bij het station, blijf uit de buurt"], ["nl"])
    >>> out[0].relevant, out[0].info_type
    (True, 'caution_advice')
    """

    def __init__(
        self,
        space: FeatureSpace,
        relevance: LinearHead,
        info_type: LinearHead,
        threshold: float = 0.5,
        vocabulary: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self.space = space
        self.relevance = relevance
        self.info_type = info_type
        self.threshold = threshold
        self.vocabulary = vocabulary
        self.metadata = metadata or {}

    @classmethod
    def load(cls, path: Path | None = None) -> PostClassifier:
        """Load a model directory (``model.json`` + ``weights.npz`` + ``nl_en.json``).

        Without ``path`` the model shipped in the package is loaded. Raises
        :class:`~stadswacht.errors.ConfigurationError` when a file is missing or not a
        model of this format.
        """
        directory = path or MODEL_DIR
        try:
            meta: dict[str, Any] = json.loads((directory / "model.json").read_text("utf-8"))
            with np.load(directory / "weights.npz", allow_pickle=False) as npz:
                arrays = {k: np.asarray(npz[k]) for k in npz.files}
        except (OSError, ValueError) as exc:
            raise ConfigurationError(
                f"cannot read the web-signal model in {directory}: {exc}; retrain it with "
                "python -m stadswacht.detect.websignal.train"
            ) from exc
        if meta.get("format") != FORMAT:
            raise ConfigurationError(
                f"{directory / 'model.json'} has format {meta.get('format')!r}, expected {FORMAT!r}"
            )
        if tuple(meta.get("info_types", ())) != INFO_TYPES:
            raise ConfigurationError(
                f"{directory / 'model.json'} has information types {meta.get('info_types')}, "
                f"expected {list(INFO_TYPES)}"
            )
        places = re.compile(meta["places_pattern"]) if meta.get("places_pattern") else None
        f32 = np.float32
        space = FeatureSpace(
            word_bits=int(meta["word_bits"]),
            char_bits=int(meta["char_bits"]),
            idf_word=arrays["idf_word"].astype(f32),
            idf_char=arrays["idf_char"].astype(f32),
            places=places,
        )
        relevance = LinearHead(arrays["rel_coef"].astype(f32), arrays["rel_intercept"].astype(f32))
        info_type = LinearHead(
            arrays["type_coef"].astype(f32), arrays["type_intercept"].astype(f32)
        )
        vocab_path = directory / "nl_en.json"
        vocabulary = read_nl_vocabulary(vocab_path) if vocab_path.exists() else None
        return cls(space, relevance, info_type, float(meta.get("threshold", 0.5)), vocabulary, meta)

    def probabilities(
        self, texts: Sequence[str], langs: Sequence[str | None] | None = None
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """P(relevant), shape (n,), and P(type), shape (n, len(INFO_TYPES)), for ``texts``."""
        if langs is not None and len(langs) != len(texts):
            raise ValueError(f"{len(texts)} texts but {len(langs)} languages; give one per text")
        if not texts:
            return np.zeros(0), np.zeros((0, len(INFO_TYPES)))
        x = featurise(texts, self.space, langs, self.vocabulary)
        return self.relevance.probabilities(x), self.info_type.probabilities(x)

    def classify(
        self, texts: Sequence[str], langs: Sequence[str | None] | None = None
    ) -> list[PostClass]:
        """Classify ``texts``; ``langs`` gives each text's language tag (``"nl"``, ``"en"``,
        or ``None`` to guess Dutch from function words)."""
        p_rel, p_type = self.probabilities(texts, langs)
        best = p_type.argmax(axis=1) if len(texts) else np.zeros(0, dtype=np.int64)
        return [
            PostClass(
                relevant=bool(p_rel[i] >= self.threshold),
                p_relevant=float(p_rel[i]),
                info_type=INFO_TYPES[int(best[i])],
                p_type=float(p_type[i, best[i]]),
            )
            for i in range(len(texts))
        ]

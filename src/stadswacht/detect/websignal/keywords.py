"""The scenario-based keyword layer: search terms an operator edits, on top of the classifier.

As in PublicSonar's "scenarios", an operator keeps lists of terms per kind of event (fire,
fight, flooding, ...), in Dutch and English, each list with the information type a hit implies.
A term matches as a whole word or phrase, case-insensitively; a term ending in ``*`` matches as a
prefix, for Dutch compounds (``brandweer*`` also finds ``brandweerauto``).

How a hit combines with the classifier (:func:`combine`): a post with a hit is relevant, with
``p_relevant`` at least :data:`KEYWORD_P_RELEVANT`; its information type becomes the hit's
unless the classifier itself gave a safety-relevant type with ``p_type`` at least
:data:`CLASSIFIER_TYPE_TRUSTED`. Without a hit the classifier's answer stands.

The file (``keywords.yaml`` next to this module by default; ``STADSWACHT_WEBSIGNAL_KEYWORDS_FILE``
names another)::

    scenarios:
      fire:
        - info_type: caution_advice
          nl: [brand, rookontwikkeling, "uitslaande brand"]
          en: [fire, smoke]
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from stadswacht.errors import ConfigurationError

__all__ = [
    "CLASSIFIER_TYPE_TRUSTED",
    "KEYWORD_P_RELEVANT",
    "NOT_RELATED",
    "KeywordHit",
    "KeywordLayer",
    "combine",
    "parse_keywords",
    "read_keywords",
]

KEYWORD_P_RELEVANT = 0.9
"""The relevance probability a keyword hit raises a post to (at least)."""

CLASSIFIER_TYPE_TRUSTED = 0.6
"""A classifier type at least this probable is kept over a keyword's type."""

NOT_RELATED = "not_related"
"""The information type of a post that is about nothing the platform watches."""

_WEAK_TYPES = frozenset({NOT_RELATED, "other_useful", "sympathy"})


@dataclass(frozen=True, slots=True)
class KeywordHit:
    """One term found in a post: its scenario, the term as configured, and the type it implies."""

    scenario: str
    term: str
    info_type: str

    def __str__(self) -> str:
        return f"{self.scenario}:{self.term}"


def _term_pattern(term: str) -> str:
    prefix = term.endswith("*")
    words = [re.escape(w) for w in term.rstrip("*").split()]
    return r"(?<!\w)" + r"\s+".join(words) + ("" if prefix else r"(?!\w)")


class KeywordLayer:
    """Terms per scenario, compiled once.

    >>> layer = KeywordLayer({"fire": [("caution_advice", ("brand", "brandweer*", "fire"))]})
    >>> [str(h) for h in layer.match("Brandweerauto's bij de BRAND")]
    ['fire:brand', 'fire:brandweer*']
    >>> layer.match("Brandstof is duur")
    []
    """

    def __init__(self, scenarios: Mapping[str, Sequence[tuple[str, Sequence[str]]]]) -> None:
        self.scenarios = {k: list(v) for k, v in scenarios.items()}
        self._terms: list[tuple[KeywordHit, re.Pattern[str]]] = []
        for scenario, groups in scenarios.items():
            for info_type, terms in groups:
                for term in terms:
                    t = " ".join(str(term).split())
                    if not t.rstrip("*"):
                        raise ConfigurationError(f"keywords: scenario {scenario!r}: empty term")
                    rx = re.compile(_term_pattern(t), re.IGNORECASE | re.UNICODE)
                    self._terms.append((KeywordHit(scenario, t, info_type), rx))

    def match(self, text: str) -> list[KeywordHit]:
        """Every configured term found in ``text``, in the file's order."""
        return [hit for hit, rx in self._terms if rx.search(text)]


def combine(
    relevant: bool, p_relevant: float, info_type: str, p_type: float, hits: Sequence[KeywordHit]
) -> tuple[bool, float, str, float]:
    """The classifier's answer with the keyword hits folded in (see the module docstring).

    >>> combine(False, 0.2, "not_related", 0.7, [KeywordHit("fire", "rook", "caution_advice")])
    (True, 0.9, 'caution_advice', 0.9)
    >>> combine(True, 0.95, "affected_people", 0.8, [KeywordHit("fire", "rook", "caution_advice")])
    (True, 0.95, 'affected_people', 0.8)
    """
    if not hits:
        return relevant, p_relevant, info_type, p_type
    p = max(p_relevant, KEYWORD_P_RELEVANT)
    if info_type not in _WEAK_TYPES and p_type >= CLASSIFIER_TYPE_TRUSTED:
        return True, p, info_type, p_type
    votes: dict[str, int] = {}
    for h in hits:
        votes[h.info_type] = votes.get(h.info_type, 0) + 1
    chosen = max(votes, key=lambda t: (votes[t], -list(votes).index(t)))
    return True, p, chosen, max(p_type, KEYWORD_P_RELEVANT) if chosen != info_type else p_type


def parse_keywords(doc: Any, where: str = "keywords") -> KeywordLayer:
    """A keyword layer from its YAML document (see the module docstring).

    Raises:
        ConfigurationError: the document is not of that shape; the message says where.
    """
    if not isinstance(doc, Mapping) or not isinstance(doc.get("scenarios"), Mapping):
        raise ConfigurationError(f"{where}: expected 'scenarios:' mapping names to term groups")
    scenarios: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
    for name, groups in doc["scenarios"].items():
        if not isinstance(groups, list):
            raise ConfigurationError(f"{where}: scenarios.{name} must be a list of term groups")
        out: list[tuple[str, tuple[str, ...]]] = []
        for i, g in enumerate(groups):
            if not isinstance(g, Mapping) or not isinstance(g.get("info_type"), str):
                raise ConfigurationError(f"{where}: scenarios.{name}[{i}] needs an info_type")
            unknown = set(g) - {"info_type", "nl", "en"}
            if unknown:
                raise ConfigurationError(
                    f"{where}: scenarios.{name}[{i}]: unknown key(s) {sorted(unknown)}; "
                    "use info_type, nl, en"
                )
            terms: list[str] = []
            for lang in ("nl", "en"):
                items = g.get(lang) or []
                if not isinstance(items, list) or not all(isinstance(t, str) for t in items):
                    raise ConfigurationError(
                        f"{where}: scenarios.{name}[{i}].{lang} must be a list of terms"
                    )
                terms += items
            out.append((g["info_type"], tuple(terms)))
        scenarios[str(name)] = out
    return KeywordLayer(scenarios)


def read_keywords(path: str | Path | None = None) -> tuple[KeywordLayer, dict[str, Any]]:
    """Read a keyword file (default: the packaged ``keywords.yaml``); returns
    ``(layer, {"source"})``.

    Raises:
        ConfigurationError: the file cannot be read or is not a keyword file.
    """
    try:
        if path is None:
            text = resources.files(__package__).joinpath("keywords.yaml").read_text("utf-8")
            source = f"{__package__}/keywords.yaml"
        else:
            text, source = Path(path).read_text(encoding="utf-8"), str(path)
        doc = yaml.safe_load(text)
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigurationError(f"cannot read keyword file {path}: {exc}") from exc
    return parse_keywords(doc, source), {"source": source}

"""The algorithm register: an entry for every detector and detection kind, every field filled,
and every figure one that README.md publishes."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from stadswacht.model.detection import DETECTION_KINDS
from stadswacht.privacy.register import (
    FIELD_LABELS,
    REQUIRED_FIELDS,
    AlgorithmEntry,
    algorithm_register,
    entry_as_dict,
    missing_fields,
)

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
SRC = Path(__file__).resolve().parents[2] / "src" / "stadswacht"
ENTRIES = algorithm_register()


def _detectors_in_the_pipeline() -> set[str]:
    """Every ``detector="..."`` a pipeline stage puts on its detections."""
    found = set()
    for path in (SRC / "pipeline").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        found |= set(re.findall(r'\bdetector="([a-z_]+)"', text))
    return found


def test_every_detector_and_detection_kind_has_an_entry() -> None:
    detectors = _detectors_in_the_pipeline()
    assert detectors >= {"gunshot", "crowd", "hazard"}
    assert detectors <= {d for e in ENTRIES for d in e.detectors}
    assert set(DETECTION_KINDS) <= {k for e in ENTRIES for k in e.detection_kinds}
    ids = [e.id for e in ENTRIES]
    assert len(ids) == len(set(ids))
    assert next(e for e in ENTRIES if e.id == "websignal").status == "in development"
    hotspots = [e for e in ENTRIES if e.id.startswith("crime-hotspots-")]
    assert len(hotspots) == 6 and {e.status for e in hotspots} == {"in development"}


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.id)
def test_every_entry_fills_every_required_field(entry: AlgorithmEntry) -> None:
    assert missing_fields(entry) == []
    for name in REQUIRED_FIELDS:
        if name != "performance":
            assert str(getattr(entry, name)).strip(), name
    # Figures, or a note that says why there are none.
    assert (
        entry.performance
        or "no figure" in entry.performance_note.lower()
        or (entry.status == "planned")
    )
    for fig in entry.performance:
        assert fig.figure and fig.measured and fig.verdict and fig.command


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.id)
def test_every_figure_is_quoted_from_the_readme(entry: AlgorithmEntry) -> None:
    for fig in entry.performance:
        for number in fig.measured.replace(";", " ").replace(",", " ").split():
            if any(c.isdigit() for c in number):
                assert number.strip("()") in README, (entry.id, number)
        command = fig.command.removeprefix(".venv/bin/python ")
        assert command in README, (entry.id, fig.command)


def test_every_field_has_a_dutch_and_an_english_label() -> None:
    assert set(FIELD_LABELS) == {f.name for f in dataclasses.fields(AlgorithmEntry)}
    en, nl = entry_as_dict(ENTRIES[0], "en"), entry_as_dict(ENTRIES[0], "nl")
    assert en["human_intervention"] == nl["menselijke_tussenkomst"]
    assert en["labels"]["legal_basis"] == "Legal basis"
    assert nl["labels"]["wettelijke_basis"] == "Wettelijke basis"
    assert nl["prestaties"][0]["gemeten"] == en["performance"][0]["measured"]


def test_the_deployment_names_itself() -> None:
    (entry, *_) = algorithm_register("Gemeente Den Haag", "fg@denhaag.nl", "https://x/tree/main/")
    assert entry.organisation == "Gemeente Den Haag" and entry.contact == "fg@denhaag.nl"
    assert entry.source_code.startswith("https://x/tree/main/src/stadswacht/")

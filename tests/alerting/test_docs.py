"""docs/cap.md shows what Stadswacht really emits."""

from __future__ import annotations

import re
from pathlib import Path

from lxml import etree

from stadswacht.alerting import Alert, parse_cap, to_xml, validate

DOC = Path(__file__).parents[2] / "docs" / "cap.md"


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC.read_text("utf-8"), re.S)


def test_the_example_alert_is_what_to_xml_writes() -> None:
    shown = blocks("xml")[0].encode()
    namespace: dict[str, object] = {}
    exec(blocks("python")[0], namespace)  # the doc's own code
    alert = namespace["alert"]
    assert isinstance(alert, Alert)
    assert to_xml(alert) == shown
    validate(shown)
    assert parse_cap(shown) == alert


def test_the_example_feed_is_well_formed_atom() -> None:
    feed = etree.fromstring(blocks("xml")[-1].encode())
    assert feed.tag == "{http://www.w3.org/2005/Atom}feed"

"""Geofencing: which of the platform's areas a post is about.

In order: a post's own coordinates, inside an area's polygon (the smallest area that holds the
point, so a zone wins over the district around it; shapely, EPSG:4326); else its place name,
else its text, matched against a gazetteer of place names per area. A name matches as a whole
word or phrase, case-insensitively, NL and EN alike ("Malieveld", "het Malieveld",
"#Malieveld", not "Malieveldweg"). A text that names places of two areas goes to the one whose
name is longest (the most specific); a post with neither coordinates in an area nor a known name
is not about any area and is not counted anywhere.

The gazetteer is a YAML file the operator edits (``gazetteer.yaml`` next to this module is the
default; ``STADSWACHT_WEBSIGNAL_GAZETTEER_FILE`` names another)::

    areas:
      malieveld:            # an area id of the platform
        - Malieveld
        - Koekamp bij het Malieveld
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import shapely
import yaml

from stadswacht.errors import ConfigurationError
from stadswacht.model import Area, Position

__all__ = ["DEFAULT_GAZETTEER", "Gazetteer", "Geofence", "parse_gazetteer", "read_gazetteer"]

DEFAULT_GAZETTEER = "gazetteer.yaml"
"""The gazetteer shipped with the package (the living-lab areas of The Hague)."""


def _pattern(name: str) -> str:
    words = [re.escape(w) for w in name.split()]
    return r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)"


@dataclass(frozen=True)
class Gazetteer:
    """Place names per area id.

    >>> g = Gazetteer({"malieveld": ("Malieveld",), "koekamp": ("Koekamp",)})
    >>> g.match("Drukte op het MALIEVELD, #malieveld"), g.match("Malieveldweg dicht")
    ('malieveld', None)
    """

    names: Mapping[str, tuple[str, ...]]
    _compiled: list[tuple[int, str, re.Pattern[str]]] = field(
        default_factory=list, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        for area, names in self.names.items():
            for name in names:
                if not name.strip():
                    raise ConfigurationError(f"gazetteer: area {area!r} has an empty place name")
                rx = re.compile(_pattern(name.strip()), re.IGNORECASE | re.UNICODE)
                self._compiled.append((len(name), area, rx))
        self._compiled.sort(key=lambda c: -c[0])

    def match(self, text: str | None) -> str | None:
        """The area whose longest matching name occurs in ``text`` (``None``: no name)."""
        if not text:
            return None
        for _, area, rx in self._compiled:
            if rx.search(text):
                return area
        return None


def parse_gazetteer(doc: Any, where: str = "gazetteer") -> Gazetteer:
    """A gazetteer from its YAML document (``{"areas": {area: [names]}}``).

    Raises:
        ConfigurationError: the document is not of that shape; the message says where.
    """
    if not isinstance(doc, Mapping) or not isinstance(doc.get("areas"), Mapping):
        raise ConfigurationError(f"{where}: expected 'areas:' mapping area ids to place names")
    names: dict[str, tuple[str, ...]] = {}
    for area, items in doc["areas"].items():
        if not isinstance(items, list) or not all(isinstance(n, str) for n in items):
            raise ConfigurationError(f"{where}: areas.{area} must be a list of place names")
        names[str(area)] = tuple(items)
    return Gazetteer(names)


def read_gazetteer(path: str | Path | None = None) -> tuple[Gazetteer, dict[str, Any]]:
    """Read a gazetteer file (default: the packaged one); returns ``(gazetteer, {"source"})``.

    Raises:
        ConfigurationError: the file cannot be read or is not a gazetteer.
    """
    try:
        if path is None:
            text = resources.files(__package__).joinpath(DEFAULT_GAZETTEER).read_text("utf-8")
            source = f"{__package__}/{DEFAULT_GAZETTEER}"
        else:
            text, source = Path(path).read_text(encoding="utf-8"), str(path)
        doc = yaml.safe_load(text)
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigurationError(f"cannot read gazetteer {path}: {exc}") from exc
    return parse_gazetteer(doc, source), {"source": source}


class Geofence:
    """Finds the area a post is about (see the module docstring).

    >>> sq = Area(id="z", name="Z", polygon=((4.0, 52.0), (4.1, 52.0), (4.1, 52.1), (4.0, 52.1)))
    >>> f = Geofence([sq], Gazetteer({"z": ("Zuiderpark",)}))
    >>> f.locate(Position(lon=4.05, lat=52.05)), f.locate(None, "bij het zuiderpark")
    (('z', 'position'), ('z', 'place'))
    """

    def __init__(self, areas: Sequence[Area], gazetteer: Gazetteer | None = None) -> None:
        polygons = [(shapely.Polygon(a.polygon), a.id) for a in areas]
        # Smallest first: a zone inside a district wins.
        self._polygons = sorted(polygons, key=lambda p: p[0].area)
        for poly, _ in self._polygons:
            shapely.prepare(poly)
        known = {a.id for a in areas}
        self.gazetteer = gazetteer
        self.areas = frozenset(known)

    def locate(
        self, position: Position | None, place: str | None = None, text: str | None = None
    ) -> tuple[str, str] | None:
        """``(area id, how)``, how being ``position``, ``place`` or ``text``; or ``None``."""
        if position is not None:
            point = shapely.Point(position.lon, position.lat)
            for poly, area in self._polygons:
                if poly.covers(point):
                    return area, "position"
        if self.gazetteer is not None:
            for value, how in ((place, "place"), (text, "text")):
                named = self.gazetteer.match(value)
                if named is not None and named in self.areas:
                    return named, how
        return None

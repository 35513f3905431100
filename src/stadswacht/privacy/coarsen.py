"""Small counts are published coarsened: a count of fewer people than the minimum group size
becomes ``None`` with a ``"<minimum"`` note beside it, never the exact small number.

A handful of people at a gate at night can be someone identifiable; the rule is the
minimum-cell-size rule of statistical disclosure control (CBS publishes no cell under a
threshold; Hundepool et al., *Statistical Disclosure Control*, Wiley 2012, section 5.2). The
minimum is the setting ``min_published_count`` (default 5).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["ZONE_COUNT_FIELDS", "CountField", "coarsen_counts"]


@dataclass(frozen=True, slots=True)
class CountField:
    """A count in a published document and what goes with it.

    Attributes:
        path: the field, ``"occupancy"``, or a field of every item of a list,
            ``"gates[].in_per_min"``.
        also: fields of the same object that would give the count away (its standard
            deviation, a density made from it); set to ``None`` with it.
        drop: fields of the same object that are removed with it.
        note: the key of the ``"<minimum"`` note; default ``<field>_coarse``.
    """

    path: str
    also: tuple[str, ...] = ()
    drop: tuple[str, ...] = ()
    note: str | None = None


ZONE_COUNT_FIELDS: tuple[CountField, ...] = (
    CountField("occupancy", also=("occupancy_sd", "density")),
    CountField("gates[].in_per_min", drop=("in_pmm",), note="in_coarse"),
    CountField("gates[].out_per_min", drop=("out_pmm",), note="out_coarse"),
)
"""The counts of a crowd zone's state (``/v1/zones``): occupancy (its spread and density go
with it) and each gate's flows in and out (with their per-metre rates)."""


def coarsen_counts(
    doc: dict[str, Any], minimum: int, fields: Sequence[CountField | str]
) -> dict[str, Any]:
    """Replace each count below ``minimum`` in ``doc`` by ``None`` and a ``"<minimum"`` note.

    Changes ``doc`` in place and returns it. A field that is missing or ``None`` is left alone.

    >>> coarsen_counts({"occupancy": 3.4, "occupancy_sd": 1.0, "density": 0.001,
    ...                 "gates": [{"gate": "g", "in_per_min": 12.0, "out_per_min": 2.0,
    ...                            "out_pmm": 0.5}]}, 5, ZONE_COUNT_FIELDS)
    ... # doctest: +NORMALIZE_WHITESPACE
    {'occupancy': None, 'occupancy_sd': None, 'density': None,
     'gates': [{'gate': 'g', 'in_per_min': 12.0, 'out_per_min': None, 'out_coarse': '<5'}],
     'occupancy_coarse': '<5'}
    >>> coarsen_counts({"visitors": 40, "complaints": 2}, 5, ["visitors", "complaints"])
    {'visitors': 40, 'complaints': None, 'complaints_coarse': '<5'}
    """
    below = f"<{minimum}"
    for spec in fields:
        f = CountField(spec) if isinstance(spec, str) else spec
        head, _, name = f.path.rpartition("[].")
        targets = doc.get(head, []) if head else [doc]
        for obj in targets:
            value = obj.get(name) if isinstance(obj, dict) else None
            if value is None or value >= minimum:
                continue
            obj[name] = None
            for other in f.also:
                if other in obj:
                    obj[other] = None
            for other in f.drop:
                obj.pop(other, None)
            obj[f.note or f"{name}_coarse"] = below
    return doc

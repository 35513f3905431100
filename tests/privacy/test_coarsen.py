"""Coarsening: no published count below the minimum group size, and nothing that gives it away."""

from __future__ import annotations

from typing import Any

from stadswacht.privacy.coarsen import ZONE_COUNT_FIELDS, CountField, coarsen_counts


def _zone(occupancy: float, inflow: float, outflow: float) -> dict[str, Any]:
    return {
        "zone": "z",
        "occupancy": occupancy,
        "occupancy_sd": 1.5,
        "density": occupancy / 1000,
        "gates": [
            {"gate": "g", "in_per_min": inflow, "in_pmm": inflow / 3, "out_per_min": outflow,
             "out_pmm": outflow / 3},
        ],
    }  # fmt: skip


def test_small_counts_and_what_reveals_them_are_replaced_by_a_range() -> None:
    doc = coarsen_counts(_zone(3.0, 12.0, 0.0), 5, ZONE_COUNT_FIELDS)
    assert doc["occupancy"] is None and doc["occupancy_sd"] is None and doc["density"] is None
    assert doc["occupancy_coarse"] == "<5"
    (gate,) = doc["gates"]
    assert gate["in_per_min"] == 12.0 and "in_coarse" not in gate and "in_pmm" in gate
    assert gate["out_per_min"] is None and gate["out_coarse"] == "<5" and "out_pmm" not in gate


def test_counts_at_or_above_the_minimum_are_published_as_they_are() -> None:
    doc = coarsen_counts(_zone(5.0, 7.0, 9.0), 5, ZONE_COUNT_FIELDS)
    assert doc == _zone(5.0, 7.0, 9.0)


def test_the_same_rule_as_the_zones_api() -> None:
    from stadswacht.api.routes.zones import _coarsen

    for occupancy, inflow, outflow in [(0, 0, 0), (4.9, 5, 4), (100, 1, 80)]:
        ours = coarsen_counts(_zone(occupancy, inflow, outflow), 5, ZONE_COUNT_FIELDS)
        assert ours == _coarsen(_zone(occupancy, inflow, outflow), 5)


def test_any_document_and_field_and_missing_values() -> None:
    doc = {"rows": [{"n": 2}, {"n": 40}, {"n": None}, {}]}
    coarsen_counts(doc, 10, [CountField("rows[].n", note="n_range")])
    assert doc == {"rows": [{"n": None, "n_range": "<10"}, {"n": 40}, {"n": None}, {}]}

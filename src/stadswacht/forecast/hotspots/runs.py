"""Forecast runs: every hotspot forecast made is kept with what it was made from and by whom.

A :class:`ForecastRun` records the model, its full parameters, the day forecast, who ran it
(a user, or ``cli:<os user>``), the owning agency, its classification (``TLP:AMBER``: a hotspot
map is need-to-know), the hash of its inputs, the grid, and the top cells with their expected
counts and the explanation of each (:mod:`stadswacht.forecast.hotspots.explain`). It is about
places only: no field of a run names or describes a person.

Inputs hash (:func:`inputs_hash`), version 1: the SHA-256 of these bytes, in order,

1. ``b"stadswacht-hotspots-inputs-v1\\n"``;
2. the canonical JSON (keys sorted, separators ``,`` and ``:``, UTF-8) of
   ``{"model", "parameters", "day", "grid": {"x0", "y0", "cell", "nx", "ny", "crs"}}``
   followed by ``b"\\n"``; ``day`` is the ISO date forecast, ``parameters`` the full set
   (defaults filled in);
3. the grid's mask, row by row from the south-west, as ``numpy.packbits`` (big-endian bits);
4. the incidents strictly before the forecast day (all a model may read), as
   ``b"incidents\\n"``, their count and CRS as two little-endian uint64, the time resolution
   (UTF-8) and ``b"\\n"``; then, sorted by time, x, y and kind, the ``t_day``, ``x`` and ``y``
   columns as little-endian float64; then the distinct kinds, sorted, each as a little-endian
   uint32 byte length and its UTF-8 bytes; then each incident's index into those kinds as
   little-endian uint32.

So the hash changes when any incident before the day, the grid, the model, a parameter or the
day changes, and not when the incidents are given in another order or incidents on or after
the day are added.
"""

from __future__ import annotations

import base64
import getpass
import hashlib
import json
import math
import struct
import uuid
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray

from stadswacht.forecast.hotspots.explain import DEFAULT_RECENT_DAYS, explain
from stadswacht.forecast.hotspots.grid import Grid
from stadswacht.forecast.hotspots.incidents import EPOCH, Incidents, day_number
from stadswacht.forecast.hotspots.models import (
    DEFAULT_COUNT_MIXTURE,
    DEFAULT_LEVEL_DAYS,
    DEFAULT_NAIVE,
    DEFAULT_NEAR_REPEAT,
    DEFAULT_PROSPECTIVE,
    DEFAULT_RETROSPECTIVE,
    count_mixture,
    naive_count,
    near_repeat_smoothed,
    prospective_hotspot,
    retrospective_kde,
)
from stadswacht.forecast.hotspots.sepp import DEFAULT_SEPP, fit_sepp, sepp
from stadswacht.store.base import StoredForecastRun

__all__ = [
    "BIAS_FLAG_RATIO",
    "BIAS_HISTORY_DAYS",
    "CLASSIFICATION",
    "DEFAULT_SEPP_HISTORY_DAYS",
    "DEFAULT_TOP_FRACTION",
    "MODELS",
    "ForecastRun",
    "audit_bias",
    "cli_user",
    "grid_definition",
    "grid_from_definition",
    "inputs_hash",
    "run_forecast",
]

CLASSIFICATION = "TLP:AMBER"
"""Classification of every stored hotspot run: need-to-know, within the agencies it names."""

DEFAULT_TOP_FRACTION = 0.2
"""Fraction of the cells inside the area whose forecast and explanation a run keeps."""

DEFAULT_SEPP_HISTORY_DAYS = 365.0
"""Days of history the self-exciting point process is fitted on before the forecast day."""

_HASH_VERSION = b"stadswacht-hotspots-inputs-v1\n"

MODELS: dict[str, dict[str, Any]] = {
    "naive_count": {**DEFAULT_NAIVE, "level_days": DEFAULT_LEVEL_DAYS},
    "retrospective_kde": {**DEFAULT_RETROSPECTIVE, "level_days": DEFAULT_LEVEL_DAYS},
    "prospective_hotspot": {**DEFAULT_PROSPECTIVE, "level_days": DEFAULT_LEVEL_DAYS},
    "near_repeat_smoothed": {**DEFAULT_NEAR_REPEAT, "level_days": DEFAULT_LEVEL_DAYS},
    "count_mixture": {**DEFAULT_COUNT_MIXTURE, "level_days": DEFAULT_LEVEL_DAYS},
    "sepp": {**DEFAULT_SEPP, "history_days": DEFAULT_SEPP_HISTORY_DAYS},
}
"""Each model a run may use, with its default parameters (what a run fills in)."""

_FUNCTIONS: dict[str, Callable[..., NDArray[np.float64]]] = {
    "naive_count": naive_count,
    "retrospective_kde": retrospective_kde,
    "prospective_hotspot": prospective_hotspot,
    "near_repeat_smoothed": near_repeat_smoothed,
    "count_mixture": count_mixture,
}


def _canonical(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def grid_definition(grid: Grid) -> dict[str, Any]:
    """The grid as JSON: its lattice, CRS and mask (zlib-compressed packed bits, base64)."""
    packed = np.packbits(np.asarray(grid.mask, dtype=bool).ravel()).tobytes()
    return {
        "x0": grid.x0, "y0": grid.y0, "cell": grid.cell, "nx": grid.nx, "ny": grid.ny,
        "crs": grid.crs, "n_inside": grid.n_inside,
        "mask": base64.b64encode(zlib.compress(packed, 9)).decode("ascii"),
    }  # fmt: skip


def grid_from_definition(doc: Mapping[str, Any]) -> Grid:
    """The grid :func:`grid_definition` wrote."""
    nx, ny = int(doc["nx"]), int(doc["ny"])
    bits = np.frombuffer(zlib.decompress(base64.b64decode(doc["mask"])), dtype=np.uint8)
    mask = np.unpackbits(bits)[: nx * ny].astype(bool).reshape(ny, nx)
    mask.flags.writeable = False
    return Grid(
        float(doc["x0"]), float(doc["y0"]), float(doc["cell"]), nx, ny, mask, int(doc["crs"])
    )


def _iso_day(day: str | date | float) -> tuple[str, float]:
    """The day forecast as an ISO date and as days since ``EPOCH``."""
    if isinstance(day, float | int):
        if day != math.floor(day):
            raise ValueError(f"forecast a whole day, not {day} days since {EPOCH}")
        iso = str(EPOCH + np.timedelta64(int(day), "D"))
    else:
        iso = day.isoformat() if isinstance(day, date) else str(np.datetime64(str(day), "D"))
    return iso, day_number(iso)


def _incident_bytes(incidents: Incidents) -> bytes:
    """Canonical bytes of incidents (part 4 of the inputs hash, see the module docstring)."""
    kinds, index = np.unique(incidents.kind, return_inverse=True)
    order = np.lexsort((index, incidents.y, incidents.x, incidents.t_day))
    parts = [
        b"incidents\n",
        struct.pack("<QQ", len(incidents), incidents.crs),
        incidents.time_resolution.encode() + b"\n",
    ]
    for col in (incidents.t_day, incidents.x, incidents.y):
        parts.append(np.ascontiguousarray(col[order], dtype="<f8").tobytes())
    for k in kinds:
        raw = str(k).encode()
        parts += [struct.pack("<I", len(raw)), raw]
    parts.append(np.ascontiguousarray(index.ravel()[order], dtype="<u4").tobytes())
    return b"".join(parts)


def inputs_hash(
    incidents: Incidents, grid: Grid, model: str, day: str | date | float, params: Mapping[str, Any]
) -> str:
    """SHA-256 (hex) of a forecast's inputs, exactly as the module docstring defines it.

    >>> import shapely
    >>> from stadswacht.forecast.hotspots.grid import grid_over
    >>> g = grid_over(shapely.box(0, 0, 300, 150), crs=26971)
    >>> a = Incidents([1.0, 2.0], [10, 200], [10, 10], "a", 26971)
    >>> b = Incidents([2.0, 1.0, 9.0], [200, 10, 10], [10, 10, 10], "a", 26971)
    >>> inputs_hash(a, g, "naive_count", 3.0, {}) == inputs_hash(b, g, "naive_count", 3.0, {})
    True
    """
    iso, t = _iso_day(day)
    grid_doc = {k: v for k, v in grid_definition(grid).items() if k not in ("mask", "n_inside")}
    head = {"model": model, "parameters": dict(params), "day": iso, "grid": grid_doc}
    h = hashlib.sha256(_HASH_VERSION)
    h.update(_canonical(head) + b"\n")
    h.update(np.packbits(np.asarray(grid.mask, dtype=bool).ravel()).tobytes())
    h.update(_incident_bytes(incidents.before(t)))
    return h.hexdigest()


def cli_user() -> str:
    """``cli:<os user>``: who ran a forecast from the command line."""
    try:
        name = getpass.getuser()
    except (OSError, KeyError):
        name = "unknown"
    return f"cli:{name}"


@dataclass(frozen=True)
class ForecastRun:
    """One hotspot forecast as made and kept: inputs, parameters, who, and the top cells.

    Attributes:
        id: Unique id of the run (``hotspots-<hex>``).
        model: Model name (a key of :data:`MODELS`).
        parameters: The model's full parameters, defaults filled in.
        day: The day forecast (ISO date).
        created_at: When the run was made (RFC 3339, UTC).
        created_by: The user who ran it, or ``cli:<os user>``.
        agency: The agency that owns it.
        classification: ``TLP:AMBER``.
        inputs_hash: SHA-256 of the inputs (see the module docstring).
        grid: The grid (:func:`grid_definition`).
        n_incidents: Incidents before the day (what the model could read).
        incidents_start, incidents_end: ISO dates of the first and last of them.
        kinds: The incident kinds forecast.
        expected_total: Expected incidents in the whole area on the day [1/day].
        top_fraction: Fraction of the area's cells kept in ``cells``.
        cells: The top cells (those forecast above 0), highest forecast first: ``rank``
            (1 = highest), ``cell`` (flat index), ``expected`` [1/day] and ``long_run``,
            ``recent``, ``near_repeat`` (its explanation [1/day], summing to ``expected``).
        values: Every cell's forecast: float32 little-endian of the cells inside the area in
            flat order, zlib-compressed, base64 (:meth:`forecast` unpacks it).
        recent_days: Age under which an incident counted as recent in the explanation [days].
        bias: The run's bias audit (:func:`audit_bias`), or None when no areas were given.
    """

    id: str
    model: str
    parameters: dict[str, Any]
    day: str
    created_at: str
    created_by: str
    agency: str
    classification: str
    inputs_hash: str
    grid: dict[str, Any]
    n_incidents: int
    incidents_start: str | None
    incidents_end: str | None
    kinds: list[str]
    expected_total: float
    top_fraction: float
    cells: list[dict[str, Any]] = field(default_factory=list)
    values: str = ""
    recent_days: float = DEFAULT_RECENT_DAYS
    bias: dict[str, Any] | None = None
    """The run's bias audit (:func:`audit_bias`), or None when no areas were given."""

    def to_doc(self) -> dict[str, Any]:
        """The run as a JSON document (``kind`` is ``"hotspots"``)."""
        doc = {"kind": "hotspots", **self.__dict__}
        return doc

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> ForecastRun:
        """The run a :meth:`to_doc` document describes."""
        return cls(**{k: v for k, v in doc.items() if k not in ("kind", "_withheld")})

    def to_stored(self) -> StoredForecastRun:
        """The run as the store keeps it."""
        created = datetime.fromisoformat(self.created_at)
        created_us = int(created.timestamp()) * 1_000_000 + created.microsecond
        return StoredForecastRun(
            id=self.id, model=self.model, agency=self.agency, day=self.day,
            created_us=created_us, doc=json.dumps(self.to_doc(), separators=(",", ":")),
        )  # fmt: skip

    @classmethod
    def from_stored(cls, stored: StoredForecastRun) -> ForecastRun:
        """The run a store gave back."""
        return cls.from_doc(json.loads(stored.doc))

    def grid_object(self) -> Grid:
        """The grid the run forecast on."""
        return grid_from_definition(self.grid)

    def forecast(self) -> NDArray[np.float64]:
        """Expected incidents per cell [1/day], shape ``(n_cells,)``, 0 outside the area
        (float32 precision)."""
        grid = self.grid_object()
        out = np.zeros(grid.n_cells)
        raw = zlib.decompress(base64.b64decode(self.values)) if self.values else b""
        out[grid.inside] = np.frombuffer(raw, dtype="<f4").astype(np.float64)
        return out


def _pack_values(grid: Grid, forecast: NDArray[np.float64]) -> str:
    raw = np.ascontiguousarray(forecast[grid.inside], dtype="<f4").tobytes()
    return base64.b64encode(zlib.compress(raw, 6)).decode("ascii")


def _parameters(model: str, params: Mapping[str, Any] | None) -> dict[str, Any]:
    if model not in MODELS:
        raise ValueError(f"unknown hotspot model {model!r}; choose one of {sorted(MODELS)}")
    given = dict(params or {})
    unknown = sorted(set(given) - set(MODELS[model]))
    if unknown:
        raise ValueError(
            f"model {model} has no parameter(s) {unknown}; its parameters are "
            f"{sorted(MODELS[model])}"
        )
    return {**MODELS[model], **given}


def run_forecast(
    incidents: Incidents,
    grid: Grid,
    model: str,
    day: str | date | float,
    params: Mapping[str, Any] | None = None,
    *,
    by: str,
    agency: str,
    top_fraction: float = DEFAULT_TOP_FRACTION,
    recent_days: float = DEFAULT_RECENT_DAYS,
) -> ForecastRun:
    """Forecast one day with one model, explain it, and record the run.

    Parameters
    ----------
    incidents, grid
        History and study area (same CRS); only incidents before ``day`` are read.
    model
        A key of :data:`MODELS`.
    day
        The day forecast: an ISO date, a ``date``, or whole days since ``EPOCH``.
    params
        Parameters that differ from the model's defaults.
    by
        Who runs it: a user name, or :func:`cli_user`.
    agency
        The agency that owns the run.
    top_fraction
        Fraction of the area's cells kept with their explanation, in (0, 1].
    recent_days
        Age under which an incident counts as recent in the explanation [days].

    Returns
    -------
    ForecastRun
        With every cell's forecast (:meth:`ForecastRun.forecast`) and the top cells explained.
    """
    from stadswacht.forecast.hotspots.metrics import flagged_count

    if incidents.crs != grid.crs:
        raise ValueError(f"incidents are in EPSG:{incidents.crs}, the grid in EPSG:{grid.crs}")
    p = _parameters(model, params)
    iso, t = _iso_day(day)
    past = incidents.before(t)
    sepp_params = None
    if model == "sepp":
        fit = {k: v for k, v in p.items() if k != "history_days"}
        sepp_params = fit_sepp(past, grid, start=t - float(p["history_days"]), end=t, **fit)
        forecast = sepp(past, grid, t, sepp_params)
    else:
        forecast = _FUNCTIONS[model](past, grid, t, **p)
    expl = explain(past, grid, t, model, p, forecast, recent_days=recent_days,
                   sepp_params=sepp_params)  # fmt: skip
    inside = np.flatnonzero(grid.inside)
    k = flagged_count(inside.size, top_fraction) if inside.size else 0
    # Highest first; ties by lowest cell index (as metrics.ranking); a zero is no hotspot.
    order = inside[np.lexsort((inside, -forecast[inside]))][:k]
    order = order[forecast[order] > 0]
    cells = [
        {"rank": i + 1, "cell": int(c), "expected": float(forecast[c]), **expl.of_cell(int(c))}
        for i, c in enumerate(order)
    ]
    start = str(EPOCH + np.timedelta64(int(past.t_day[0]), "D")) if len(past) else None
    end = str(EPOCH + np.timedelta64(int(past.t_day[-1]), "D")) if len(past) else None
    return ForecastRun(
        id=f"hotspots-{uuid.uuid4().hex}",
        model=model,
        parameters=p,
        day=iso,
        created_at=datetime.now(UTC).isoformat(timespec="microseconds"),
        created_by=by,
        agency=agency,
        classification=CLASSIFICATION,
        inputs_hash=inputs_hash(incidents, grid, model, iso, p),
        grid=grid_definition(grid),
        n_incidents=len(past),
        incidents_start=start,
        incidents_end=end,
        kinds=sorted({str(x) for x in np.unique(past.kind)}),
        expected_total=float(forecast.sum()),
        top_fraction=float(top_fraction),
        cells=cells,
        values=_pack_values(grid, forecast),
        recent_days=float(recent_days),
    )


BIAS_HISTORY_DAYS = 365.0
"""Reported crime of this many days before the forecast day is the audit's reference."""

BIAS_FLAG_RATIO = 1.5
"""An area flagged this many times its share of reported crime (or more) is named in the
audit's ``over_exposed`` list, for a person to look at."""


def audit_bias(
    run: ForecastRun,
    incidents: Incidents,
    names: tuple[str, ...],
    areas: list[Any],
    *,
    source: str | None = None,
    history_days: float = BIAS_HISTORY_DAYS,
) -> dict[str, Any]:
    """The bias audit of one run: exposure ratio per area of the run's flagged cells (its top
    cells) against the area's share of the crime reported in the ``history_days`` before the
    forecast day (see :mod:`stadswacht.forecast.hotspots.bias`).

    ``areas`` are polygons in the run's CRS (:func:`~stadswacht.forecast.hotspots.bias.read_areas`).
    Returns a JSON-ready dict to keep on the run (``dataclasses.replace(run, bias=...)``): per
    area the flagged share, the crime share and their ratio (None where the area had no
    reported crime), and ``over_exposed``: flagged areas at or above :data:`BIAS_FLAG_RATIO`
    or without reported crime.
    """
    from stadswacht.forecast.hotspots.bias import area_of_cells, area_of_points, exposure_ratio

    grid = run.grid_object()
    if incidents.crs != grid.crs:
        raise ValueError(f"incidents are in EPSG:{incidents.crs}, the grid in EPSG:{grid.crs}")
    _, t = _iso_day(run.day)
    ref = incidents.between(t - history_days, t)
    flagged = np.zeros(grid.n_cells, dtype=np.int64)
    flagged[[int(c["cell"]) for c in run.cells]] = 1
    cx, cy = grid.centres()
    cell_area = area_of_cells((np.asarray(cx).ravel(), np.asarray(cy).ravel()), areas)
    e = exposure_ratio(flagged, cell_area, area_of_points(ref.x, ref.y, areas), names)
    rows: list[dict[str, Any]] = [
        {
            "area": n,
            "flagged_share": round(float(fs), 4),
            "crime_share": round(float(cs), 4),
            "ratio": round(float(r), 3) if np.isfinite(r) else None,
        }
        for n, fs, cs, r in zip(e.names, e.flagged_share, e.crime_share, e.ratio, strict=True)
    ]
    over = [
        r["area"]
        for r in rows
        if r["flagged_share"] > 0
        and (r["crime_share"] == 0 or (r["ratio"] is not None and r["ratio"] >= BIAS_FLAG_RATIO))
    ]
    audit: dict[str, Any] = {
        "areas_source": source,
        "reference": "reported incidents in the days before the forecast day",
        "history_days": history_days,
        "reference_incidents": len(ref),
        "flagged_cells": int(flagged.sum()),
        "flagged_cells_outside_areas": int(flagged[cell_area < 0].sum()),
        "flag_ratio": BIAS_FLAG_RATIO,
        "areas": rows,
        "over_exposed": over,
    }
    return audit

"""Astronomical tide by harmonic analysis, fitted with UTide.

:func:`harmonic_tide` fits the tidal constituents to a station's water levels by least squares
with nodal (18.6-year) corrections and Greenwich phases (Codiga 2011, "Unified tidal analysis
and prediction using the UTide Matlab functions", GSO Technical Report 2011-01, University of
Rhode Island, through its Python port ``utide``). The result is a small value,
:class:`TideModel`, that predicts the tide at any time and round-trips through JSON, so a
station can forecast its tide without its history.

>>> import numpy as np
>>> from stadswacht.detect.hazard.series import TimeSeries
>>> t = 3600.0 * np.arange(24 * 60)
>>> h = 80.0 * np.cos(2 * np.pi * t / 44714.16)  # M2, 12.42 h
>>> tide = harmonic_tide(TimeSeries(t, h, "X", "WATHTE", "cm"), latitude=52.0,
...                      constituents=("M2",), nodal=False)
>>> round(tide.amplitudes[0], 1), bool(np.allclose(tide.predict(t), h, atol=0.5))
(80.0, True)
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import utide
from numpy.typing import NDArray

from stadswacht.detect.hazard.series import TimeSeries

__all__ = ["TideModel", "harmonic_tide"]

_EPOCH = "1970-01-01"  # utide takes days since an epoch; ours are seconds since the Unix epoch


@dataclass(frozen=True)
class TideModel:
    """The harmonic constants of one station's astronomical tide.

    Parameters
    ----------
    station : str
        Station code of the fitted series (``HOEKVHLD``).
    latitude : float
        Station latitude [degrees north], used by the nodal corrections.
    names : tuple of str
        Constituent names (``M2``, ``S2``, ...), strongest first.
    amplitudes : tuple of float
        Constituent amplitudes [cm] (the unit of the fitted series).
    phases : tuple of float
        Greenwich phase lags [degrees].
    frequencies : tuple of float
        Constituent frequencies [cycles per hour].
    indices : tuple of int
        Row of each constituent in UTide's constituent table (for its nodal corrections).
    mean : float
        Mean level over the fitted period [cm].
    reftime : float
        UTide's reference time of the fit [days since 0000-12-31].
    nodal : bool
        Whether nodal and satellite corrections were applied.
    """

    station: str
    latitude: float
    names: tuple[str, ...]
    amplitudes: tuple[float, ...]
    phases: tuple[float, ...]
    frequencies: tuple[float, ...]
    indices: tuple[int, ...]
    mean: float
    reftime: float
    nodal: bool = True

    def predict(self, times_s: NDArray[np.float64]) -> NDArray[np.float64]:
        """The astronomical tide at ``times_s`` [s since the Unix epoch, UTC], in [cm]."""
        times = np.asarray(times_s, dtype=np.float64)
        if times.size == 0:
            return np.empty(0, dtype=np.float64)
        opt = {
            "twodim": False,
            "notrend": True,
            "prefilt": [],
            "nodsatlint": False,
            "nodsatnone": not self.nodal,
            "gwchlint": False,
            "gwchnone": False,
            "nodiagn": True,
        }
        coef = utide.utilities.Bunch(
            name=np.array(self.names),
            A=np.array(self.amplitudes),
            g=np.array(self.phases),
            mean=self.mean,
            aux=utide.utilities.Bunch(
                frq=np.array(self.frequencies),
                lind=np.array(self.indices),
                reftime=self.reftime,
                lat=self.latitude,
                opt=utide.utilities.Bunch(opt),
            ),
        )
        out = utide.reconstruct(times / 86400.0, coef, epoch=_EPOCH, verbose=False)
        return np.asarray(out.h, dtype=np.float64)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (see :meth:`from_json`)."""
        return {
            "model": "harmonic_tide",
            "station": self.station,
            "latitude": self.latitude,
            "unit": "cm",
            "mean": self.mean,
            "reftime": self.reftime,
            "nodal": self.nodal,
            "constituents": [
                {
                    "name": n,
                    "amplitude": round(a, 4),
                    "phase": round(g, 4),
                    "frequency_cph": f,
                    "index": i,
                }
                for n, a, g, f, i in zip(
                    self.names,
                    self.amplitudes,
                    self.phases,
                    self.frequencies,
                    self.indices,
                    strict=True,
                )
            ],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any] | str) -> TideModel:
        """Rebuild a model from :meth:`to_json`'s dict (or its JSON text)."""
        d: dict[str, Any] = json.loads(data) if isinstance(data, str) else data
        cons = d["constituents"]
        return cls(
            station=str(d["station"]),
            latitude=float(d["latitude"]),
            names=tuple(str(c["name"]) for c in cons),
            amplitudes=tuple(float(c["amplitude"]) for c in cons),
            phases=tuple(float(c["phase"]) for c in cons),
            frequencies=tuple(float(c["frequency_cph"]) for c in cons),
            indices=tuple(int(c["index"]) for c in cons),
            mean=float(d["mean"]),
            reftime=float(d["reftime"]),
            nodal=bool(d.get("nodal", True)),
        )


def harmonic_tide(
    series: TimeSeries,
    latitude: float,
    constituents: Sequence[str] | str = "auto",
    nodal: bool = True,
) -> TideModel:
    """Fit the astronomical tide to a water-level series by harmonic analysis.

    Ordinary least squares on the constituents UTide selects for the record length
    (Rayleigh criterion 1; 68 for ten years of hourly data), no trend, Greenwich phases
    (Codiga 2011, via ``utide.solve``). Fit it on the training period only: the residual of
    this fit is the surge the surge model learns.

    Parameters
    ----------
    series : TimeSeries
        Observed water level [cm]; missing values (NaN) are skipped.
    latitude : float
        Station latitude [degrees north].
    constituents : sequence of str or "auto"
        Constituent names, or ``"auto"`` for UTide's selection by record length.
    nodal : bool
        Apply nodal and satellite corrections (keep ``True`` for real data).

    Returns
    -------
    TideModel
        The harmonic constants, strongest constituent first.
    """
    valid = series.valid()
    if len(valid) < 48:
        raise ValueError(
            f"{series.station}: {len(valid)} valid values are too few for a tidal fit;"
            " give at least two days, better a year"
        )
    coef = utide.solve(
        valid.times / 86400.0,
        valid.values,
        lat=latitude,
        epoch=_EPOCH,
        constit=constituents if isinstance(constituents, str) else list(constituents),
        trend=False,
        nodal=nodal,
        method="ols",
        conf_int="linear",
        verbose=False,
    )
    return TideModel(
        station=series.station,
        latitude=float(latitude),
        names=tuple(str(n) for n in coef.name),
        amplitudes=tuple(float(a) for a in coef.A),
        phases=tuple(float(g) for g in coef.g),
        frequencies=tuple(float(f) for f in coef.aux.frq),
        indices=tuple(int(i) for i in coef.aux.lind),
        mean=float(coef.mean),
        reftime=float(coef.aux.reftime),
        nodal=nodal,
    )

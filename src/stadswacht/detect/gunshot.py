"""The platform's gunshot detector: impulse reports of several sensors in, located events out.

An acoustic sensor reports each impulse it hears (:class:`ImpulseReport`: arrival time, level,
class probabilities). :class:`GunshotDetector` associates reports of different sensors that can
come from one source, locates it by time difference of arrival (:func:`locate_tdoa`, in
:mod:`stadswacht.detect.tdoa`), groups rounds fired from one place into one event and
classifies the event from the reports' class probabilities. It is pure and driven by event
time: the caller feeds sensors, temperatures and reports and calls :meth:`GunshotDetector.advance`
with the current time; nothing here reads a clock or does I/O.

Association. Each pending report in arrival order seeds a back-projection over a grid of
candidate source positions around the sensors: for a candidate position the seed fixes the
emission time, which predicts every other sensor's arrival; the position that explains reports
of the most sensors (then the smallest mismatch) wins (cf. the delay-and-sum / SRP grid search
of acoustic source localisation, e.g. DiBiase, Silverman & Brandstein 2001). The matched reports
are located with :func:`locate_tdoa`, every sensor's report nearest to its predicted arrival is
re-matched (a diffracted arrival may come up to ``max_excess_path_m / c`` late) and located
again. Rounds fired 0.3 to 1 s apart interleave across sensors, but each sensor hears them in
order, at the spacing of the rounds, so the grid keeps them apart.

Decision. A shot located from four or more reports is decided as soon as waiting longer
cannot add arrivals, ``now >= latest expected arrival at any sensor within hearing range +
largest excess delay + report latency``, or once ``quiet_s`` of arrival time has passed after
its last report (+ report latency) if that is sooner; a report that still comes after that and
fits the shot (at a sensor it lacks) re-locates it and the event comes back ``"updated"``. A
three-report fix fits exactly whatever it is made of (a mix of two sounds too), so it waits for
the hard cap: ``first arrival + largest inter-sensor distance / c + excess + report latency``.
Reports that join no shot by then are dropped (``dropped_reports``). Rounds: a shot within
``round_gap_s`` and ``max(round_distance_m, 3 sigma)`` of an open event is one more round of it
(same ``id``, derived from the earliest report of its first decided shot).

Classification. The class probabilities of all reports of an event are pooled logarithmically
(the normalised geometric mean, i.e. the mean log-odds against any fixed class; Genest & Zidek
1986), each probability floored at ``class_floor``. Sensors hearing one sound make correlated
errors, so multiplying their probabilities (naive Bayes) would be over-confident; the mean keeps
a single-sensor calibration, and the floor stops one confused sensor from vetoing a class.

>>> det = GunshotDetector()
>>> for i, (x, y) in enumerate([(0, 0), (300, 0), (300, 300), (0, 300)]):
...     det.add_sensor(f"ac-{i}", x, y)
>>> c = speed_of_sound(10.0)
>>> for i, (x, y) in enumerate([(0, 0), (300, 0), (300, 300), (0, 300)]):
...     t = 100.0 + math.hypot(x - 120.0, y - 80.0) / c
...     det.add_report(ImpulseReport(f"ac-{i}:1", f"ac-{i}", t, 95.0, {"gunshot": 0.9,
...         "fireworks": 0.05, "impulsive_other": 0.03, "background": 0.02}))
>>> [e.kind for e in det.advance(100.5)]  # too early: other sensors could still report
[]
>>> (event,) = det.advance(102.0)
>>> event.kind, event.rounds, [round(v, 1) for v in event.xy], event.status
('gunshot', 1, [120.0, 80.0], 'new')
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np

from stadswacht.detect.tdoa import (
    ErrorEllipse,
    FloatArray,
    TdoaFix,
    crlb,
    error_ellipse,
    locate_tdoa,
)
from stadswacht.model.geo import speed_of_sound

__all__ = [
    "CLASSES",
    "ErrorEllipse",
    "GunshotConfig",
    "GunshotDetector",
    "GunshotEvent",
    "ImpulseReport",
    "TdoaFix",
    "crlb",
    "locate_tdoa",
    "pool_classes",
]

CLASSES = ("gunshot", "fireworks", "impulsive_other", "background")
"""The classes an impulse report carries."""


@dataclass(frozen=True, slots=True)
class GunshotConfig:
    """Parameters of :class:`GunshotDetector`, with their defaults.

    Attributes
    ----------
    timing_sigma_s : float
        Standard deviation of an arrival time [s], including the equivalent of the sensors'
        survey error (0.3 m is 0.9 ms). Default 1 ms.
    association_tolerance_s : float
        Mismatch allowed between a report and the arrival predicted from a grid point [s]: must
        cover the grid's spacing (a point is within ``grid_step_m / sqrt 2`` of the source, which
        shifts relative arrivals by up to twice that over c). Default 0.1 s.
    grid_step_m : float
        Spacing of the association grid [m]. Default 20 m.
    search_margin_m : float
        How far beyond the sensors' bounding box the grid reaches [m]. Default 500 m.
    max_excess_path_m : float
        The largest detour of a diffracted or echoed arrival that is still associated [m].
        Default 60 m.
    hearing_range_m : float
        Sensors farther from a located source are not waited for [m]. Default 2,000 m.
    report_latency_s : float
        How long after its arrival time a report may reach the platform [s]. Default 0.5 s.
    quiet_s : float
        A shot located from four or more reports is also decided once no sensor in hearing
        range can still report it *or* this long [s] (of arrival time, plus the report
        latency) has passed after its last arrival; a report that still comes later updates
        the event. Default 1 s (340 m more path).
    same_round_s : float
        Two fixes of one place whose emission times differ by less than this [s] are one
        round (the second made of reports that came late). Default 0.15 s.
    min_reports : int
        The fewest sensors a fix may rest on (3 gives an exact fit without a check; 4 or more
        can reject an outlier). Default 3.
    max_rejected : int
        The most late arrivals dropped from one fix. Default 2.
    min_used : int
        Late arrivals are dropped only while at least this many sensors remain. Default 5:
        four leave one degree of freedom, and among a dozen interleaved reports some wrong
        four fit that well by chance (in the living-lab bench, 4 instead of 5 loses one
        incident in 25 to a fix tens of metres off).
    round_gap_s : float
        A shot within this time of an event's previous round (and close enough) is one more
        round of that event [s]. Default 30 s.
    round_distance_m : float
        ... and within ``max(round_distance_m, 3 sigma)`` of its position [m]. Default 25 m.
    min_probability : float
        An event is a gunshot when the pooled gunshot probability reaches this and no other
        class is more probable. Default 0.5.
    class_floor : float
        Floor of every class probability before pooling. Default 0.001.
    default_temperature_c : float
        Air temperature when no reading qualifies [°C]. Default 10 °C.
    temperature_sigma_k : float
        Uncertainty of the temperature used for the speed of sound [K] (the reading is not the
        air along the path); it widens the ellipses. Default 2 K.
    temperature_max_distance_m, temperature_max_age_s : float
        A temperature reading qualifies within this distance [m] and time [s] of the event.
        Defaults 5,000 m and 3,600 s.
    """

    timing_sigma_s: float = 1e-3
    association_tolerance_s: float = 0.1
    grid_step_m: float = 20.0
    search_margin_m: float = 500.0
    max_excess_path_m: float = 60.0
    hearing_range_m: float = 2000.0
    report_latency_s: float = 0.5
    quiet_s: float = 1.0
    same_round_s: float = 0.15
    min_reports: int = 3
    max_rejected: int = 2
    min_used: int = 5
    round_gap_s: float = 30.0
    round_distance_m: float = 25.0
    min_probability: float = 0.5
    class_floor: float = 1e-3
    default_temperature_c: float = 10.0
    temperature_sigma_k: float = 2.0
    temperature_max_distance_m: float = 5000.0
    temperature_max_age_s: float = 3600.0

    def __post_init__(self) -> None:
        if self.min_reports < 3:
            raise ValueError(f"min_reports must be at least 3, got {self.min_reports}")
        for name in ("timing_sigma_s", "association_tolerance_s", "grid_step_m"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)!r}")


@dataclass(frozen=True, slots=True)
class ImpulseReport:
    """One impulse a sensor heard.

    Attributes
    ----------
    ref : str
        Evidence id of the reading, ``device:seq``.
    sensor : str
        The sensor's id (registered with :meth:`GunshotDetector.add_sensor`).
    arrival_s : float
        Onset [s] on the common clock (Unix epoch seconds are fine).
    level_db : float
        Peak level [dB SPL].
    classes : Mapping[str, float]
        Class probabilities (:data:`CLASSES`).
    """

    ref: str
    sensor: str
    arrival_s: float
    level_db: float
    classes: Mapping[str, float]


@dataclass(frozen=True, slots=True)
class GunshotEvent:
    """A located impulsive event: one or more rounds from one place.

    ``kind`` is ``"gunshot"`` when ``p_gunshot >= min_probability`` and gunshot is the most
    probable class, else the most probable other class. Times are on the reports' clock [s];
    ``xy`` [m] is the information-weighted mean of the consistent rounds' fixes, in the
    sensors' frame; ``covariance`` [m²] that of the best round: the inverse Fisher information
    with ``timing_sigma_s``, scaled up when the residuals scatter more than that, plus the
    effect of a ``temperature_sigma_k`` error in the speed of sound; ``ellipse`` is its 95 %
    ellipse. ``decided_s`` is the ``now_s`` of the :meth:`GunshotDetector.advance` that
    returned this version; ``status`` is ``"new"`` the first time, then ``"updated"``.
    ``residuals_s`` is each sensor's arrival residual [s] (observed minus the fit's predicted
    arrival; sensors rejected as outliers too), averaged over the rounds: over many
    localisations, a sensor whose residual keeps one sign has a clock that runs off
    (:mod:`stadswacht.detect.infra`).
    """

    id: str
    kind: str
    xy: tuple[float, float]
    covariance: tuple[tuple[float, float], tuple[float, float]]
    ellipse: ErrorEllipse
    rounds: int
    round_times_s: tuple[float, ...]
    first_arrival_s: float
    last_arrival_s: float
    decided_s: float
    p_gunshot: float
    classes: Mapping[str, float]
    refs: tuple[str, ...]
    sensors: tuple[str, ...]
    rejected_refs: tuple[str, ...]
    speed_of_sound: float
    poor_geometry: bool
    status: str
    residuals_s: Mapping[str, float] = field(default_factory=dict)


def pool_classes(distributions: list[Mapping[str, float]], floor: float = 1e-3) -> dict[str, float]:
    """Logarithmic opinion pool: the normalised geometric mean of class distributions.

    >>> p = pool_classes([{"gunshot": 0.8, "fireworks": 0.2}, {"gunshot": 0.6, "fireworks": 0.4}])
    >>> round(p["gunshot"], 3)
    0.709
    """
    if not distributions:
        return {k: 1.0 / len(CLASSES) for k in CLASSES}
    names = list(CLASSES) + sorted({k for d in distributions for k in d} - set(CLASSES))
    logp = np.array(
        [[math.log(max(float(d.get(k, 0.0)), floor)) for k in names] for d in distributions]
    )
    mean = logp.mean(axis=0)
    w = np.exp(mean - mean.max())
    w /= w.sum()
    return {k: float(v) for k, v in zip(names, w, strict=True)}


@dataclass(slots=True, eq=False)
class _Report:
    ref: str
    sensor: int
    t: float  # arrival [s] after the detector's reference time
    level_db: float
    classes: Mapping[str, float]


@dataclass(slots=True, eq=False)
class _Shot:
    fix: TdoaFix
    reports: list[_Report]
    rejected: list[_Report]


@dataclass(slots=True, eq=False)
class _Event:
    id: str
    shots: list[_Shot] = field(default_factory=list)
    emitted: bool = False


def _inflated(fix: TdoaFix, positions: FloatArray, sigma_c: float = 0.0) -> TdoaFix:
    """``fix`` with a covariance that owns up to errors beyond timing noise.

    - Scaled by the reduced chi-square of the residuals when they scatter more than the
      assumed timing sigma (the Birge ratio): an arrival delayed a little by diffraction, or a
      sensor off its surveyed position, is not noise of that sigma.
    - Plus the effect of an error ``sigma_c`` [m/s] in the speed of sound (the temperature
      reading is not the air along the path): ``g g^T sigma_c^2``, ``g`` the least-squares
      response of the position to a change of c, whose arrivals move by ``-r_i dc / c^2``.

    Otherwise the ellipse is too small and rounds of one shooting are too far apart, by their
    own account, to be grouped.
    """
    used = list(fix.used)
    kept = fix.residuals_s[used]
    dof = len(kept) - 3
    cov = fix.covariance
    sigma = fix.sigma_s
    if dof >= 1:
        sigma = max(sigma, math.sqrt(float(kept @ kept) / dof))
        cov = cov * (sigma / fix.sigma_s) ** 2
    if sigma_c > 0 and np.all(np.isfinite(cov)):
        # Position response to dc: J^+ (r / c^2) dc, J the Jacobian of arrivals in (x, y, t0).
        c = fix.speed_of_sound
        pos = positions[used]
        d = fix.xy[None, :] - pos
        r = np.hypot(d[:, 0], d[:, 1])
        jac = np.column_stack([d / (c * r[:, None]), np.ones(len(r))])
        g = np.linalg.lstsq(jac, r / c**2, rcond=None)[0][:2]
        cov = cov + np.outer(g, g) * sigma_c**2
    if cov is fix.covariance:
        return fix
    return replace(fix, covariance=cov, ellipse=error_ellipse(cov), sigma_s=sigma)


def _combine(shots: list[_Shot]) -> tuple[FloatArray, FloatArray]:
    """Information-weighted mean of the rounds' positions, and the covariance of the
    best-determined round.

    Only rounds consistent with the best-determined one (Mahalanobis distance under the 99 %
    chi-square quantile, 9.21) take part: one badly placed round must not drag the others. The
    covariance does not shrink with more rounds: they share the sensors' survey errors and the
    speed-of-sound error, which do not average out.
    """
    best = min(shots, key=lambda s: float(np.trace(s.fix.covariance)))
    info = np.zeros((2, 2))
    vec = np.zeros(2)
    for s in shots:
        d = s.fix.xy - best.fix.xy
        try:
            inv = np.linalg.inv(s.fix.covariance)
            far = (
                s is not best
                and float(d @ np.linalg.solve(s.fix.covariance + best.fix.covariance, d)) > 9.21
            )
        except np.linalg.LinAlgError:
            continue
        if far or not np.all(np.isfinite(inv)):
            continue
        info += inv
        vec += inv @ s.fix.xy
    try:
        xy = np.linalg.solve(info, vec)
    except np.linalg.LinAlgError:
        return best.fix.xy, best.fix.covariance
    return np.asarray(xy, dtype=np.float64), best.fix.covariance


class GunshotDetector:
    """Associates impulse reports, locates shots and groups rounds (see the module docstring).

    Parameters
    ----------
    config : GunshotConfig, optional
        Defaults as documented there.
    """

    def __init__(self, config: GunshotConfig | None = None) -> None:
        self.config = config or GunshotConfig()
        self._ids: dict[str, int] = {}
        self._names: list[str] = []
        self._xy: list[tuple[float, float]] = []
        self._grid: FloatArray | None = None
        self._grid_d: FloatArray | None = None
        self._temps: list[tuple[float, float, float, float]] = []
        self._pending: list[_Report] = []
        self._seen: dict[str, float] = {}  # ref -> arrival, to ignore a resent report
        self._baseline: float | None = None
        self._fixes: dict[tuple[tuple[str, ...], float], TdoaFix | None] = {}
        self._events: list[_Event] = []
        self._t_ref: float | None = None
        self._wake = math.inf
        self.dropped_reports = 0
        """Reports that expired without joining a located shot (unrelated impulses)."""

    # --- inputs ----------------------------------------------------------------------------
    def add_sensor(self, sensor_id: str, x: float, y: float) -> None:
        """Register (or move) an acoustic sensor at ``(x, y)`` [m] in the local frame."""
        if not (math.isfinite(x) and math.isfinite(y)):
            raise ValueError(f"sensor {sensor_id!r}: position must be finite, got ({x}, {y})")
        if sensor_id in self._ids:
            self._xy[self._ids[sensor_id]] = (float(x), float(y))
        else:
            self._ids[sensor_id] = len(self._xy)
            self._names.append(sensor_id)
            self._xy.append((float(x), float(y)))
        self._grid = self._grid_d = None
        self._baseline = None
        self._fixes.clear()
        self._wake = -math.inf

    def add_temperature(self, x: float, y: float, time_s: float, celsius: float) -> None:
        """An air temperature [°C] measured at ``(x, y)`` [m] at ``time_s`` [s]."""
        self._temps.append((float(x), float(y), float(time_s), float(celsius)))
        latest = max(t[2] for t in self._temps[-64:])
        horizon = latest - 2.0 * self.config.temperature_max_age_s
        if self._temps[0][2] < horizon:
            self._temps = [t for t in self._temps if t[2] >= horizon]

    def add_report(self, report: ImpulseReport) -> None:
        """Queue an impulse report; a second report with the same ``ref`` is ignored.

        Raises
        ------
        ValueError
            The sensor was never registered with :meth:`add_sensor`, or the time is not finite.
        """
        if report.sensor not in self._ids:
            raise ValueError(
                f"impulse report {report.ref!r} comes from unknown sensor {report.sensor!r}; "
                "register it with add_sensor() first"
            )
        if not math.isfinite(report.arrival_s):
            raise ValueError(f"impulse report {report.ref!r}: arrival_s must be finite")
        if report.ref in self._seen:
            return
        if self._t_ref is None:
            self._t_ref = math.floor(report.arrival_s)
        self._seen[report.ref] = report.arrival_s - self._t_ref
        self._pending.append(
            _Report(
                report.ref,
                self._ids[report.sensor],
                report.arrival_s - self._t_ref,
                report.level_db,
                report.classes,
            )
        )
        # No shot is decided before its last report + min(quiet, excess delay) + latency:
        # nothing to do before then (see _decide_time).
        cfg = self.config
        c = speed_of_sound(cfg.default_temperature_c)
        soonest = min(cfg.quiet_s, cfg.max_excess_path_m / c) + cfg.report_latency_s
        self._wake = min(self._wake, self._pending[-1].t + 0.9 * soonest)

    def speed_of_sound_at(self, x: float, y: float, time_s: float) -> float:
        """Speed of sound [m/s] from the nearest qualifying temperature reading (else the
        default temperature)."""
        cfg = self.config
        best: tuple[float, float] | None = None
        for tx, ty, tt, celsius in self._temps:
            if abs(tt - time_s) > cfg.temperature_max_age_s:
                continue
            d = math.hypot(tx - x, ty - y)
            if d <= cfg.temperature_max_distance_m and (best is None or d < best[0]):
                best = (d, celsius)
        return speed_of_sound(best[1] if best else cfg.default_temperature_c)

    # --- the clock -------------------------------------------------------------------------
    def advance(self, now_s: float) -> list[GunshotEvent]:
        """Decide what can be decided at ``now_s`` [s]; return the events that are new or
        changed since the last call."""
        if self._t_ref is None or now_s - self._t_ref < self._wake:
            return []
        now = now_s - self._t_ref
        changed: list[_Event] = []
        self._wake = math.inf
        self._pending.sort(key=lambda r: r.t)
        changed += self._attach_late()
        reserved: set[str] = set()
        i = 0
        while i < len(self._pending):
            seed = self._pending[i]
            i += 1
            if seed.ref in reserved:
                continue
            pool = [r for r in self._pending if r.ref not in reserved]
            shot = self._shot_for(seed, pool)
            if shot is None:
                continue
            decide = self._decide_time(shot)
            if now < decide:
                reserved.update(r.ref for r in shot.reports)
                self._wake = min(self._wake, decide)
                continue
            used = {r.ref for r in shot.reports} | {r.ref for r in shot.rejected}
            self._pending = [r for r in self._pending if r.ref not in used]
            i = 0
            event = self._merge(shot)
            if event not in changed:
                changed.append(event)
        self._expire(now)
        return [self._public(e, now_s) for e in changed]

    # --- internals -------------------------------------------------------------------------
    def _positions(self) -> FloatArray:
        return np.asarray(self._xy, dtype=np.float64)

    def _max_baseline(self) -> float:
        """The largest distance between two sensors [m]."""
        if self._baseline is None:
            pos = self._positions()
            diff = pos[:, None, :] - pos[None, :, :]
            self._baseline = (
                float(np.max(np.hypot(diff[..., 0], diff[..., 1]))) if len(pos) else 0.0
            )
        return self._baseline

    def _horizon(self, c: float) -> float:
        """From first arrival to the latest moment a report of the same shot can be in [s]."""
        cfg = self.config
        return (
            min(self._max_baseline(), cfg.hearing_range_m * 2) / c
            + cfg.max_excess_path_m / c
            + cfg.report_latency_s
        )

    def _decide_time(self, shot: _Shot) -> float:
        cfg = self.config
        fix = shot.fix
        c = fix.speed_of_sound
        first = min(r.t for r in shot.reports)
        cap = first + self._horizon(c)
        if len(fix.used) < 4:
            # Three reports fit exactly, right or wrong (a mix of two sounds fits as well):
            # wait until no fourth can come.
            return cap
        d = np.hypot(*(self._positions() - fix.xy).T)
        in_range = d <= cfg.hearing_range_m
        if not np.any(in_range):
            return cap
        t0 = fix.emission_time - (self._t_ref or 0.0)
        latest = t0 + float(np.max(d[in_range])) / c
        last = max(r.t for r in shot.reports)
        return min(
            cap,
            latest + cfg.max_excess_path_m / c + cfg.report_latency_s,
            last + cfg.quiet_s + cfg.report_latency_s,
        )

    def _ensure_grid(self) -> tuple[FloatArray, FloatArray]:
        if self._grid is None or self._grid_d is None:
            pos = self._positions()
            m, step = self.config.search_margin_m, self.config.grid_step_m
            lo, hi = pos.min(axis=0) - m, pos.max(axis=0) + m
            gx = np.arange(lo[0], hi[0] + step, step)
            gy = np.arange(lo[1], hi[1] + step, step)
            xx, yy = np.meshgrid(gx, gy)
            self._grid = np.column_stack([xx.ravel(), yy.ravel()])
            self._grid_d = np.hypot(
                self._grid[:, None, 0] - pos[None, :, 0], self._grid[:, None, 1] - pos[None, :, 1]
            )
        return self._grid, self._grid_d

    def _backproject(
        self, seed: _Report, pool: list[_Report], c: float, alternatives: int = 4
    ) -> list[list[_Report]]:
        """Candidate groups: the seed plus, per other sensor, the report best explained by one
        grid position; the ``alternatives`` best-scoring distinct groups."""
        cfg = self.config
        pos = self._positions()
        # Late (diffracted) arrivals are left to the re-match around the fix: allowing them
        # here would let the next round's report at a sensor stand in for this one's.
        tol = cfg.association_tolerance_s
        by_sensor: dict[int, list[_Report]] = {}
        s_xy = pos[seed.sensor]
        for r in pool:
            if r.sensor == seed.sensor:
                continue
            window = math.hypot(*(pos[r.sensor] - s_xy)) / c + tol
            if abs(r.t - seed.t) <= window:
                by_sensor.setdefault(r.sensor, []).append(r)
        if len(by_sensor) + 1 < cfg.min_reports:
            return []
        _, dist = self._ensure_grid()
        tau = seed.t - dist[:, seed.sensor] / c
        score = np.zeros(len(tau))
        picks: list[tuple[list[_Report], FloatArray, FloatArray]] = []
        for s, reports in by_sensor.items():
            times = np.array([r.t for r in reports])
            diff = times[None, :] - (tau + dist[:, s] / c)[:, None]
            cost = np.where(np.abs(diff) <= tol, diff * diff / (tol * tol), np.inf)
            best = np.argmin(cost, axis=1)
            best_cost = cost[np.arange(len(tau)), best]
            ok = np.isfinite(best_cost)
            score += np.where(ok, 10.0 - best_cost, 0.0)
            picks.append((reports, best, ok))
        groups: dict[tuple[str, ...], list[_Report]] = {}
        top = np.argsort(-score)[: 50 * alternatives]
        for g in top.tolist():
            if score[g] < 10.0 * (cfg.min_reports - 1) - 1.0:
                break
            group = [seed] + [reports[int(best[g])] for reports, best, ok in picks if ok[g]]
            groups.setdefault(tuple(r.ref for r in group), group)
            if len(groups) >= alternatives:
                break
        return list(groups.values())

    def _locate(self, reports: list[_Report], c: float) -> TdoaFix | None:
        """:func:`locate_tdoa` of ``reports`` (in this order), remembered: the same groups come
        up again at every ``advance`` until their shot is decided."""
        key = (tuple(r.ref for r in reports), c)
        if key in self._fixes:
            return self._fixes[key]
        pos = self._positions()[[r.sensor for r in reports]]
        try:
            fix: TdoaFix | None = locate_tdoa(
                pos,
                np.array([r.t for r in reports]) + (self._t_ref or 0.0),
                c,
                sigma_s=self.config.timing_sigma_s,
                max_rejected=self.config.max_rejected,
                min_used=self.config.min_used,
            )
        except (ValueError, np.linalg.LinAlgError):
            fix = None
        if fix is not None:
            # dc/dT of c = 331.3 sqrt(1 + T / 273.15) is 331.3² / (2 · 273.15 · c).
            sigma_c = 331.3**2 / (2.0 * 273.15 * c) * self.config.temperature_sigma_k
            fix = _inflated(fix, pos, sigma_c)
        if len(self._fixes) >= 4096:
            self._fixes.clear()
        self._fixes[key] = fix
        return fix

    def _shot_for(self, seed: _Report, pool: list[_Report]) -> _Shot | None:
        t_ref = self._t_ref or 0.0
        sx, sy = self._xy[seed.sensor]
        c = self.speed_of_sound_at(sx, sy, seed.t + t_ref)
        found: list[_Shot] = []
        for group in self._backproject(seed, pool, c):
            shot = self._rematch(group, pool, c)
            if shot is not None:
                found.append(shot)
        if not found:
            return None
        # The explanation with the most reports wins; then the best fit.
        return max(
            found,
            key=lambda s: (
                len(s.fix.used),
                -float(np.sum(s.fix.residuals_s[list(s.fix.used)] ** 2)),
            ),
        )

    def _rematch(self, group: list[_Report], pool: list[_Report], c: float) -> _Shot | None:
        """Locate ``group``, then take per sensor the pool's report nearest its predicted
        arrival (late ones allowed) and locate again."""
        cfg = self.config
        t_ref = self._t_ref or 0.0
        fix = self._locate(group, c)
        if fix is None:
            return None
        c = self.speed_of_sound_at(float(fix.xy[0]), float(fix.xy[1]), fix.emission_time)
        t0 = fix.emission_time - t_ref
        pos = self._positions()
        slack, late = self._window(fix)
        chosen: dict[int, tuple[float, _Report]] = {}
        for r in pool:
            pred = t0 + math.hypot(*(pos[r.sensor] - fix.xy)) / c
            diff = r.t - pred
            if -slack <= diff <= late:
                cost = abs(diff) if diff <= slack else slack + (diff - slack) * 0.5
                if r.sensor not in chosen or cost < chosen[r.sensor][0]:
                    chosen[r.sensor] = (cost, r)
        if len(chosen) < cfg.min_reports:
            return None
        return self._relocate([r for _, r in chosen.values()], c)

    def _relocate(self, reports: list[_Report], c: float) -> _Shot | None:
        """Locate ``reports`` (one per sensor) as one shot, or None if they do not fit."""
        cfg = self.config
        reports = sorted(reports, key=lambda r: r.t)
        fix = self._locate(reports, c)
        if fix is None or len(fix.used) < cfg.min_reports:
            return None
        # A wrong association (reports of different rounds) leaves residuals of tenths of a
        # second; a diffracted arrival that could not be rejected leaves a few milliseconds.
        bound = max(10.0 * cfg.timing_sigma_s, 0.02)
        if float(np.max(np.abs(fix.residuals_s[list(fix.used)]))) > bound:
            return None
        return _Shot(fix, [reports[i] for i in fix.used], [reports[i] for i in fix.rejected])

    def _window(self, fix: TdoaFix) -> tuple[float, float]:
        """How early and how late [s] a report may be against ``fix``'s predicted arrival."""
        cfg = self.config
        c = fix.speed_of_sound
        spread = math.sqrt(max(float(np.max(np.linalg.eigvalsh(fix.covariance))), 0.0))
        slack = 5.0 * cfg.timing_sigma_s + 0.01 + 2.0 * min(spread, 100.0) / c
        return slack, slack + cfg.max_excess_path_m / c

    def _attach_late(self) -> list[_Event]:
        """Add pending reports that fit a decided shot at a sensor it lacks; re-locate it."""
        changed: list[_Event] = []
        if not self._pending:
            return changed
        t_ref = self._t_ref or 0.0
        pos = self._positions()
        for ev in self._events:
            for k, shot in enumerate(ev.shots):
                fix = shot.fix
                have = {r.sensor for r in shot.reports + shot.rejected}
                early, late = self._window(fix)
                t0 = fix.emission_time - t_ref
                extra: dict[int, _Report] = {}
                for r in self._pending:
                    if r.sensor in have:
                        continue
                    diff = r.t - t0 - math.hypot(*(pos[r.sensor] - fix.xy)) / fix.speed_of_sound
                    if -early <= diff <= late and (
                        r.sensor not in extra or abs(diff) < abs(extra[r.sensor].t - r.t + diff)
                    ):
                        extra[r.sensor] = r
                if not extra:
                    continue
                new = self._relocate(
                    shot.reports + shot.rejected + list(extra.values()), fix.speed_of_sound
                )
                if new is None:
                    continue
                ev.shots[k] = new
                taken = {r.ref for r in extra.values()}
                self._pending = [r for r in self._pending if r.ref not in taken]
                if ev not in changed:
                    changed.append(ev)
        return changed

    def _merge(self, shot: _Shot) -> _Event:
        cfg = self.config
        best: tuple[float, _Event] | None = None
        for ev in self._events:
            gap = min(abs(shot.fix.emission_time - s.fix.emission_time) for s in ev.shots)
            if gap > cfg.round_gap_s:
                continue
            xy, cov = _combine(ev.shots)
            sigma = math.sqrt(max(float(np.max(np.linalg.eigvalsh(cov + shot.fix.covariance))), 0))
            d = math.hypot(*(shot.fix.xy - xy))
            if d <= max(cfg.round_distance_m, 3.0 * sigma) and (best is None or d < best[0]):
                best = (d, ev)
        if best is not None:
            ev = best[1]
            for k, old in enumerate(ev.shots):
                if abs(old.fix.emission_time - shot.fix.emission_time) <= cfg.same_round_s:
                    have = {r.sensor for r in old.reports + old.rejected}
                    extra = [r for r in shot.reports + shot.rejected if r.sensor not in have]
                    both = self._relocate(
                        old.reports + old.rejected + extra, old.fix.speed_of_sound
                    )
                    if both is None:  # keep the better-supported fix of the round
                        both = max(old, shot, key=lambda s: len(s.fix.used))
                    ev.shots[k] = both
                    return ev
            ev.shots.append(shot)
            ev.shots.sort(key=lambda s: s.fix.emission_time)
            return ev
        first = min(shot.reports, key=lambda r: r.t)
        event = _Event(id="gunshot-" + first.ref.replace(":", "-"), shots=[shot])
        self._events.append(event)
        return event

    def _expire(self, now: float) -> None:
        t_ref = self._t_ref or 0.0
        c = speed_of_sound(self.config.default_temperature_c)
        horizon = self._horizon(c) + 1.0
        keep = [r for r in self._pending if r.t >= now - horizon]
        self.dropped_reports += len(self._pending) - len(keep)
        self._pending = keep
        if len(self._seen) > 4 * len(keep) + 1024:
            self._seen = {k: t for k, t in self._seen.items() if t >= now - 2.0 * horizon}
        if keep:
            self._wake = min(self._wake, min(r.t for r in keep) + horizon)
        self._events = [
            e
            for e in self._events
            if e.shots[-1].fix.emission_time - t_ref + self.config.round_gap_s + horizon >= now
        ]

    def _public(self, ev: _Event, now_s: float) -> GunshotEvent:
        cfg = self.config
        t_ref = self._t_ref or 0.0
        xy, cov = _combine(ev.shots)
        reports = [r for s in ev.shots for r in s.reports]
        classes = pool_classes([r.classes for r in reports], cfg.class_floor)
        p_gun = classes.get("gunshot", 0.0)
        others = {k: v for k, v in classes.items() if k != "gunshot"}
        top_other = max(others, key=lambda k: others[k])
        kind = (
            "gunshot" if p_gun >= cfg.min_probability and p_gun >= others[top_other] else top_other
        )
        status = "updated" if ev.emitted else "new"
        ev.emitted = True
        sensors = sorted({self._names[r.sensor] for r in reports})
        # A shot's reports and rejected reports are its fix's used and rejected inputs, in
        # order (see _relocate); a sensor rejected as an outlier keeps its residual too, as a
        # clock far off is rejected every time.
        per_sensor: dict[str, list[float]] = {}
        for shot in ev.shots:
            pairs = [
                *zip(shot.reports, shot.fix.used, strict=True),
                *zip(shot.rejected, shot.fix.rejected, strict=True),
            ]
            for report, i in pairs:
                per_sensor.setdefault(self._names[report.sensor], []).append(
                    float(shot.fix.residuals_s[i])
                )
        return GunshotEvent(
            id=ev.id,
            kind=kind,
            xy=(float(xy[0]), float(xy[1])),
            covariance=(
                (float(cov[0, 0]), float(cov[0, 1])),
                (float(cov[1, 0]), float(cov[1, 1])),
            ),
            ellipse=error_ellipse(cov),
            rounds=len(ev.shots),
            round_times_s=tuple(s.fix.emission_time for s in ev.shots),
            first_arrival_s=min(r.t for r in reports) + t_ref,
            last_arrival_s=max(r.t for s in ev.shots for r in s.reports + s.rejected) + t_ref,
            decided_s=now_s,
            p_gunshot=p_gun,
            classes=classes,
            refs=tuple(r.ref for r in reports),
            sensors=tuple(sensors),
            rejected_refs=tuple(r.ref for s in ev.shots for r in s.rejected),
            speed_of_sound=ev.shots[-1].fix.speed_of_sound,
            poor_geometry=any(s.fix.poor_geometry for s in ev.shots),
            status=status,
            residuals_s={k: sum(v) / len(v) for k, v in sorted(per_sensor.items())},
        )

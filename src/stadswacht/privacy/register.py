"""The algorithm register: one public entry for every detector and model the platform runs.

Each entry follows the fields of the Dutch government's Algorithm Register
(algoritmes.overheid.nl, its *publicatiestandaard*): name, organisation, short description,
status, publication category, goal and impact, considerations, human intervention, risk
management, legal basis, impact assessments, data, technical operation, supplier, source code
and contact. Stadswacht adds the measured performance, each figure with the command that
measured it, and how the algorithm is monitored in use.

Every figure is quoted from the project's README.md ("Measured"); an algorithm without a
published figure says so. The texts are English; :func:`entry_as_dict` with ``lang="nl"`` gives
the register's Dutch field names, so an entry can be copied into the national register.

The organisation, contact and source link are those of the deployment (the platform is
software; the organisation that runs it publishes the register):
:func:`algorithm_register` fills them in.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "FIELD_LABELS",
    "REQUIRED_FIELDS",
    "AlgorithmEntry",
    "Figure",
    "algorithm_register",
    "entry_as_dict",
    "missing_fields",
]

Status = Literal["in use", "in development", "planned", "retired"]


@dataclass(frozen=True, slots=True)
class Figure:
    """One measured performance figure, as published in README.md."""

    figure: str
    measured: str
    target: str
    verdict: str
    command: str


@dataclass(frozen=True, slots=True)
class AlgorithmEntry:
    """One algorithm-register entry. Every text field is required and non-empty."""

    id: str
    name: str
    organisation: str
    short_description: str
    status: Status
    publication_category: str
    goal_and_impact: str
    considerations: str
    human_intervention: str
    risk_management: str
    legal_basis: str
    impact_assessment: str
    data_sources: str
    technical_operation: str
    algorithm_type: str
    supplier: str
    performance: tuple[Figure, ...]
    performance_note: str
    monitoring: str
    contact: str
    source_code: str
    detectors: tuple[str, ...] = ()
    """The ``Detection.detector`` values it stands behind."""
    detection_kinds: tuple[str, ...] = ()
    """The ``Detection.kind`` values it raises."""


FIELD_LABELS: dict[str, tuple[str, str, str]] = {
    # field: (Dutch key, Dutch label, English label)
    "id": ("id", "Kenmerk", "Identifier"),
    "name": ("naam", "Naam", "Name"),
    "organisation": ("organisatie", "Organisatie", "Organisation"),
    "short_description": ("korte_omschrijving", "Korte omschrijving", "Short description"),
    "status": ("status", "Status", "Status"),
    "publication_category": ("publicatiecategorie", "Publicatiecategorie", "Publication category"),
    "goal_and_impact": ("doel_en_impact", "Doel en impact", "Goal and impact"),
    "considerations": ("overwegingen", "Overwegingen", "Considerations"),
    "human_intervention": (
        "menselijke_tussenkomst",
        "Menselijke tussenkomst",
        "Human intervention",
    ),
    "risk_management": ("risicobeheer", "Risicobeheer", "Risk management"),
    "legal_basis": ("wettelijke_basis", "Wettelijke basis", "Legal basis"),
    "impact_assessment": ("impacttoetsen", "Impacttoetsen", "Impact assessments"),
    "data_sources": ("gegevens", "Gegevens", "Data"),
    "technical_operation": ("technische_werking", "Technische werking", "Technical operation"),
    "algorithm_type": ("type_algoritme", "Type algoritme", "Type of algorithm"),
    "supplier": ("leverancier", "Leverancier", "Supplier"),
    "performance": ("prestaties", "Prestaties (gemeten)", "Performance (measured)"),
    "performance_note": ("toelichting_prestaties", "Toelichting prestaties", "About the figures"),
    "monitoring": ("monitoring", "Monitoring", "Monitoring"),
    "contact": ("contactgegevens", "Contactgegevens", "Contact"),
    "source_code": ("link_naar_broncode", "Link naar broncode", "Source code"),
    "detectors": ("detectoren", "Detectoren", "Detectors"),
    "detection_kinds": ("soorten_detecties", "Soorten detecties", "Detection kinds"),
}
"""Each field's Dutch key, Dutch label and English label."""

_FIGURE_LABELS = {
    "figure": ("grootheid", "Grootheid", "Figure"),
    "measured": ("gemeten", "Gemeten", "Measured"),
    "target": ("doel", "Doel", "Target"),
    "verdict": ("oordeel", "Oordeel", "Verdict"),
    "command": ("commando", "Commando", "Command"),
}

REQUIRED_FIELDS = tuple(
    f.name
    for f in dataclasses.fields(AlgorithmEntry)
    if f.name not in ("detectors", "detection_kinds")
)
"""Fields every entry must fill (non-empty)."""

_SOURCE = "Stadswacht (open source, EUPL-1.2), developed by the Stadswacht project"
_DPIA_TODO = (
    "DPIA: to be carried out by the deploying organisation before use on real sensors "
    "(not yet done for any deployment). IAMA (human rights and algorithms impact assessment): "
    "to be carried out by the deploying organisation; not yet done."
)
_NO_PERSONAL_DATA = "No personal data is processed, so no DPIA is required. IAMA: not yet done."
_GUNSHOT_README = "README.md, 'Gunshot detection'; bench/gunshot.py printed these on 2026-11-26"


def _gunshot_classifier() -> dict[str, Any]:
    cmd = ".venv/bin/python bench/gunshot.py"
    return dict(
        id="gunshot-classifier",
        name="Impulse classifier (gunshot, fireworks, other impulsive sound)",
        short_description=(
            "On the acoustic sensor, classifies each loud impulsive sound as gunshot, "
            "fireworks, other impulsive sound or background; only the report (arrival time, "
            "level, class probabilities) leaves the sensor, never continuous audio."
        ),
        status="in development",
        publication_category=(
            "Impactful algorithm (impactvol algoritme): its output can send police to a place. "
            "Whether it is a high-risk AI system under the AI Act (Annex III, law enforcement) "
            "is for the deploying organisation to assess; treat it as high-risk until then."
        ),
        goal_and_impact=(
            "Goal: notice gunfire in a city area within seconds so that emergency services "
            "arrive sooner. Impact: a false alarm can send police to a street for nothing; a "
            "missed shot gives no alert. It assesses sounds, not persons."
        ),
        considerations=(
            "Classifying on the sensor keeps audio of people's conversations off the network. "
            "The classifier's own targets are missed (see performance), so its score is "
            "advice that a located event and a person must confirm, never an alert on its own."
        ),
        human_intervention=(
            "No decision is taken automatically. A detection is shown to an operator with its "
            "probability, uncertainty ellipse and the sensors that heard it; the operator "
            "decides whether to dispatch."
        ),
        risk_management=(
            "Figures published with the command that measured them; missed targets stated. "
            "Evaluation on living-lab scenarios with ground truth (stadswacht evaluate). "
            "Readings are signed per device; the model ships as plain numbers (no pickle)."
        ),
        legal_basis=(
            "Police task, Politiewet 2012 art. 3; processing of police data, Wet "
            "politiegegevens. To be confirmed by the deploying organisation."
        ),
        impact_assessment=_DPIA_TODO,
        data_sources=(
            "Training: public recordings of gunshots and other impulsive sounds, split by "
            "recording source, and synthetic fireworks (scripts/train_acoustic.py, "
            "research/gunshot-cnn/export.py). In use: 1 s around each onset, on the sensor only."
        ),
        technical_operation=(
            "Streaming onset detector, then a log-mel convolutional network and a random forest "
            "on hand-made features, combined by the chain rule (docs/gunshot.md)."
        ),
        algorithm_type="Self-learning (trained classifier)",
        performance=(
            Figure(
                "classifier as shipped (log-mel CNN × the forest's fireworks term), gunshot vs "
                "every other real class, held out by recording source (23 folds, CNN retrained "
                "per fold): AUC",
                "0.912",
                "≥ 0.98",
                "missed",
                cmd,
            ),
            Figure("... recall at 1 % false positives", "0.57", "≥ 0.90", "missed", cmd),
            Figure("... simulated fireworks vs real gunshots: AUC", "0.946", "", "simulated", cmd),
            Figure(
                "the CNN alone / the random forest alone (the earlier shipped model): AUC, "
                "recall at 1 % FPR",
                "0.914, 0.66 / 0.893, 0.35",
                "",
                "for comparison",
                cmd,
            ),
        ),
        performance_note=(
            f"{_GUNSHOT_README}; the classifier rows need PyTorch installed (the bench extra). "
            "The classifier targets are missed: reaching them needs more varied real recordings."
        ),
        monitoring=(
            "Operators' confirmations and false alarms per detection; the living-lab scenarios "
            "are re-run on every change (stadswacht evaluate)."
        ),
        source_code="src/stadswacht/detect/acoustic/",
        detectors=(),
        detection_kinds=("gunshot", "fireworks", "impulsive_other"),
    )


def _gunshot_locator() -> dict[str, Any]:
    cmd = ".venv/bin/python bench/gunshot.py"
    return dict(
        id="gunshot-locator",
        name="Gunshot location (TDOA) and event grouping",
        short_description=(
            "On the platform, associates the impulse reports of several sensors, locates the "
            "source from the differences in arrival time with a 95 % uncertainty ellipse, and "
            "groups rounds into one event."
        ),
        status="in development",
        publication_category=(
            "Impactful algorithm (impactvol algoritme): it places a possible shooting on the "
            "map for police. AI Act status to be assessed by the deploying organisation."
        ),
        goal_and_impact=(
            "Goal: tell responders where a shot was fired, and how sure that is. Impact: a "
            "wrong position sends responders to the wrong street; the ellipse shows the doubt."
        ),
        considerations=(
            "A physical model (sound travels at a known speed) rather than a learned one, so "
            "its error can be compared with the theoretical bound (Cramér-Rao)."
        ),
        human_intervention=(
            "The operator sees the position, ellipse, probability and the sensors that heard "
            "it, and decides what to do; nothing is dispatched automatically."
        ),
        risk_management=(
            "Simulated benchmarks against the Cramér-Rao bound, with late (diffracted) "
            "arrivals and survey and temperature errors; living-lab scenarios with ground "
            "truth; every detection keeps its evidence (the readings it rests on)."
        ),
        legal_basis=(
            "Police task, Politiewet 2012 art. 3; Wet politiegegevens. To be confirmed by the "
            "deploying organisation."
        ),
        impact_assessment=_DPIA_TODO,
        data_sources=(
            "Impulse reports (arrival time, level, class probabilities) of registered acoustic "
            "sensors and their surveyed positions; air temperature for the speed of sound."
        ),
        technical_operation=(
            "Maximum-likelihood TDOA fix (scipy least_squares) with a 95 % ellipse from its "
            "covariance; association of reports within the travel time between sensors "
            "(docs/gunshot.md)."
        ),
        algorithm_type="Rule-based / statistical model (no training)",
        performance=(
            Figure(
                "median error / Cramér-Rao bound, 6 sensors 200-400 m apart, 1 ms timing "
                "noise (simulated)",
                "0.81",
                "≤ 1.2",
                "met",
                cmd,
            ),
            Figure("p95 error / Cramér-Rao bound (simulated)", "1.74", "≤ 2", "met", cmd),
            Figure(
                "realistic scene (International Zone layout, 0.3 m survey error, 2 K "
                "temperature error, diffraction, 5-8 sensors): median / p90 (simulated)",
                "1.7 / 4.5 m",
                "≤ 5 / ≤ 10 m",
                "met",
                cmd,
            ),
            Figure(
                "decision, p95 after the last arrival (simulated)", "1.6 s", "≤ 2 s", "met", cmd
            ),
            Figure(
                "International Zone scenario (3 shootings, fireworks, 42 door slams): shots "
                "detected, precision, false alarms / h",
                "3/3, 1.0, 0",
                "",
                "simulated",
                "stadswacht evaluate scenarios/international_zone.yaml",
            ),
        ),
        performance_note=(
            f"{_GUNSHOT_README}; the scenario row from `stadswacht evaluate` (living lab, "
            "simulated). All location figures are simulated."
        ),
        monitoring=(
            "Each detection's ellipse and sensor count; operators' confirmations; the "
            "living-lab scenarios are re-run on every change."
        ),
        source_code="src/stadswacht/detect/gunshot.py, src/stadswacht/detect/tdoa.py",
        detectors=("gunshot",),
        detection_kinds=("gunshot", "fireworks", "impulsive_other"),
    )


def _crowd_monitor() -> dict[str, Any]:
    return dict(
        id="crowd-monitor",
        name="Crowd density and crowd warnings",
        short_description=(
            "From people counters at the gates of a zone, estimates how many people are in "
            "it, its density and level of service, and warns before a zone reaches a "
            "dangerous density."
        ),
        status="in development",
        publication_category=(
            "Impactful algorithm (impactvol algoritme): its warnings can lead to closing an "
            "area or redirecting people. It counts people, never identifies them."
        ),
        goal_and_impact=(
            "Goal: prevent dangerous crowding at events and busy places by warning in time. "
            "Impact: a late warning leaves a crowd at risk; a false one can close an entrance."
        ),
        considerations=(
            "Counts only, published coarsened below the minimum group size "
            "(min_published_count); a normal band per weekday and time so that a busy "
            "Saturday is not an alarm."
        ),
        human_intervention=(
            "Warnings go to operators and the event's safety staff, who decide on measures; "
            "no gate is closed automatically."
        ),
        risk_management=(
            "Density error measured against real trajectories (Jülich); warnings tested on "
            "surges designed after the warning window was fixed; hysteresis against flapping."
        ),
        legal_basis=(
            "Mayor's duty to maintain public order and to supervise events and public places, "
            "Gemeentewet art. 172 and 174. To be confirmed by the deploying organisation."
        ),
        impact_assessment=_DPIA_TODO,
        data_sources=(
            "Counts of people crossing lines or present in zones, from registered counters; "
            "zone areas and gate widths."
        ),
        technical_operation=(
            "Occupancy from in/out counts with drift correction, density per m², level of "
            "service (Fruin), normal bands per weekday and time of day, warnings on the trend "
            "with hysteresis and escalation (docs/crowd.md)."
        ),
        algorithm_type="Rule-based / statistical model",
        performance=(
            Figure(
                "density from line counts (3 % missed crossings, worst of 20 seeds) vs "
                "density measured on the Jülich trajectories, up to 3.3 persons/m²",
                "max abs error 0.42 persons/m²",
                "≤ 0.5",
                "met",
                ".venv/bin/python bench/crowd_density.py",
            ),
            Figure(
                "warning before a zone reaches 4 persons/m² (Malieveld scenario, simulated)",
                "34.0 and 16.0 min ahead (Koekamp 15.2); median 16.0 min; 0 false warnings",
                "≥ 10 min; ≤ 1 per zone per day",
                "met",
                "stadswacht evaluate scenarios/malieveld_event.yaml",
            ),
            Figure(
                "egress estimate vs JuPedSim, 21 layouts held out",
                "max 13.2 %, mean 4.9 %",
                "±15 %, < 1 s",
                "met",
                ".venv/bin/python bench/egress.py",
            ),
        ),
        performance_note="README.md, 'Crowds'. Warning figures are from a simulated scenario.",
        monitoring=(
            "Each zone's state and warning on the dashboard; warnings and their all-clears "
            "are stored as detections for evaluation afterwards."
        ),
        source_code="src/stadswacht/detect/crowd/, src/stadswacht/pipeline/crowd.py",
        detectors=("crowd",),
        detection_kinds=("crowd",),
    )


def _crowd_forecast() -> dict[str, Any]:
    cmd = ".venv/bin/python bench/crowd_forecast.py"
    return dict(
        id="crowd-forecast",
        name="Crowd forecast",
        short_description=(
            "Forecasts the number of people per sensor and the density per zone from 5 "
            "minutes to 3 hours ahead, with an 80 % interval."
        ),
        status="in development",
        publication_category=(
            "Impactful algorithm (impactvol algoritme): it informs crowd measures. It works "
            "on counts, never on persons."
        ),
        goal_and_impact=(
            "Goal: see crowding coming early enough to act. Impact: an over-confident "
            "forecast can delay measures; the interval shows the doubt."
        ),
        considerations=(
            "Gradient boosting on calendar and recent counts beats 'same hour last week' on "
            "real counts; for 30 min in the living lab it is worse than persistence, which is "
            "published rather than hidden."
        ),
        human_intervention=(
            "Forecasts are shown to operators with their band and basis (forecast_basis); "
            "they trigger nothing on their own."
        ),
        risk_management=(
            "Backtests on real counts (Melbourne) with a stated caveat on the held-out year; "
            "coverage of the 80 % interval measured."
        ),
        legal_basis=(
            "Gemeentewet art. 172 and 174 (public order, events). To be confirmed by the "
            "deploying organisation."
        ),
        impact_assessment=_DPIA_TODO,
        data_sources=(
            "Hourly pedestrian counts (Melbourne, public, for development and benchmarks); in "
            "use, the zone's own counts."
        ),
        technical_operation=(
            "scikit-learn histogram gradient boosting, one model per horizon; the live zone "
            "forecast follows the trend to 30 min and relaxes toward the normal band to 3 h."
        ),
        algorithm_type="Self-learning (gradient boosting)",
        performance=(
            Figure(
                "crowd forecast, Melbourne hourly counts (39 sensors, real), train to 2013, "
                "test 2014: MAE / 'same hour last week' at 1 h and 3 h, 80 % interval "
                "coverage",
                "0.572 / 0.807; 0.816",
                "≤ 0.70 / ≤ 0.81; 75-85 %",
                "met (not a clean held-out test)",
                cmd,
            ),
            Figure(
                "zone density forecast in the living lab (Malieveld, 5 zones, simulated): "
                "MAE at 5 / 15 / 30 min",
                "0.074 / 0.310 / 0.802 p/m² (persistence 0.134 / 0.398 / 0.723)",
                "",
                "30 min: worse than persistence, band too narrow",
                ".venv/bin/python bench/zone_forecast_livinglab.py",
            ),
        ),
        performance_note=(
            "README.md, 'Crowds'. The 2014 figures are not a clean held-out test: the design "
            "was changed after seeing them (README.md says how)."
        ),
        monitoring="Forecast against what happened, per zone; interval coverage.",
        source_code=(
            "src/stadswacht/forecast/crowd.py, src/stadswacht/detect/crowd/zone_forecast.py"
        ),
        detectors=("crowd",),
        detection_kinds=("crowd",),
    )


def _hazard_monitor() -> dict[str, Any]:
    return dict(
        id="hazard-monitor",
        name="Hazard warnings (high water, rain, heat, wind)",
        short_description=(
            "Compares gauge and weather readings with thresholds (level, rate, maximum, sum) "
            "and issues, updates and clears warnings, which go out as CAP alerts."
        ),
        status="in development",
        publication_category=(
            "Impactful algorithm (impactvol algoritme): it warns the public. It uses no "
            "personal data."
        ),
        goal_and_impact=(
            "Goal: warn people before high water, heavy rain, heat or storm. Impact: a missed "
            "warning leaves people unprepared; too many erode trust."
        ),
        considerations=(
            "Thresholds come from Rijkswaterstaat and KNMI presets, so the platform warns on "
            "the criteria the authorities use; hysteresis keeps a warning from flapping."
        ),
        human_intervention=(
            "Public CAP alerts are published only where the deployment chose to "
            "(cap_public); the warning lifecycle is visible to operators, who can act on it."
        ),
        risk_management=(
            "Every alert is checked against the OASIS CAP schema and semantic rules before it "
            "leaves; skill scores with bootstrap intervals."
        ),
        legal_basis=(
            "Informing the population about hazards: Wet veiligheidsregio's; water "
            "management: Waterwet. To be confirmed by the deploying organisation."
        ),
        impact_assessment=_NO_PERSONAL_DATA,
        data_sources=(
            "Water-level gauges and weather stations (Rijkswaterstaat, KNMI, the deployment's "
            "own sensors)."
        ),
        technical_operation=(
            "Threshold rules with hysteresis, escalation and all clear (docs/warnings.md)."
        ),
        algorithm_type="Rule-based",
        performance=(),
        performance_note=(
            "No figure published in README.md yet; skill is measured by "
            "`.venv/bin/python bench/warning_skill.py`."
        ),
        monitoring="Every warning and alert is stored (detections, CAP alerts) for evaluation.",
        source_code="src/stadswacht/detect/hazard/, src/stadswacht/pipeline/hazard.py",
        detectors=("hazard",),
        detection_kinds=("hazard",),
    )


def _sensor_health() -> dict[str, Any]:
    return dict(
        id="sensor-health",
        name="Sensor health, spoofing and outage detection",
        short_description=(
            "Watches the platform's own sensors: silent, stuck, drifting clock, out of range, "
            "at odds with their neighbours, replayed or injected readings, bursts of "
            "signature failures; infers power, network and flood outages from many silent "
            "devices at once; quarantines a device it suspects of lying."
        ),
        status="in development",
        publication_category=(
            "Other algorithm: it decides which sensor readings the other detectors use. It "
            "uses no personal data."
        ),
        goal_and_impact=(
            "Goal: keep detections trustworthy and outages visible (ETSI EN 303 645 5.9, IEC "
            "62443 SR 3.1, SR 7.1). Impact: a wrongly quarantined sensor is left out of "
            "gunshot, crowd and hazard detection until a person clears it; a missed fault lets "
            "a lying sensor raise or hide detections."
        ),
        considerations=(
            "Each check adapts to the device's own rhythm and history; a device is quarantined "
            "(readings kept, not used) rather than refused, so nothing is lost and a person "
            "decides."
        ),
        human_intervention=(
            "Only a person lifts a quarantine (POST /v1/devices/{id}/clear or `stadswacht "
            "device clear`), with a note; every quarantine and clearance is on the audit log."
        ),
        risk_management=(
            "Scored on injected failures, power cuts and attacks in the living-lab scenarios "
            "(`stadswacht evaluate`); false alarms per device per day are reported."
        ),
        legal_basis=(
            "Operating the deployment's own infrastructure securely (AVG art. 32, NIS2 where "
            "it applies). To be confirmed by the deploying organisation."
        ),
        impact_assessment=_NO_PERSONAL_DATA,
        data_sources="The platform's own sensor readings and the ingest's rejections.",
        technical_operation=(
            "Per-device statistical checks and neighbour comparison; outages as spatial "
            "clusters of silent devices classified by power, water and signature evidence "
            "(docs/infra-detection.md)."
        ),
        algorithm_type="Rule-based with per-device statistics",
        performance=(
            Figure(
                "living lab, simulated (International Zone): injected failures, power cuts and "
                "attacks found; false alarms per device per day",
                "6 / 6; 0.0",
                "all; ≤ 0.01",
                "met (simulated)",
                "STADSWACHT_ENV=development .venv/bin/stadswacht evaluate "
                "scenarios/international_zone.yaml",
            ),
        ),
        performance_note=(
            "Simulated only: thresholds were checked on two living-lab scenarios without "
            "packet loss; no figure from real sensor faults."
        ),
        monitoring="Every finding is stored as an infra detection and fused into an incident.",
        source_code="src/stadswacht/detect/infra/, src/stadswacht/pipeline/infra.py",
        detectors=("infra",),
        detection_kinds=("infra",),
    )


def _water_forecast() -> dict[str, Any]:
    return dict(
        id="water-level-forecast",
        name="Water-level forecast (harmonic tide and surge)",
        short_description=(
            "Forecasts the water level at a gauge from the astronomical tide and a surge "
            "model, so a warning can be issued before the level is reached."
        ),
        status="in development",
        publication_category=(
            "Impactful algorithm (impactvol algoritme): its forecast can trigger a public "
            "warning. It uses no personal data."
        ),
        goal_and_impact=(
            "Goal: warn of high water hours ahead. Impact: a wrong forecast gives a late or a "
            "needless warning."
        ),
        considerations=(
            "Harmonic tide analysis is the established method; the surge part is trained on "
            "the gauge's history."
        ),
        human_intervention=(
            "Forecast warnings follow the hazard warning lifecycle and are visible to "
            "operators before and while they are published."
        ),
        risk_management="Skill scores with bootstrap intervals against observed levels.",
        legal_basis="Waterwet (water management). To be confirmed by the deploying organisation.",
        impact_assessment=_NO_PERSONAL_DATA,
        data_sources="Water levels of Rijkswaterstaat gauges (e.g. Hoek van Holland); wind.",
        technical_operation=(
            "Harmonic tide plus a statistical surge model (src/stadswacht/forecast/tide.py, "
            "surge.py, water.py)."
        ),
        algorithm_type="Statistical model, fitted to the gauge's history",
        performance=(),
        performance_note=(
            "No figure published in README.md yet; skill is measured by "
            "`.venv/bin/python bench/warning_skill.py`."
        ),
        monitoring="Forecast against observed levels at every gauge.",
        source_code="src/stadswacht/forecast/",
        detectors=("hazard",),
        detection_kinds=("hazard",),
    )


_HOTSPOT_MODELS: tuple[tuple[str, str, str, str, str], ...] = (
    # (model, name, what it computes, citation, type)
    (
        "naive_count",
        "Crime hotspots: naive long-run count",
        "each cell's share of all past incidents (the baseline every other model must beat)",
        "the baseline of open_cp (QuantCrimAtLeeds/PredictCode) and most hotspot evaluations",
        "Rule-based (counting)",
    ),
    (
        "retrospective_kde",
        "Crime hotspots: retrospective kernel density",
        "a Gaussian kernel density of the last year's incidents (300 m)",
        "Chainey, Tompson & Uhlig (2008), Security Journal 21, 4-28",
        "Statistical model (kernel density)",
    ),
    (
        "prospective_hotspot",
        "Crime hotspots: prospective hotspotting",
        "incidents of the last eight weeks within 400 m, weighted down with distance and age",
        "Bowers, Johnson & Pease (2004), British Journal of Criminology 44(5), 641-658",
        "Statistical model (space-time weighting)",
    ),
    (
        "near_repeat_smoothed",
        "Crime hotspots: decayed smoothed count with near-repeat boost",
        "a time-decayed (one-year half-life), 150 m Gaussian-smoothed count, with an optional "
        "short-term boost near incidents of the last two weeks",
        "Chainey, Tompson & Uhlig (2008); Townsley, Homel & Chaseling (2003); Johnson et al. "
        "(2007)",
        "Statistical model (kernel density with decay)",
    ),
    (
        "count_mixture",
        "Crime hotspots: count mixture",
        "a mixture of each cell's all-history count, a one-year half-life count and its "
        "neighbourhood's smoothed count",
        "Mohler (2014), International Journal of Forecasting 30(3), 491-497; Clayton & Kaldor "
        "(1987), Biometrics 43(3), 671-681",
        "Statistical model (mixture of counts)",
    ),
    (
        "sepp",
        "Crime hotspots: self-exciting point process",
        "a per-cell background rate plus what recent incidents trigger nearby, fitted by "
        "expectation-maximisation on the last year",
        "Mohler et al. (2011), JASA 106(493), 100-108; Mohler et al. (2015), JASA 110(512), "
        "1399-1411",
        "Statistical model (self-exciting point process, fitted to history)",
    ),
)


def _hotspot(model: str, name: str, what: str, citation: str, kind: str) -> dict[str, Any]:
    cmd = ".venv/bin/python bench/hotspots.py"
    return dict(
        id=f"crime-hotspots-{model.replace('_', '-')}",
        name=name,
        short_description=(
            f"Forecasts the expected number of incidents per 150 m grid cell for one day from "
            f"{what}. About places and times only, never about persons."
        ),
        status="in development",
        publication_category=(
            "Impactful algorithm (impactvol algoritme): it can steer where police are present. "
            "Place-based, so not the prohibited person-based risk assessment of EU AI Act art. "
            "5(1)(d); whether it is high-risk (Annex III, 6) is to be assessed by the deploying "
            "organisation."
        ),
        goal_and_impact=(
            "Goal: an aid for planning patrols and prevention by place. Impact: areas flagged "
            "more often get more police presence; where crime is recorded unevenly this can "
            "over-police some neighbourhoods, and more presence records more crime (a feedback "
            "loop)."
        ),
        considerations=(
            f"Method: {citation}. Chosen against the naive count and the other hotspot models "
            "in one out-of-sample backtest; parameters chosen on a validation period before "
            "the test period. See docs/model-cards/hotspots.md."
        ),
        human_intervention=(
            "A forecast is advice to a planner, never a decision; it triggers nothing. Each "
            "cell shows why it is high (long-run, recent, near-repeat). Runs are made by named "
            "people or jobs and kept."
        ),
        risk_management=(
            "Out-of-sample backtests against the naive baseline, a reporting-bias audit "
            "(exposure per area) and a feedback-loop simulation (bench/hotspots.py, "
            "src/stadswacht/forecast/hotspots/bias.py, feedback.py). Person-level columns are "
            "refused on input. Runs are TLP:AMBER, shared only under an agreement."
        ),
        legal_basis=(
            "Politiewet 2012 art. 3 (police task); to be established and confirmed by the "
            "deploying organisation before use."
        ),
        impact_assessment=(
            "DPIA: to be carried out by the deploying organisation before use (incident "
            "records can relate to persons even when the forecast does not). IAMA (human "
            "rights and algorithms impact assessment): required before use; not yet done."
        ),
        data_sources=(
            "Geocoded incident records: kind, time and place only (public open-data extracts "
            "for development: Chicago, San Francisco, Vancouver and others); a study-area "
            "polygon. Never data about persons."
        ),
        technical_operation=(
            f"Model {model} (src/stadswacht/forecast/hotspots/): {what}, scaled to the recent "
            "mean daily count. Every run is stored with the SHA-256 of its inputs, its "
            "parameters, who ran it and the agency that owns it."
        ),
        algorithm_type=kind,
        performance=(),
        performance_note=(
            f"No figure published in README.md yet: not measured yet. The backtest that will "
            f"measure it is `{cmd}`."
        ),
        monitoring=(
            "Every forecast run is kept (inputs hash, parameters, who, when); hit rate and "
            "predictive accuracy index against what was recorded, and the bias audit, per "
            "period."
        ),
        source_code="src/stadswacht/forecast/hotspots/, docs/model-cards/hotspots.md",
    )


def _hotspot_entries() -> list[dict[str, Any]]:
    return [_hotspot(*m) for m in _HOTSPOT_MODELS]


def _websignal() -> dict[str, Any]:
    return dict(
        id="websignal",
        name="Web signals: bursts of public posts per area",
        short_description=(
            "Reads public posts from feeds the deployment is allowed to use, keeps the ones "
            "about the platform's areas, classifies them for safety relevance and information "
            "type (a small text classifier plus the operator's search terms) and reports when "
            "clearly more different people than normal post about one kind of thing in one "
            "area. About phenomena and places, never about persons."
        ),
        status="in development",
        publication_category=(
            "Impactful algorithm (impactvol algoritme): it processes personal data (public "
            "posts) and its output can send emergency services to a place. It does not profile "
            "persons. Whether it is high-risk under the AI Act is for the deploying "
            "organisation to assess."
        ),
        goal_and_impact=(
            "Goal: earlier awareness of an incident (fire, fight, crush, outage) from what "
            "people in the area post. Impact: a false burst can send attention to a place for "
            "nothing; a missed one gives no signal. Risk: monitoring of people's speech; the "
            "Dutch DPA objected to social-media monitoring of (young) persons, so nothing here "
            "follows, scores or lists a person."
        ),
        considerations=(
            "Counting distinct authors, not posts, so one account posting many times never "
            "makes a burst; minimum 5 authors; only counts of cells with 5 or more authors "
            "leave the module by default. Keyword layer editable by the operator so that its "
            "scenarios are explicit. See docs/websignal.md and docs/dpia-websignal.md."
        ),
        human_intervention=(
            "A burst is a detection shown to an operator with its counts, expected count, "
            "p-value and up to three example posts (authors replaced by labels); a person "
            "decides what to do. Individual posts only for analysts and supervisors, each "
            "read on the audit log."
        ),
        risk_management=(
            "Author handles replaced by keyed pseudonyms on arrival, @handles in the text "
            "removed; posts deleted after 7 days (retention job); TLP:AMBER for posts and "
            "bursts, shared only under an agreement; living-lab evaluation with single-author "
            "spam as a confuser (stadswacht evaluate)."
        ),
        legal_basis=(
            "Assumed: AVG art. 6(1)(e) (public task) for municipalities and safety regions "
            "(Gemeentewet art. 172, Wet veiligheidsregio's); Politiewet 2012 art. 3 and Wet "
            "politiegegevens for the police. To be confirmed by the deploying organisation's "
            "data protection officer (docs/dpia-websignal.md)."
        ),
        impact_assessment=(
            "DPIA note: docs/dpia-websignal.md (a starting point, not a completed DPIA); the "
            "deploying organisation must carry out the DPIA and an IAMA before use."
        ),
        data_sources=(
            "Public posts from configured RSS/Atom feeds, a push endpoint and replay files: "
            "text, time, language, position or place name, author (pseudonymised at once). "
            "Classifier trained on CrisisLexT26 (labelled crisis tweets, 26 crises)."
        ),
        technical_operation=(
            "Geofence (point in polygon, or a gazetteer of place names), text classifier and "
            "keyword layer, then per area and information type a Poisson tail test of the "
            "distinct authors in a 15-minute window against the learnt normal rate "
            "(src/stadswacht/detect/websignal/burst.py)."
        ),
        algorithm_type="Statistical test on counts, with a self-learning text classifier",
        performance=(
            Figure(
                "classifier, CrisisLexT26 leave-one-crisis-out (26 rotations): macro-F1 "
                "informativeness, model / TF-IDF + logistic regression baseline",
                "0.782 / 0.759",
                "beat the baseline",
                "met",
                ".venv/bin/python bench/websignal.py",
            ),
            Figure(
                "... macro-F1 information type, model / baseline",
                "0.495 / 0.449",
                "beat the baseline",
                "met",
                ".venv/bin/python bench/websignal.py",
            ),
            Figure(
                "... held-out crises where the model is better on both",
                "20 of 26",
                "≥ 20",
                "met, narrowly",
                ".venv/bin/python bench/websignal.py",
            ),
        ),
        performance_note=(
            "Simulated only for bursts: `stadswacht evaluate scenarios/malieveld_event.yaml` "
            "(detection rate, time to detection, detections during single-author spam). Dutch "
            "quality is not measured (no labelled Dutch posts); see "
            "docs/model-cards/websignal.md."
        ),
        monitoring=(
            "Bursts raised and dismissed per area; counts per area and type against their "
            "normal; the audit log of every individual post read."
        ),
        source_code="src/stadswacht/detect/websignal/, src/stadswacht/pipeline/websignal.py",
        detectors=("websignal",),
        detection_kinds=("websignal",),
    )


def _planned(entry_id: str, name: str, what: str, why: str, data: str) -> dict[str, Any]:
    later = "Planned: decided before it is built, and published here before it is used."
    return dict(
        id=entry_id,
        name=name,
        short_description=what,
        status="planned",
        publication_category=(
            "Planned; to be classified (impactful algorithm at least) before it is built."
        ),
        goal_and_impact=why,
        considerations=later,
        human_intervention="Planned: its output will be advice to a person, never a decision.",
        risk_management=later,
        legal_basis="Planned: to be established by the deploying organisation before use.",
        impact_assessment="Planned: a DPIA and an IAMA before it is built.",
        data_sources=data,
        technical_operation=later,
        algorithm_type="Planned",
        performance=(),
        performance_note="Planned: not built, so nothing measured.",
        monitoring=later,
        source_code="not yet written",
    )


def _entries() -> list[dict[str, Any]]:
    return [
        _gunshot_classifier(),
        _gunshot_locator(),
        _crowd_monitor(),
        _crowd_forecast(),
        _hazard_monitor(),
        _water_forecast(),
        _sensor_health(),
        *_hotspot_entries(),
        _websignal(),
    ]


def algorithm_register(
    organisation: str = "The organisation that deploys Stadswacht (gemeente, veiligheidsregio)",
    contact: str = "The deploying organisation's data protection officer (FG)",
    source_base: str = "",
) -> list[AlgorithmEntry]:
    """Every register entry, with the deployment's organisation, contact and source link.

    ``source_base`` is prefixed to each entry's source path (e.g. the repository's URL
    followed by ``/tree/main/``).

    >>> [e.id for e in algorithm_register()][:3]
    ['gunshot-classifier', 'gunshot-locator', 'crowd-monitor']
    """
    out = []
    for doc in _entries():
        source = doc.pop("source_code")
        if doc["status"] != "planned":
            source = ", ".join(source_base + part for part in source.split(", "))
        out.append(
            AlgorithmEntry(
                organisation=organisation,
                contact=contact,
                supplier=_SOURCE,
                source_code=source,
                **doc,
            )
        )
    return out


def entry_as_dict(entry: AlgorithmEntry, lang: Literal["en", "nl"] = "en") -> dict[str, Any]:
    """An entry as JSON: its fields under English keys (or the register's Dutch keys for
    ``lang="nl"``) and a ``labels`` map of each key to its label in that language.

    >>> e = algorithm_register()[0]
    >>> entry_as_dict(e, "nl")["labels"]["menselijke_tussenkomst"]
    'Menselijke tussenkomst'
    """

    def key(field: str, table: dict[str, tuple[str, str, str]]) -> str:
        return table[field][0] if lang == "nl" else field

    def label(field: str, table: dict[str, tuple[str, str, str]]) -> str:
        return table[field][1] if lang == "nl" else table[field][2]

    out: dict[str, Any] = {}
    for f in dataclasses.fields(AlgorithmEntry):
        value = getattr(entry, f.name)
        if f.name == "performance":
            value = [
                {key(k, _FIGURE_LABELS): getattr(fig, k) for k in _FIGURE_LABELS} for fig in value
            ]
        elif isinstance(value, tuple):
            value = list(value)
        out[key(f.name, FIELD_LABELS)] = value
    labels = {key(f, FIELD_LABELS): label(f, FIELD_LABELS) for f in FIELD_LABELS}
    labels.update({key(f, _FIGURE_LABELS): label(f, _FIGURE_LABELS) for f in _FIGURE_LABELS})
    out["labels"] = labels
    return out


def missing_fields(entry: AlgorithmEntry) -> Sequence[str]:
    """The required fields an entry leaves empty (none, for a complete entry).

    ``performance`` may be empty when ``performance_note`` says why.

    >>> [missing_fields(e) for e in algorithm_register()][0]
    []
    """
    return [
        name
        for name in REQUIRED_FIELDS
        if name != "performance" and not str(getattr(entry, name)).strip()
    ]

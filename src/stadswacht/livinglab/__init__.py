"""The living lab: scenarios with ground truth, a simulator, and a runner that replays them.

Contract: a scenario (YAML, checked against ``scenario.schema.json``) describes an area, its
sensors, background processes and injected events. The simulator turns it into what each
sensor would report, in time order, plus the ground truth, deterministically for a seed. The
runner registers the scenario's agencies, areas and devices through an injected
:class:`~stadswacht.livinglab.runner.Registrar` and streams the readings, signed, through an
injected transport (HTTP, MQTT or in-process ingest), so they take the platform's real ingest
path. This package imports ``model``, ``config``, ``errors`` and ``client`` only, never the
store, ingest, API or pipeline: the CLI composes it with a platform.

Modules: ``scenario`` (format, schema, errors with line and field), ``physics`` (speed of sound,
spreading, tide, local projection), ``classify`` (the stand-in class probabilities of acoustic
sensors), ``simulator``, ``runner``. The format is documented in ``docs/scenarios.md``.
"""

from __future__ import annotations

from stadswacht.livinglab.evaluate import DETECTOR_KINDS, score, write_scorecard
from stadswacht.livinglab.runner import (
    InprocTransport,
    PlatformRegistrar,
    Registrar,
    ReplayReport,
    register_scenario,
    replay,
)
from stadswacht.livinglab.scenario import (
    Scenario,
    ScenarioError,
    SensorSpec,
    Zone,
    parse_duration,
    parse_scenario,
    read_scenario,
)
from stadswacht.livinglab.simulator import Emission, Simulation, TruthEvent, simulate

__all__ = [
    "DETECTOR_KINDS",
    "Emission",
    "InprocTransport",
    "PlatformRegistrar",
    "Registrar",
    "ReplayReport",
    "Scenario",
    "ScenarioError",
    "SensorSpec",
    "Simulation",
    "TruthEvent",
    "Zone",
    "parse_duration",
    "parse_scenario",
    "read_scenario",
    "register_scenario",
    "replay",
    "score",
    "simulate",
    "write_scorecard",
]

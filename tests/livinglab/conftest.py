"""A short scenario (one hour, three acoustic sensors, a counter, a weather station, a power
monitor) with every kind of event, small enough to replay in well under a second."""

from __future__ import annotations

import pytest

SHORT = """\
name: Short test scenario
seed: 7
time:
  duration: 1h
  start: "2026-11-25T00:00:00Z"
  interval: 1m
  heartbeat: 10m
area:
  id: test-area
  name: Test area
  polygon: [[4.280, 52.085], [4.300, 52.085], [4.300, 52.100], [4.280, 52.100]]
  zones:
    - id: plaza
      name: Plaza
      polygon: [[4.285, 52.088], [4.295, 52.088], [4.295, 52.095], [4.285, 52.095]]
      walkable_area_m2: 5000
      gates:
        - {id: north, width_m: 6}
agencies:
  - {id: police, name: Police}
  - {id: municipality, name: Municipality}
sensors:
  acoustic:
    - {id: t-ac-01, agency: police, zone: plaza, position: [4.2860, 52.0890]}
    - {id: t-ac-02, agency: police, zone: plaza, position: [4.2940, 52.0895]}
    - {id: t-ac-03, agency: police, zone: plaza, position: [4.2900, 52.0945]}
    - {id: t-ac-far, agency: police, position: [4.4000, 52.1500]}
  people_counter:
    - {id: t-pc-01, agency: municipality, zone: plaza, gate: north, position: [4.2900, 52.0950]}
  weather:
    - {id: t-wx-01, agency: municipality, zone: plaza, position: [4.2900, 52.0920]}
  power_monitor:
    - {id: t-pm-01, agency: municipality, zone: plaza, position: [4.2910, 52.0910]}
processes:
  temperature: {mean_c: 12, daily_amplitude_c: 2, noise_c: 0}
  impulsive_noise: {rate_per_h: 0}
acoustics:
  timing_noise_s: 0.0001
  survey_error_m: 0
  threshold_db: 75
  level_noise_db: 0
  diffraction: {probability: 0}
events:
  - {type: gunshot, id: shot, at: 30m5s, position: [4.2880, 52.0910], rounds: 2, interval_s: 1}
  - {type: sensor_failure, id: quiet, at: 10m, duration: 5m, sensor: t-pc-01, mode: silent}
  - {type: power_cut, id: cut, at: 40m, duration: 5m, sensors: [t-pm-01, t-wx-01]}
  - {type: cyber_attack, id: spoof, at: 41m, mode: spoofed, devices: [t-wx-01], count: 2}
  - {type: cyber_attack, id: forge, at: 42m, mode: forged, devices: [t-ac-01], count: 1}
  - {type: cyber_attack, id: again, at: 50m, mode: replayed, devices: [t-pc-01], count: 2}
"""


@pytest.fixture
def short_text() -> str:
    return SHORT

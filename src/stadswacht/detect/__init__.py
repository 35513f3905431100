"""Detectors: one module per kind (gunshot, crowd, hazard, infra, websignal).

A detector is pure: it takes readings (or, on a sensor, audio) and returns detections, with its
own small state. It imports :mod:`stadswacht.model` and numpy/scipy and nothing that does I/O,
so the same code runs live, in a replay and in a living-lab evaluation; :mod:`stadswacht.pipeline`
composes storage and transport around it.

- :mod:`stadswacht.detect.acoustic`: runs on an acoustic sensor or gateway; onset detection and
  the impulse classifier (gunshot, fireworks, other impulsive sound, background). Only impulse
  reports leave the sensor.
- :mod:`stadswacht.detect.gunshot`: runs on the platform; associates impulse reports of several
  sensors, locates the source by time difference of arrival, groups rounds into one event.
"""

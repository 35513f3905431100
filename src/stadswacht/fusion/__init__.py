"""Fusion: detections in, incidents out, worked by people along a lifecycle and a procedure.

Contract: fusion consumes detections and yields incidents; it never changes a detection. One
event in the world is one incident however many detections, kinds, agencies and workers report
it: the correlation rules (:mod:`~stadswacht.fusion.rules`) say which detections belong
together, the pure correlator (:mod:`~stadswacht.fusion.correlator`) decides, and the store
makes that decision atomic (:meth:`~stadswacht.store.base.Store.fuse_incident`). Every
detection stays on its incident as evidence (id and version). Only people change an
incident's status, along :data:`~stadswacht.fusion.incident.TRANSITIONS`, and every change
records who, when and why; each incident kind has a procedure
(:mod:`~stadswacht.fusion.sop`) whose mandatory steps come before resolving and whose response
time, when it runs out, escalates to a supervisor.

- :mod:`.incident`: the incident model, statuses, the transitions table, :func:`transition`.
- :mod:`.rules`: correlation rules and their defaults, from YAML.
- :mod:`.sop`: procedures, :func:`overdue`, :func:`escalate`, :func:`mark_step`.
- :mod:`.correlator`: :func:`fuse` (pure).
- :mod:`.service`: :class:`FusionService` on the bus, :func:`change_status`, :func:`change_step`.
"""

from __future__ import annotations

from stadswacht.fusion.correlator import fuse
from stadswacht.fusion.incident import (
    TRANSITIONS,
    Incident,
    IncidentError,
    Severity,
    Status,
    TransitionDenied,
    TransitionNotAllowed,
    transition,
)
from stadswacht.fusion.rules import DEFAULT_RULES, CorrelationRule, RuleSet, read_rules
from stadswacht.fusion.service import (
    INCIDENTS_PREFIX,
    FusionService,
    change_status,
    change_step,
    from_stored,
    to_stored,
)
from stadswacht.fusion.sop import (
    DEFAULT_SOPS,
    Sop,
    SopStep,
    escalate,
    mark_step,
    overdue,
    read_sops,
)

__all__ = [
    "DEFAULT_RULES",
    "DEFAULT_SOPS",
    "INCIDENTS_PREFIX",
    "TRANSITIONS",
    "CorrelationRule",
    "FusionService",
    "Incident",
    "IncidentError",
    "RuleSet",
    "Severity",
    "Sop",
    "SopStep",
    "Status",
    "TransitionDenied",
    "TransitionNotAllowed",
    "change_status",
    "change_step",
    "escalate",
    "from_stored",
    "fuse",
    "mark_step",
    "overdue",
    "read_rules",
    "read_sops",
    "to_stored",
    "transition",
]

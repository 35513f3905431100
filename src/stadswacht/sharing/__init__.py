"""Need-to-know sharing: who may see which object of which agency, for what purpose.

Contract: every object (device, reading stream, detection, incident, forecast, alert) has an
owner agency and a classification (TLP 2.0). An agency's own users see its objects as their
role allows; another agency's users see them only under a sharing agreement (kinds,
classifications, purpose, roles, period) or an emergency release, and fields the agreement
does not cover are redacted, never silently dropped. One policy decision point
(:mod:`~stadswacht.sharing.policy`) takes every such decision; every decision about another
agency's data is written to the tamper-evident audit log (:mod:`~stadswacht.sharing.audit`).
"""

from __future__ import annotations

from stadswacht.sharing.agreements import (
    Agreement,
    EmergencyRelease,
    agreement_from_dict,
    read_agreements,
)
from stadswacht.sharing.model import Action, Classification, ObjectKind, Subject
from stadswacht.sharing.policy import Decision, ObjectRef, PolicyDecisionPoint, redact

__all__ = [
    "Action",
    "Agreement",
    "Classification",
    "Decision",
    "EmergencyRelease",
    "ObjectKind",
    "ObjectRef",
    "PolicyDecisionPoint",
    "Subject",
    "agreement_from_dict",
    "read_agreements",
    "redact",
]

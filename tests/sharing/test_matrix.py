"""A generated authorisation matrix: every role x object kind x owner agency x classification x
action x stated purpose, for users of every agency, against an oracle written here from the
agreements table alone (it calls nothing of :mod:`stadswacht.sharing.policy`).

0 unexpected allows and 0 unexpected denials, and the fields shown match.
"""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import UTC, datetime, timedelta

from stadswacht.api.auth import Principal
from stadswacht.model import Role
from stadswacht.sharing import (
    Action,
    Agreement,
    Classification,
    EmergencyRelease,
    ObjectKind,
    ObjectRef,
    PolicyDecisionPoint,
)

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
YEAR_START = datetime(2026, 1, 1, tzinfo=UTC)
YEAR_END = datetime(2027, 1, 1, tzinfo=UTC)

AGENCIES = ["police", "gemeente", "waterschap", "brandweer"]  # brandweer: no agreements
ROLES = ["admin", "integrator", "operator", "analyst", "supervisor", "information_manager",
         "auditor"]  # fmt: skip
KINDS = ["device", "reading", "detection", "incident", "forecast", "alert", "zone_state",
         "audit_log"]  # fmt: skip
LEVELS = ["TLP:CLEAR", "TLP:GREEN", "TLP:AMBER", "TLP:AMBER+STRICT", "TLP:RED"]
ACTIONS = ["read", "list", "stream", "export", "share"]
PURPOSES = ["public-order", "crisis-management", None]

OPERATIONAL = [k for k in KINDS if k != "audit_log"]
ALL = ["*"]

# The oracle's own reading of the role table in docs/sharing.md: role -> (kinds, actions).
ROLE_TABLE = {
    "operator": (OPERATIONAL, ["read", "list", "stream"]),
    "analyst": (OPERATIONAL, ["read", "list", "export"]),
    "supervisor": (OPERATIONAL, ACTIONS),
    "information_manager": (OPERATIONAL, ["read", "list", "export", "share"]),
    "integrator": (["device", "reading"], ["read", "list", "stream"]),
    "auditor": (["audit_log"], ["read", "list", "export"]),
}

# id, provider, recipient, kinds, max level, purpose, roles, actions, fields, from, until, red
TABLE = [
    ("pol-gem-po", "police", "gemeente", ["incident", "detection"], "TLP:AMBER", "public-order",
     ["operator", "analyst", "supervisor"], ["read", "list", "stream", "export"],
     {"incident": ["status", "position"], "detection": ALL}, YEAR_START, YEAR_END, []),
    ("pol-gem-po-2", "police", "gemeente", ["incident"], "TLP:GREEN", "public-order",
     ["operator"], ["read"], {"incident": ["notes"]}, YEAR_START, YEAR_END, []),
    ("pol-gem-dev", "police", "gemeente", ["device", "reading"], "TLP:GREEN", "public-order",
     ["integrator", "operator"], ["read", "list", "stream"],
     {"device": ["position", "status"], "reading": ALL}, YEAR_START, YEAR_END, []),
    ("gem-pol-fc", "gemeente", "police", ["reading", "zone_state", "forecast"],
     "TLP:AMBER+STRICT", "public-order", ["analyst", "information_manager", "supervisor"],
     ["read", "list", "export", "share"],
     {"reading": ALL, "zone_state": ["occupancy"], "forecast": ALL},
     YEAR_START, YEAR_END, []),
    ("ws-gem-crisis", "waterschap", "gemeente", ["forecast", "reading", "alert", "device"],
     "TLP:RED", "crisis-management", ["supervisor", "operator", "analyst"],
     ["read", "list", "stream", "export", "share"],
     {"forecast": ALL, "reading": ["level"], "alert": ALL, "device": ["position"]},
     YEAR_START, YEAR_END, ["gemeente-supervisor"]),
    ("ws-pol-clear", "waterschap", "police", OPERATIONAL, "TLP:CLEAR", "crisis-management",
     ["integrator", "operator", "analyst", "supervisor", "information_manager"], ACTIONS,
     {k: ALL for k in OPERATIONAL}, YEAR_START, YEAR_END, []),
    ("gem-ws-expired", "gemeente", "waterschap", OPERATIONAL, "TLP:AMBER", "public-order",
     ["operator", "analyst", "supervisor", "information_manager", "integrator"], ACTIONS,
     {k: ALL for k in OPERATIONAL}, datetime(2025, 1, 1, tzinfo=UTC), YEAR_START, []),
    ("pol-ws-future", "police", "waterschap", OPERATIONAL, "TLP:AMBER", "crisis-management",
     ["operator", "analyst", "supervisor", "information_manager", "integrator"], ACTIONS,
     {k: ALL for k in OPERATIONAL}, YEAR_END, datetime(2028, 1, 1, tzinfo=UTC), []),
]  # fmt: skip

# A police supervisor has opened incident inc-1 to the waterschap for 3 hours; a gemeente
# supervisor opened its inc-1 to the police earlier today, which has expired.
RELEASES = [
    ("police", "waterschap", "inc-1", NOW - timedelta(hours=1), NOW + timedelta(hours=2)),
    ("gemeente", "police", "inc-1", NOW - timedelta(hours=10), NOW - timedelta(hours=2)),
]


def build_pdp() -> PolicyDecisionPoint:
    agreements = [
        Agreement(
            id=i,
            provider=p,
            recipient=r,
            kinds=k,
            max_classification=m,
            purpose=pu,
            roles=ro,
            actions=ac,
            fields=f,
            valid_from=vf,
            valid_until=vu,
            red_recipients=red,
        )
        for (i, p, r, k, m, pu, ro, ac, f, vf, vu, red) in TABLE
    ]
    releases = [
        EmergencyRelease(
            incident_id=inc,
            from_agency=frm,
            to_agency=to,
            by=f"{frm}-supervisor",
            reason="Dike breach near the stadium",
            granted_at=granted,
            expires_at=expires,
        )
        for (frm, to, inc, granted, expires) in RELEASES
    ]
    return PolicyDecisionPoint(agreements, releases)


def oracle(
    agency: str, role: str, kind: str, owner: str, level: str, action: str, purpose: str | None
) -> tuple[bool, set[str] | None]:
    """Expected (allowed, fields shown; None = all), from the tables above and the rules."""
    name = f"{agency}-{role}"
    if role == "admin":
        return True, None
    kinds, actions = ROLE_TABLE[role]
    if kind not in kinds or action not in actions:
        return False, None
    if owner == agency:
        return True, None
    if kind == "audit_log":
        return False, None
    if action == "share" and level not in ("TLP:CLEAR", "TLP:GREEN"):
        return False, None
    if action == "export" and level == "TLP:RED":
        return False, None
    # Matrix objects: incidents have id inc-1, detections belong to inc-1, nothing else does.
    for frm, to, _inc, granted, expires in RELEASES:
        if (
            (owner, agency) == (frm, to)
            and kind in ("incident", "detection")
            and granted <= NOW < expires
            and action in ("read", "list", "stream")
        ):
            return True, None
    shown: set[str] = set()
    everything = False
    allowed = False
    for (_i, p, r, k, m, pu, ro, ac, f, vf, vu, red) in TABLE:  # fmt: skip
        if p != owner or r != agency or not vf <= NOW < vu:
            continue
        if kind not in k or LEVELS.index(level) > LEVELS.index(m):
            continue
        if role not in ro or action not in ac or purpose != pu:
            continue
        if level == "TLP:RED" and name not in red:
            continue
        allowed = True
        if f[kind] == ALL:
            everything = True
        shown |= set(f[kind])
    return allowed, (None if everything or not allowed else shown)


def make_object(kind: str, owner: str, level: str) -> ObjectRef:
    k = ObjectKind(kind)
    if k is ObjectKind.INCIDENT:
        return ObjectRef(k, owner, Classification(level), id="inc-1")
    if k is ObjectKind.DETECTION:
        return ObjectRef(k, owner, Classification(level), id="det-1", incident_id="inc-1")
    return ObjectRef(k, owner, Classification(level), id=f"{kind}-1")


def test_authorisation_matrix() -> None:
    pdp = build_pdp()
    cases = 0
    unexpected_allows: list[tuple[object, ...]] = []
    unexpected_denials: list[tuple[object, ...]] = []
    wrong_fields: list[tuple[object, ...]] = []
    by_code: Counter[str] = Counter()
    for agency, role, kind, owner, level, action, purpose in itertools.product(
        AGENCIES, ROLES, KINDS, AGENCIES, LEVELS, ACTIONS, PURPOSES
    ):
        cases += 1
        user = Principal(f"{agency}-{role}", agency, Role(role))
        d = pdp.decide(user, Action(action), make_object(kind, owner, level), purpose, NOW)
        want, fields = oracle(agency, role, kind, owner, level, action, purpose)
        case = (agency, role, kind, owner, level, action, purpose, d.code)
        by_code[d.code] += 1
        if d.allow and not want:
            unexpected_allows.append(case)
        elif want and not d.allow:
            unexpected_denials.append(case)
        elif d.allow and (None if d.fields is None else set(d.fields)) != fields:
            wrong_fields.append((*case, d.fields, fields))
        assert d.audit is (owner != agency)
    print(f"\nauthorisation matrix: {cases} cases; decisions by code: {dict(by_code)}")
    assert cases >= 1200
    assert unexpected_allows == []
    assert unexpected_denials == []
    assert wrong_fields == []
    # The matrix exercises every path, not just the easy ones.
    for code in ("admin", "own-agency", "agreement", "emergency-release", "no-agreement",
                 "agreement-not-in-force", "kind-not-covered", "classification-not-covered",
                 "role-not-covered", "action-not-covered", "purpose-missing",
                 "purpose-mismatch", "red-not-named", "role-not-allowed", "tlp-no-onward-share",
                 "tlp-red-no-export", "audit-log-own-agency"):  # fmt: skip
        assert by_code[code] > 0, code

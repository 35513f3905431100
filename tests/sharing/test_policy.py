"""The policy decision point, rule by rule; agreements from YAML; emergency releases; redaction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from stadswacht.api.auth import Principal
from stadswacht.errors import ConfigurationError, PermissionDenied
from stadswacht.model import Role
from stadswacht.sharing import (
    Action,
    Agreement,
    Classification,
    EmergencyRelease,
    ObjectKind,
    ObjectRef,
    PolicyDecisionPoint,
    read_agreements,
    redact,
)
from stadswacht.sharing.policy import ROLE_ACTIONS, role_allows

T0 = datetime(2026, 1, 1, tzinfo=UTC)
NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
AMBER = Classification.AMBER


def agreement(**over: Any) -> Agreement:
    spec: dict[str, Any] = {
        "id": "pol-gem",
        "provider": "police",
        "recipient": "gemeente",
        "kinds": ["incident", "detection"],
        "purpose": "public-order",
        "roles": ["operator", "analyst"],
        "actions": ["read", "list", "stream"],
        "fields": {"incident": ["status", "position"], "detection": ["*"]},
        "valid_from": T0,
        "valid_until": T0 + timedelta(days=365),
    }
    spec.update(over)
    return Agreement.model_validate(spec)


def incident(owner: str = "police", cls: Classification = AMBER, id: str = "inc-1") -> ObjectRef:
    return ObjectRef(ObjectKind.INCIDENT, owner, cls, id=id)


OP_GEM = Principal("op.gem", "gemeente", Role.OPERATOR)
OP_POL = Principal("op.pol", "police", Role.OPERATOR)


@pytest.fixture
def pdp() -> PolicyDecisionPoint:
    return PolicyDecisionPoint([agreement()])


# --- own agency, by role ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (Role.OPERATOR, {"read", "list", "stream"}),
        (Role.ANALYST, {"read", "list", "export"}),
        (Role.SUPERVISOR, {"read", "list", "stream", "export", "share"}),
        (Role.INFORMATION_MANAGER, {"read", "list", "export", "share"}),
        (Role.INTEGRATOR, set()),
        (Role.AUDITOR, set()),
        (Role.ADMIN, {"read", "list", "stream", "export", "share"}),
    ],
)
def test_own_agency_incident_follows_the_role_table(
    pdp: PolicyDecisionPoint, role: Role, allowed: set[str]
) -> None:
    user = Principal("u", "police", role)
    got = {a.value for a in Action if pdp.decide(user, a, incident(), None, NOW).allow}
    assert got == allowed


def test_own_agency_is_not_audited_and_shows_every_field(pdp: PolicyDecisionPoint) -> None:
    d = pdp.decide(OP_POL, Action.READ, incident(cls=Classification.RED), None, NOW)
    assert (d.allow, d.code, d.basis, d.fields, d.audit) == (
        True,
        "own-agency",
        "own-agency",
        None,
        False,
    )


def test_integrator_sees_devices_and_readings_only(pdp: PolicyDecisionPoint) -> None:
    user = Principal("int", "police", Role.INTEGRATOR)
    for kind in ObjectKind:
        d = pdp.decide(user, Action.READ, ObjectRef(kind, "police", AMBER), None, NOW)
        assert d.allow is (kind in {ObjectKind.DEVICE, ObjectKind.READING}), kind


def test_auditor_reads_own_audit_log_and_nothing_operational(pdp: PolicyDecisionPoint) -> None:
    aud = Principal("aud", "police", Role.AUDITOR)
    log = ObjectRef(ObjectKind.AUDIT_LOG, "police", AMBER)
    assert pdp.decide(aud, Action.READ, log, None, NOW).allow
    d = pdp.decide(aud, Action.READ, incident(), None, NOW)
    assert (d.allow, d.code) == (False, "role-not-allowed")
    foreign_log = ObjectRef(ObjectKind.AUDIT_LOG, "gemeente", AMBER)
    d = pdp.decide(aud, Action.READ, foreign_log, None, NOW)
    assert (d.allow, d.code, d.audit) == (False, "audit-log-own-agency", True)
    op = pdp.decide(OP_POL, Action.READ, log, None, NOW)
    assert not op.allow


def test_admin_sees_everything_and_is_audited_on_other_agencies(pdp: PolicyDecisionPoint) -> None:
    admin = Principal("root", "platform", Role.ADMIN)
    d = pdp.decide(admin, Action.EXPORT, incident(cls=Classification.RED), None, NOW)
    assert (d.allow, d.code, d.audit, d.fields) == (True, "admin", True, None)
    own = pdp.decide(admin, Action.READ, incident(owner="platform"), None, NOW)
    assert own.allow and not own.audit


# --- other agency, by agreement ------------------------------------------------------------


def test_agreement_allows_with_its_fields_and_is_audited(pdp: PolicyDecisionPoint) -> None:
    d = pdp.decide(OP_GEM, Action.READ, incident(), "public-order", NOW)
    assert (d.allow, d.code, d.basis, d.audit) == (True, "agreement", "pol-gem", True)
    assert d.fields == frozenset({"status", "position"})
    det = ObjectRef(ObjectKind.DETECTION, "police", AMBER)
    assert pdp.decide(OP_GEM, Action.STREAM, det, "public-order", NOW).fields is None


@pytest.mark.parametrize(
    ("principal", "action", "obj", "purpose", "at", "code"),
    [
        (OP_GEM, Action.READ, incident(), "public-order", T0 - timedelta(seconds=1),
         "agreement-not-in-force"),
        (OP_GEM, Action.READ, incident(), "public-order", T0 + timedelta(days=365),
         "agreement-not-in-force"),
        (OP_GEM, Action.READ, ObjectRef(ObjectKind.FORECAST, "police", AMBER), "public-order",
         NOW, "kind-not-covered"),
        (OP_GEM, Action.READ, incident(cls=Classification.AMBER_STRICT), "public-order", NOW,
         "classification-not-covered"),
        (Principal("s", "gemeente", Role.SUPERVISOR), Action.READ, incident(), "public-order",
         NOW, "role-not-covered"),
        (Principal("a", "gemeente", Role.ANALYST), Action.EXPORT, incident(), "public-order",
         NOW, "action-not-covered"),
        (OP_GEM, Action.READ, incident(), None, NOW, "purpose-missing"),
        (OP_GEM, Action.READ, incident(), "crisis-management", NOW, "purpose-mismatch"),
        (OP_GEM, Action.READ, incident(owner="waterschap"), "public-order", NOW, "no-agreement"),
        (Principal("a", "gemeente", Role.ANALYST), Action.STREAM, incident(), "public-order",
         NOW, "role-not-allowed"),
    ],
)  # fmt: skip
def test_agreement_denies_with_the_failing_rule(
    pdp: PolicyDecisionPoint,
    principal: Principal,
    action: Action,
    obj: ObjectRef,
    purpose: str | None,
    at: datetime,
    code: str,
) -> None:
    d = pdp.decide(principal, action, obj, purpose, at)
    assert (d.allow, d.code, d.audit) == (False, code, True), d.reason
    assert d.basis == "" and d.reason


def test_agreement_is_one_way(pdp: PolicyDecisionPoint) -> None:
    op = Principal("op", "police", Role.OPERATOR)
    d = pdp.decide(op, Action.READ, incident(owner="gemeente"), "public-order", NOW)
    assert (d.allow, d.code) == (False, "no-agreement")


def test_agreements_between_the_same_agencies_add_up() -> None:
    pdp = PolicyDecisionPoint(
        [
            agreement(),
            agreement(id="pol-gem-2", kinds=["incident"], fields={"incident": ["notes"]}),
            agreement(id="pol-gem-3", purpose="crisis-management", fields={
                "incident": ["victims"], "detection": ["*"]}),
        ]
    )  # fmt: skip
    d = pdp.decide(OP_GEM, Action.READ, incident(), "public-order", NOW)
    assert d.basis == "pol-gem+pol-gem-2"
    assert d.fields == frozenset({"status", "position", "notes"})


def test_amber_strict_flows_only_when_named() -> None:
    pdp = PolicyDecisionPoint([agreement(max_classification="amber+strict")])
    strict = incident(cls=Classification.AMBER_STRICT)
    assert pdp.decide(OP_GEM, Action.READ, strict, "public-order", NOW).allow
    d = pdp.decide(OP_GEM, Action.READ, incident(cls=Classification.RED), "public-order", NOW)
    assert d.code == "classification-not-covered"


def test_red_flows_only_to_named_recipients() -> None:
    pdp = PolicyDecisionPoint([agreement(max_classification="TLP:RED", red_recipients=["op.gem"])])
    red = incident(cls=Classification.RED)
    assert pdp.decide(OP_GEM, Action.READ, red, "public-order", NOW).allow
    other = Principal("op.other", "gemeente", Role.OPERATOR)
    d = pdp.decide(other, Action.READ, red, "public-order", NOW)
    assert (d.allow, d.code) == (False, "red-not-named")
    with pytest.raises(ValidationError, match="red_recipients"):
        agreement(max_classification="RED")


def test_tlp_limits_onward_sharing_and_export() -> None:
    pdp = PolicyDecisionPoint(
        [agreement(roles=["information_manager"], actions=["read", "share", "export"],
                   max_classification="RED", red_recipients=["im"])]
    )  # fmt: skip
    im = Principal("im", "gemeente", Role.INFORMATION_MANAGER)
    share = {c: pdp.decide(im, Action.SHARE, incident(cls=c), "public-order", NOW) for c in
             Classification}  # fmt: skip
    assert {c for c, d in share.items() if d.allow} == {Classification.CLEAR, Classification.GREEN}
    assert share[Classification.AMBER].code == "tlp-no-onward-share"
    d = pdp.decide(im, Action.EXPORT, incident(cls=Classification.RED), "public-order", NOW)
    assert d.code == "tlp-red-no-export"
    d = pdp.decide(im, Action.EXPORT, incident(cls=Classification.AMBER), "public-order", NOW)
    assert d.allow


def test_decision_time_must_be_aware(pdp: PolicyDecisionPoint) -> None:
    with pytest.raises(ValueError, match="timezone"):
        pdp.decide(OP_GEM, Action.READ, incident(), "public-order", datetime(2026, 6, 1))


def test_check_raises_permission_denied_with_the_reason(pdp: PolicyDecisionPoint) -> None:
    assert pdp.check(OP_GEM, Action.READ, incident(), "public-order", NOW).allow
    with pytest.raises(PermissionDenied, match="purpose-mismatch"):
        pdp.check(OP_GEM, Action.READ, incident(), "traffic", NOW)


# --- agreement validation and YAML ------------------------------------------------------------


@pytest.mark.parametrize(
    ("over", "message"),
    [
        ({"recipient": "police"}, "same agency"),
        ({"valid_until": T0}, "after valid_from"),
        ({"kinds": ["audit_log"], "fields": {"audit_log": ["*"]}}, "audit log"),
        ({"roles": ["auditor"]}, "auditor"),
        ({"fields": {"incident": ["status"]}}, "no field list for"),
        ({"valid_from": datetime(2026, 1, 1)}, "timezone"),
        ({"purpose": "Public Order"}, "pattern"),
        ({"actions": []}, "at least 1"),
    ],
)
def test_agreement_validation(over: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        agreement(**over)


YAML = """\
agreements:
  - id: pol-gem-2026
    provider: police
    recipient: gemeente
    kinds: [incident, detection]
    max_classification: TLP:AMBER
    purpose: public-order
    roles: [operator, supervisor]
    actions: [read, list, stream]
    fields:
      incident: [kind, status, position, opened]
      detection: ["*"]
    valid_from: 2026-01-01T00:00:00+01:00
    valid_until: 2027-01-01T00:00:00+01:00
"""


def test_read_agreements_from_yaml(tmp_path: Path) -> None:
    path = tmp_path / "agreements.yaml"
    path.write_text(YAML, encoding="utf-8")
    (a,) = read_agreements(path)
    assert a.id == "pol-gem-2026" and a.max_classification is AMBER
    assert a.fields_for(ObjectKind.DETECTION) is None
    assert PolicyDecisionPoint([a]).decide(OP_GEM, Action.LIST, incident(), "public-order", NOW)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (YAML.replace("TLP:AMBER", "TLP:PURPLE"), r"entry 1 \(pol-gem-2026\): max_classification"),
        (YAML.replace("+01:00", ""), r"entry 1 \(pol-gem-2026\): valid_from: .*timezone"),
        (YAML.replace("    purpose: public-order\n", ""), "purpose: Field required"),
        (YAML.replace("roles: [operator", "roles: [pilot"), "roles"),
        (YAML + YAML.split("agreements:\n")[1], "entry 2: id: 'pol-gem-2026' is used twice"),
        ("agreements: {a: 1}\n", "expected a list"),
        ("agreements:\n  - 3\n", "entry 1: expected a mapping"),
        ("agreements: [\n", "cannot read agreements file"),
    ],
)
def test_read_agreements_names_file_entry_and_field(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "agreements.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigurationError, match=message) as info:
        read_agreements(path)
    assert str(path) in str(info.value)


def test_read_agreements_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot read agreements file"):
        read_agreements(tmp_path / "absent.yaml")


# --- emergency release -------------------------------------------------------------------------

SUP_POL = Principal("sup.pol", "police", Role.SUPERVISOR)


def test_emergency_release_opens_the_incident_for_a_while() -> None:
    release = EmergencyRelease.grant(
        SUP_POL, "inc-9", "brandweer", "Fire in the stadium, evacuation", NOW, timedelta(hours=2)
    )
    assert release.flagged_for_review is True and release.by == "sup.pol"
    pdp = PolicyDecisionPoint([agreement()])
    pdp.add_release(release)
    fire = Principal("op.fire", "brandweer", Role.OPERATOR)
    inc = incident(cls=Classification.RED, id="inc-9")
    d = pdp.decide(fire, Action.STREAM, inc, None, NOW + timedelta(minutes=5))
    assert (d.allow, d.code, d.basis, d.fields, d.audit) == (
        True,
        "emergency-release",
        release.id,
        None,
        True,
    )
    linked = ObjectRef(ObjectKind.DETECTION, "police", AMBER, id="det-1", incident_id="inc-9")
    assert pdp.decide(fire, Action.READ, linked, None, NOW).allow
    # Only that incident, only read/list/stream, only until it expires, only for that agency.
    assert not pdp.decide(fire, Action.READ, incident(id="inc-8"), None, NOW).allow
    d = pdp.decide(fire, Action.EXPORT, incident(id="inc-9"), None, NOW)
    assert not d.allow
    d = pdp.decide(fire, Action.READ, inc, None, NOW + timedelta(hours=2))
    assert (d.allow, d.code) == (False, "release-not-active")
    d = pdp.decide(OP_GEM, Action.READ, inc, None, NOW)
    assert not d.allow
    assert pdp.releases == (release,)


def test_emergency_release_needs_a_supervisor_a_reason_and_a_limit() -> None:
    with pytest.raises(PermissionDenied, match="supervisor"):
        EmergencyRelease.grant(OP_POL, "inc-9", "brandweer", "Fire in the stadium", NOW)
    for reason in ("", "   ", "urgent"):
        with pytest.raises(ValidationError, match="written reason"):
            EmergencyRelease.grant(SUP_POL, "inc-9", "brandweer", reason, NOW)
    with pytest.raises(ValidationError, match="at most"):
        EmergencyRelease.grant(
            SUP_POL, "inc-9", "brandweer", "Fire in the stadium", NOW, timedelta(hours=25)
        )
    with pytest.raises(ValidationError, match="another agency"):
        EmergencyRelease.grant(SUP_POL, "inc-9", "police", "Fire in the stadium", NOW)
    with pytest.raises(ValidationError):
        EmergencyRelease.model_validate(
            {
                "incident_id": "inc-9",
                "from_agency": "police",
                "to_agency": "brandweer",
                "by": "sup.pol",
                "reason": "Fire in the stadium",
                "granted_at": NOW,
                "expires_at": NOW + timedelta(hours=1),
                "flagged_for_review": False,
            }
        )


def test_release_from_another_owner_does_not_count() -> None:
    # A gemeente supervisor cannot release a police incident that happens to share its id.
    sup = Principal("sup.gem", "gemeente", Role.SUPERVISOR)
    release = EmergencyRelease.grant(sup, "inc-9", "brandweer", "Fire in the stadium", NOW)
    pdp = PolicyDecisionPoint([], [release])
    fire = Principal("op.fire", "brandweer", Role.OPERATOR)
    assert not pdp.decide(fire, Action.READ, incident(id="inc-9"), None, NOW).allow


# --- redaction --------------------------------------------------------------------------------


def test_redaction_marks_withheld_fields(pdp: PolicyDecisionPoint) -> None:
    doc = {
        "id": "inc-1",
        "kind": "fight",
        "agency": "police",
        "classification": "TLP:AMBER",
        "status": "open",
        "position": {"lat": 52.1, "lon": 4.3},
        "suspect": "J. Doe",
        "notes": "known to police",
    }
    d = pdp.decide(OP_GEM, Action.READ, incident(), "public-order", NOW)
    seen = redact(doc, d)
    assert seen["status"] == "open" and seen["position"] == doc["position"]
    assert seen["id"] == "inc-1" and seen["kind"] == "fight"
    assert seen["suspect"] is None and seen["notes"] is None
    assert seen["_withheld"] == ["notes", "suspect"]
    assert set(seen) == set(doc) | {"_withheld"}
    own = redact(doc, pdp.decide(OP_POL, Action.READ, incident(), None, NOW))
    assert own == {**doc, "_withheld": []}


def test_redaction_of_a_denied_decision_raises(pdp: PolicyDecisionPoint) -> None:
    d = pdp.decide(OP_GEM, Action.READ, incident(), "traffic", NOW)
    with pytest.raises(PermissionDenied, match="purpose-mismatch"):
        redact({"id": "inc-1"}, d)


def test_role_table_is_consistent() -> None:
    assert ROLE_ACTIONS[Role.ADMIN] == frozenset(Action)
    assert role_allows(Role.AUDITOR, ObjectKind.AUDIT_LOG, Action.READ)
    assert not role_allows(Role.AUDITOR, ObjectKind.AUDIT_LOG, Action.STREAM)


def test_duplicate_agreement_ids_are_refused() -> None:
    with pytest.raises(ValueError, match="unique"):
        PolicyDecisionPoint([agreement(), agreement()])

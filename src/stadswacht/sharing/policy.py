"""The one policy decision point: may this user do this action on this object, now, for this
purpose? Every route and the live stream ask :meth:`PolicyDecisionPoint.decide`.

Rules, in order:

1. ``admin``: allowed, every agency.
2. The role must allow the action on the kind at all (:data:`ROLE_ACTIONS`, :data:`ROLE_KINDS`);
   an agreement narrows what a role may do, it never widens it. ``auditor`` sees the audit
   log only, ``integrator`` devices and readings only.
3. Own agency: allowed.
4. Another agency's object: never its audit log. TLP 2.0 limits onward dissemination: a
   recipient may ``share`` only ``CLEAR`` and ``GREEN`` objects, and ``export`` no ``RED`` one.
5. An active emergency release of the object's incident to the user's agency allows read,
   list and stream, every field.
6. Otherwise agreements from the owner to the user's agency that are in force and cover the
   kind, classification, role, action and the stated purpose; the fields shown are the union
   of what the matching agreements list.
7. Everything else is denied, with the reason of the agreement that came closest.

``audit`` is true for every decision about another agency's object, allowed or not.

>>> from datetime import UTC, datetime
>>> from stadswacht.api.auth import Principal
>>> pdp = PolicyDecisionPoint([])
>>> t = datetime(2026, 6, 1, tzinfo=UTC)
>>> obj = ObjectRef(ObjectKind.INCIDENT, "police", Classification.AMBER, id="inc-1")
>>> pdp.decide(Principal("ann", "police", Role.OPERATOR), Action.READ, obj, None, t).code
'own-agency'
>>> d = pdp.decide(Principal("bob", "gemeente", Role.OPERATOR), Action.READ, obj, "x", t)
>>> d.allow, d.code, d.audit
(False, 'no-agreement', True)
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from stadswacht.errors import PermissionDenied
from stadswacht.model.user import Role
from stadswacht.sharing.agreements import Agreement, EmergencyRelease
from stadswacht.sharing.model import Action, Classification, ObjectKind, Subject

__all__ = [
    "IDENTITY_FIELDS",
    "OPERATIONAL_KINDS",
    "RELEASE_ACTIONS",
    "ROLE_ACTIONS",
    "ROLE_KINDS",
    "WITHHELD_KEY",
    "Decision",
    "ObjectRef",
    "PolicyDecisionPoint",
    "redact",
    "role_allows",
]

OPERATIONAL_KINDS = frozenset(ObjectKind) - {ObjectKind.AUDIT_LOG}
"""Every kind but the audit log."""

_ALL_ACTIONS = frozenset(Action)
_R, _L, _S, _E, _SH = Action.READ, Action.LIST, Action.STREAM, Action.EXPORT, Action.SHARE

ROLE_ACTIONS: dict[Role, frozenset[Action]] = {
    Role.ADMIN: _ALL_ACTIONS,
    Role.OPERATOR: frozenset({_R, _L, _S}),
    Role.ANALYST: frozenset({_R, _L, _E}),
    Role.SUPERVISOR: _ALL_ACTIONS,
    Role.INFORMATION_MANAGER: frozenset({_R, _L, _E, _SH}),
    Role.INTEGRATOR: frozenset({_R, _L, _S}),
    Role.AUDITOR: frozenset({_R, _L, _E}),
}
"""Actions each role may do on its own agency's objects (and at most on another's)."""

ROLE_KINDS: dict[Role, frozenset[ObjectKind]] = {
    Role.ADMIN: frozenset(ObjectKind),
    # Individual posts are personal data: only the roles that check a burst read them.
    Role.OPERATOR: OPERATIONAL_KINDS - {ObjectKind.POST},
    Role.ANALYST: OPERATIONAL_KINDS,
    Role.SUPERVISOR: OPERATIONAL_KINDS,
    Role.INFORMATION_MANAGER: OPERATIONAL_KINDS - {ObjectKind.POST},
    Role.INTEGRATOR: frozenset({ObjectKind.DEVICE, ObjectKind.READING}),
    Role.AUDITOR: frozenset({ObjectKind.AUDIT_LOG}),
}
"""Object kinds each role may touch at all."""

RELEASE_ACTIONS = frozenset({_R, _L, _S})
"""What an emergency release allows."""

IDENTITY_FIELDS = frozenset({"id", "kind", "agency", "classification"})
"""Fields :func:`redact` always shows, so the reader knows what the withheld fields belong to."""

WITHHELD_KEY = "_withheld"
"""The key under which :func:`redact` lists the withheld fields."""

_ALLOWED: dict[Role, frozenset[tuple[ObjectKind, Action]]] = {
    role: frozenset((k, a) for k in ROLE_KINDS[role] for a in ROLE_ACTIONS[role]) for role in Role
}
_MAX_ONWARD_SHARE = Classification.GREEN.rank


def role_allows(role: Role, kind: ObjectKind, action: Action) -> bool:
    """Whether ``role`` may do ``action`` on ``kind`` in its own agency.

    >>> role_allows(Role.ANALYST, ObjectKind.FORECAST, Action.EXPORT)
    True
    >>> role_allows(Role.OPERATOR, ObjectKind.INCIDENT, Action.EXPORT)
    False
    """
    return (kind, action) in _ALLOWED[role]


@dataclass(frozen=True, slots=True)
class ObjectRef:
    """What a decision is about: an object's kind, owner agency and classification.

    ``id`` is the object's id; ``incident_id`` the incident it belongs to, if any (an emergency
    release of that incident then covers it too).
    """

    kind: ObjectKind
    owner: str
    classification: Classification
    id: str | None = None
    incident_id: str | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer of the policy decision point; truthy when it allows.

    Attributes:
        allow: Whether the action may go ahead.
        code: Stable reason code (``own-agency``, ``agreement``, ``purpose-mismatch``, ...).
        reason: The same in words, naming the values that decided.
        basis: What allowed it: ``admin``, ``own-agency``, an emergency release id, or the
            matching agreement ids joined by ``+``; ``""`` when denied.
        fields: The fields shown (``None``: all); the rest is withheld by :func:`redact`.
        audit: True for every decision about another agency's object.
    """

    allow: bool
    code: str
    reason: str
    basis: str = ""
    fields: frozenset[str] | None = None
    audit: bool = False

    def __bool__(self) -> bool:
        return self.allow


def _deny(code: str, reason: str, audit: bool) -> Decision:
    return Decision(False, code, reason, audit=audit)


class PolicyDecisionPoint:
    """Decides every access to an object, from the agreements and emergency releases.

    Agreements are indexed by (provider, recipient) when made, so a decision looks at the few
    agreements between the two agencies only.

    Args:
        agreements: The sharing agreements (ids must be unique).
        releases: Emergency releases in effect; add more with :meth:`add_release`.
    """

    def __init__(
        self, agreements: Iterable[Agreement], releases: Iterable[EmergencyRelease] = ()
    ) -> None:
        self._agreements = tuple(agreements)
        ids = [a.id for a in self._agreements]
        if len(set(ids)) != len(ids):
            dupes = sorted({i for i in ids if ids.count(i) > 1})
            raise ValueError(f"agreement ids must be unique; repeated: {dupes}")
        index: dict[tuple[str, str], list[Agreement]] = defaultdict(list)
        for a in self._agreements:
            index[(a.provider, a.recipient)].append(a)
        self._by_pair = {pair: tuple(sorted(v, key=lambda a: a.id)) for pair, v in index.items()}
        self._releases: dict[tuple[str, str], list[EmergencyRelease]] = defaultdict(list)
        for r in releases:
            self.add_release(r)

    @property
    def agreements(self) -> tuple[Agreement, ...]:
        """The agreements, in the order given."""
        return self._agreements

    @property
    def releases(self) -> tuple[EmergencyRelease, ...]:
        """Every emergency release added, expired ones included (they are for review)."""
        return tuple(r for rs in self._releases.values() for r in rs)

    def add_release(self, release: EmergencyRelease) -> None:
        """Put an emergency release into effect (from its ``granted_at``)."""
        self._releases[(release.to_agency, release.incident_id)].append(release)

    def decide(
        self,
        principal: Subject,
        action: Action,
        obj: ObjectRef,
        purpose: str | None,
        at: datetime,
    ) -> Decision:
        """Whether ``principal`` may do ``action`` on ``obj`` at ``at`` for ``purpose``.

        ``purpose`` is needed for another agency's object under an agreement; ``at`` must be
        timezone-aware. See the module docstring for the rules.

        Raises:
            ValueError: ``at`` has no timezone.
        """
        if at.tzinfo is None:
            raise ValueError(f"decision time must be timezone-aware, got {at.isoformat()}")
        role = principal.role
        foreign = obj.owner != principal.agency
        if role is Role.ADMIN:
            return Decision(True, "admin", "platform administrator", "admin", None, foreign)
        if (obj.kind, action) not in _ALLOWED[role]:
            return _deny(
                "role-not-allowed",
                f"role {role.value} may not {action.value} {obj.kind.value} objects",
                foreign,
            )
        if not foreign:
            return Decision(True, "own-agency", f"own agency {obj.owner}", "own-agency")
        if obj.kind is ObjectKind.AUDIT_LOG:
            return _deny("audit-log-own-agency", "an agency's audit log is its own", True)
        if action is Action.SHARE and obj.classification.rank > _MAX_ONWARD_SHARE:
            return _deny(
                "tlp-no-onward-share",
                f"{obj.classification.value} of {obj.owner} may not be passed on by a recipient",
                True,
            )
        if action is Action.EXPORT and obj.classification is Classification.RED:
            return _deny("tlp-red-no-export", "TLP:RED may not leave its named recipients", True)
        if self._releases:
            released = self._release(principal.agency, action, obj, at)
            if isinstance(released, Decision):
                return released
            expired = released
        else:
            expired = None
        return self._by_agreement(principal, action, obj, purpose, at, expired)

    def check(
        self,
        principal: Subject,
        action: Action,
        obj: ObjectRef,
        purpose: str | None,
        at: datetime,
    ) -> Decision:
        """Like :meth:`decide`, but raise ``PermissionDenied`` (with the reason) when denied."""
        decision = self.decide(principal, action, obj, purpose, at)
        if not decision.allow:
            raise PermissionDenied(f"{decision.code}: {decision.reason}")
        return decision

    def _release(
        self, agency: str, action: Action, obj: ObjectRef, at: datetime
    ) -> Decision | str | None:
        """An allowing decision, or the id of an inactive release of the incident, or None."""
        keys = {obj.incident_id}
        if obj.kind is ObjectKind.INCIDENT:
            keys.add(obj.id)
        inactive: str | None = None
        for key in keys:
            if key is None:
                continue
            for r in self._releases.get((agency, key), ()):
                if r.from_agency != obj.owner:
                    continue
                if r.active(at) and action in RELEASE_ACTIONS:
                    return Decision(
                        True,
                        "emergency-release",
                        f"emergency release {r.id} of incident {r.incident_id} by {r.by}",
                        r.id,
                        None,
                        True,
                    )
                inactive = r.id
        return inactive

    def _by_agreement(
        self,
        principal: Subject,
        action: Action,
        obj: ObjectRef,
        purpose: str | None,
        at: datetime,
        inactive_release: str | None,
    ) -> Decision:
        candidates = self._by_pair.get((obj.owner, principal.agency), ())
        if not candidates:
            if inactive_release is not None:
                return _deny(
                    "release-not-active",
                    f"emergency release {inactive_release} is not active or does not cover "
                    f"{action.value}",
                    True,
                )
            return _deny(
                "no-agreement", f"no agreement from {obj.owner} to {principal.agency}", True
            )
        matched: list[Agreement] = []
        best = (-1, "", "")
        for a in candidates:
            depth, code, text = _first_failure(a, principal, action, obj, purpose, at)
            if not code:
                matched.append(a)
            elif depth > best[0]:
                best = (depth, code, text)
        if not matched:
            return _deny(best[1], best[2], True)
        fields: frozenset[str] | None = frozenset()
        for a in matched:
            f = a.fields_for(obj.kind)
            fields = None if f is None or fields is None else fields | f
        basis = "+".join(a.id for a in matched)
        return Decision(True, "agreement", f"agreement {basis}", basis, fields, True)


def _first_failure(
    a: Agreement,
    principal: Subject,
    action: Action,
    obj: ObjectRef,
    purpose: str | None,
    at: datetime,
) -> tuple[int, str, str]:
    """How many checks ``a`` passed, and the first failing one (code ``""`` if none failed)."""
    if not a.valid_from <= at < a.valid_until:
        return 0, "agreement-not-in-force", f"agreement {a.id} is not in force at {at.isoformat()}"
    if obj.kind not in a.kinds:
        return 1, "kind-not-covered", f"agreement {a.id} does not cover {obj.kind.value}"
    if obj.classification.rank > a.max_classification.rank:
        return (
            2,
            "classification-not-covered",
            f"agreement {a.id} covers up to {a.max_classification.value}, "
            f"not {obj.classification.value}",
        )
    if principal.role not in a.roles:
        return 3, "role-not-covered", f"agreement {a.id} does not cover {principal.role.value}"
    if action not in a.actions:
        return 4, "action-not-covered", f"agreement {a.id} does not allow {action.value}"
    if purpose is None:
        return 5, "purpose-missing", f"state a purpose; agreement {a.id} is for {a.purpose}"
    if purpose != a.purpose:
        return 5, "purpose-mismatch", f"agreement {a.id} is for {a.purpose}, not {purpose}"
    if obj.classification is Classification.RED and principal.name not in a.red_recipients:
        return 6, "red-not-named", f"TLP:RED under {a.id} is for its named recipients only"
    return 7, "", ""


def redact(doc: Mapping[str, Any], decision: Decision) -> dict[str, Any]:
    """The document as the reader may see it: withheld fields set to ``None`` and named.

    Every field outside ``decision.fields`` (and :data:`IDENTITY_FIELDS`) keeps its key with
    the value ``None``, and ``"_withheld"`` lists those keys, sorted (empty when nothing was
    withheld), so the reader sees that something was withheld and what. Top-level fields only.

    Raises:
        PermissionDenied: the decision denies access.

    >>> d = Decision(True, "agreement", "agreement a1", "a1", frozenset({"status"}), True)
    >>> redact({"id": "inc-1", "status": "open", "notes": "suspect named"}, d)
    {'id': 'inc-1', 'status': 'open', 'notes': None, '_withheld': ['notes']}
    """
    if not decision.allow:
        raise PermissionDenied(f"{decision.code}: {decision.reason}")
    out = dict(doc)
    withheld: list[str] = []
    if decision.fields is not None:
        for key in doc:
            if key not in decision.fields and key not in IDENTITY_FIELDS and key != WITHHELD_KEY:
                out[key] = None
                withheld.append(key)
    out[WITHHELD_KEY] = sorted(withheld)
    return out

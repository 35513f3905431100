"""Sharing agreements between agencies, and emergency releases of one incident.

An :class:`Agreement` says that a *provider* agency (the owner of the data) lets the users of a
*recipient* agency with one of the named roles do the named actions on objects of the named
kinds, classified at most ``max_classification``, for one purpose, during a period; only the
listed fields of each kind are shown, the rest is redacted. Whatever no agreement states is
denied.

TLP 2.0 (FIRST, 2022) as applied here:

- ``CLEAR``, ``GREEN`` and ``AMBER`` flow under an agreement whose ``max_classification`` is at
  or above them (the default is ``AMBER``). Need-to-know is the default, so even ``CLEAR`` data
  of another agency needs an agreement: the agreement is the stated need.
- ``AMBER+STRICT`` (the recipient's organisation only) flows only if the agreement names it, by
  ``max_classification: AMBER+STRICT`` or ``RED``; an agreement is one recipient organisation.
- ``RED`` (named recipients only) flows only if ``max_classification: RED`` *and* the user is
  named in ``red_recipients``: a role is not a named person.

>>> from datetime import UTC, datetime
>>> a = Agreement(id="pol-gem-1", provider="police", recipient="gemeente",
...     kinds=["incident"], purpose="public-order", roles=["operator"],
...     actions=["read", "list"], fields={"incident": ["kind", "status"]},
...     valid_from=datetime(2026, 1, 1, tzinfo=UTC), valid_until=datetime(2027, 1, 1, tzinfo=UTC))
>>> a.covers(Classification.AMBER), a.covers(Classification.AMBER_STRICT)
(True, False)
>>> sorted(a.fields_for(ObjectKind.INCIDENT) or ())
['kind', 'status']
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, Self
from uuid import uuid4

import yaml
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from stadswacht.errors import ConfigurationError, PermissionDenied
from stadswacht.model.area import AgencyId
from stadswacht.model.user import Role
from stadswacht.sharing.model import Action, Classification, ObjectKind, Subject

__all__ = [
    "ALL_FIELDS",
    "MAX_RELEASE",
    "MIN_REASON_CHARS",
    "Agreement",
    "EmergencyRelease",
    "PurposeCode",
    "agreement_from_dict",
    "read_agreements",
]

ALL_FIELDS = "*"
"""In an agreement's field list: every field of that kind is shared."""

MAX_RELEASE = timedelta(hours=24)
"""The longest an emergency release may last; a longer need calls for an agreement."""

MIN_REASON_CHARS = 10
"""The shortest written reason an emergency release accepts."""

PurposeCode = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{1,47}$")]
"""A short purpose code, e.g. ``public-order``, ``crisis-management``."""

_AgreementId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")]


class Agreement(BaseModel):
    """One sharing agreement from a provider agency to a recipient agency.

    Attributes:
        id: Stable id, quoted in every decision and audit record.
        provider: The agency that owns the data.
        recipient: The agency whose users receive it.
        kinds: Object kinds covered (never ``audit_log``).
        max_classification: Objects classified at or below it flow; see the module docstring
            for ``AMBER+STRICT`` and ``RED``.
        red_recipients: User names that may see ``RED`` objects (needs ``max_classification:
            RED``).
        purpose: The purpose code a request must state.
        roles: Recipient roles covered (not ``admin``, who needs none, nor ``auditor``).
        actions: Actions allowed; a role never gains an action it lacks in its own agency.
        fields: For each kind in ``kinds``, the fields shown (``["*"]``: all); the rest is
            redacted.
        valid_from: Start of the period (inclusive, timezone-aware).
        valid_until: End of the period (exclusive, timezone-aware).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: _AgreementId
    provider: AgencyId
    recipient: AgencyId
    kinds: frozenset[ObjectKind] = Field(min_length=1)
    max_classification: Classification = Classification.AMBER
    red_recipients: frozenset[str] = frozenset()
    purpose: PurposeCode
    roles: frozenset[Role] = Field(min_length=1)
    actions: frozenset[Action] = Field(min_length=1)
    fields: dict[ObjectKind, frozenset[str]]
    valid_from: AwareDatetime
    valid_until: AwareDatetime

    @field_validator("max_classification", mode="before")
    @classmethod
    def _parse_classification(cls, v: Any) -> Any:
        return Classification.parse(v) if isinstance(v, str) else v

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.provider == self.recipient:
            raise ValueError("provider and recipient are the same agency; no agreement needed")
        if self.valid_until <= self.valid_from:
            raise ValueError("valid_until must be after valid_from")
        if ObjectKind.AUDIT_LOG in self.kinds:
            raise ValueError("the audit log is never shared by agreement")
        if Role.ADMIN in self.roles or Role.AUDITOR in self.roles:
            raise ValueError("roles: admin needs no agreement and auditor sees no operational data")
        missing = sorted(self.kinds - self.fields.keys())
        extra = sorted(self.fields.keys() - self.kinds)
        if missing:
            raise ValueError(f"fields: no field list for {missing}; give one (['*'] for all)")
        if extra:
            raise ValueError(f"fields: {extra} are not among the kinds {sorted(self.kinds)}")
        if self.max_classification is Classification.RED and not self.red_recipients:
            raise ValueError(
                "max_classification RED needs red_recipients (TLP:RED is for named people)"
            )
        if self.red_recipients and self.max_classification is not Classification.RED:
            raise ValueError("red_recipients only mean something with max_classification RED")
        return self

    def covers(self, classification: Classification) -> bool:
        """Whether objects of ``classification`` may flow under this agreement (at all)."""
        return classification.rank <= self.max_classification.rank

    def fields_for(self, kind: ObjectKind) -> frozenset[str] | None:
        """The fields of ``kind`` shown; ``None`` when every field is."""
        fields = self.fields.get(kind, frozenset())
        return None if ALL_FIELDS in fields else fields

    def in_force(self, at: datetime) -> bool:
        """Whether ``at`` lies in ``[valid_from, valid_until)``."""
        return self.valid_from <= at < self.valid_until


def _new_release_id() -> str:
    return f"release-{uuid4().hex[:12]}"


class EmergencyRelease(BaseModel):
    """A supervisor opens one incident (and what hangs off it) to another agency, for a while.

    Read, list and live stream only; every field; always flagged for review. Make one with
    :meth:`grant`, which checks who grants it.

    >>> from datetime import UTC, datetime, timedelta
    >>> t = datetime(2026, 6, 1, 12, tzinfo=UTC)
    >>> r = EmergencyRelease(incident_id="inc-7", from_agency="police", to_agency="brandweer",
    ...     by="sup.jansen", reason="Fire near the stadium, crowd control",
    ...     granted_at=t, expires_at=t + timedelta(hours=2))
    >>> r.active(t + timedelta(hours=1)), r.active(t + timedelta(hours=3)), r.flagged_for_review
    (True, False, True)
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(default_factory=_new_release_id, min_length=1)
    incident_id: str = Field(min_length=1)
    from_agency: AgencyId
    to_agency: AgencyId
    by: str = Field(min_length=1, description="Name of the supervisor who granted it")
    reason: str
    granted_at: AwareDatetime
    expires_at: AwareDatetime
    flagged_for_review: Literal[True] = True

    @field_validator("reason")
    @classmethod
    def _written_reason(cls, v: str) -> str:
        v = v.strip()
        if len(v) < MIN_REASON_CHARS:
            raise ValueError(
                f"an emergency release needs a written reason of at least {MIN_REASON_CHARS} "
                f"characters, got {v!r}"
            )
        return v

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.from_agency == self.to_agency:
            raise ValueError("an emergency release goes to another agency")
        if self.expires_at <= self.granted_at:
            raise ValueError("expires_at must be after granted_at")
        if self.expires_at - self.granted_at > MAX_RELEASE:
            raise ValueError(
                f"an emergency release lasts at most {MAX_RELEASE}; make an agreement instead"
            )
        return self

    def active(self, at: datetime) -> bool:
        """Whether ``at`` lies in ``[granted_at, expires_at)``."""
        return self.granted_at <= at < self.expires_at

    @classmethod
    def grant(
        cls,
        by: Subject,
        incident_id: str,
        to_agency: str,
        reason: str,
        at: datetime,
        duration: timedelta = timedelta(hours=4),
    ) -> EmergencyRelease:
        """Release an incident of ``by``'s agency to ``to_agency`` from ``at`` for ``duration``.

        Raises:
            PermissionDenied: ``by`` is not a supervisor.
            ValueError: the reason is missing or short, or the duration is over 24 h.

        >>> from datetime import UTC, datetime
        >>> from stadswacht.api.auth import Principal
        >>> sup = Principal("sup.jansen", "police", Role.SUPERVISOR)
        >>> r = EmergencyRelease.grant(sup, "inc-7", "brandweer", "Fire near the stadium",
        ...                            datetime(2026, 6, 1, 12, tzinfo=UTC))
        >>> r.from_agency, r.expires_at.hour
        ('police', 16)
        """
        if by.role is not Role.SUPERVISOR:
            raise PermissionDenied(
                f"only a supervisor may make an emergency release; {by.name!r} is {by.role.value}"
            )
        return cls(
            incident_id=incident_id,
            from_agency=by.agency,
            to_agency=to_agency,
            by=by.name,
            reason=reason,
            granted_at=at,
            expires_at=at + duration,
        )


def read_agreements(path: str | Path) -> list[Agreement]:
    """Read agreements from a YAML file: a list, or a mapping with an ``agreements`` list.

    Classifications may be written ``TLP:AMBER``, ``amber`` or ``AMBER+STRICT``; times need a
    UTC offset (``2026-01-01T00:00:00+01:00``).

    Raises:
        ConfigurationError: the file is missing or not YAML, an entry is not valid (the message
            names the file, the entry and the field), or two entries share an id.
    """
    p = Path(path)
    try:
        doc = yaml.safe_load(p.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigurationError(f"cannot read agreements file {p}: {exc}") from exc
    items = doc.get("agreements", []) if isinstance(doc, dict) else doc
    if not isinstance(items, list):
        raise ConfigurationError(f"{p}: expected a list of agreements")
    agreements = [agreement_from_dict(it, f"{p} entry {i + 1}") for i, it in enumerate(items)]
    seen: set[str] = set()
    for i, a in enumerate(agreements):
        if a.id in seen:
            raise ConfigurationError(f"{p} entry {i + 1}: id: {a.id!r} is used twice")
        seen.add(a.id)
    return agreements


def agreement_from_dict(item: Any, where: str = "agreement") -> Agreement:
    """One agreement from its mapping; errors name ``where``, the agreement id and the field.

    >>> agreement_from_dict({"id": "x"}, "agreements.yaml entry 3")
    Traceback (most recent call last):
    ...
    stadswacht.errors.ConfigurationError: agreements.yaml entry 3 (x): provider: Field required
    """
    if not isinstance(item, Mapping):
        raise ConfigurationError(f"{where}: expected a mapping, got {type(item).__name__}")
    label = f"{where} ({item['id']})" if "id" in item else where
    try:
        return Agreement.model_validate(item)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        field = ".".join(str(x) for x in first["loc"]) or "agreement"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise ConfigurationError(f"{label}: {field}: {message}") from exc

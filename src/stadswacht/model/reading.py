"""Readings: what a device reports, one kind at a time, with values in fixed units.

A reading on the wire (see ``docs/device-protocol.md``)::

    {"device": "iz-ac-01", "seq": 17, "time": "2026-11-25T02:13:07.123456Z",
     "kind": "temperature", "values": {"temperature_c": 8.4}, "sig": "..."}

Each kind validates its own values (fields, units, ranges):

>>> Reading.model_validate({"device": "d1", "seq": 1, "time": "2026-11-25T02:13:07.123456Z",
...                         "kind": "water_level", "values": {"level_cm_nap": 231.0}}).values
{'level_cm_nap': 231.0}
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from stadswacht.model.device import DeviceId

__all__ = [
    "READING_KINDS",
    "AcousticImpulse",
    "DeadLetter",
    "Heartbeat",
    "PeopleCount",
    "Power",
    "Rain",
    "Reading",
    "ReadingKind",
    "StoredReading",
    "Temperature",
    "WaterLevel",
    "Wind",
    "epoch_seconds",
    "format_epoch",
    "format_time",
    "parse_time",
    "parse_time_ns",
]

ReadingKind = Literal[
    "acoustic_impulse",
    "people_count",
    "water_level",
    "rain",
    "temperature",
    "wind",
    "power",
    "heartbeat",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def parse_time_ns(text: str) -> int:
    """Parse an RFC 3339 time with a UTC offset into integer nanoseconds since the epoch.

    Up to nine fractional digits are kept, so arrival times keep sub-microsecond precision.

    >>> parse_time_ns("1970-01-01T00:00:01.000000123Z")
    1000000123
    """
    if len(text) == 27 and text[26] == "Z" and text[19] == "." and text[10] == "T":
        # The wire format of format_time, the common case: fromisoformat takes it directly.
        try:
            delta = datetime.fromisoformat(text) - _EPOCH
        except ValueError:
            pass
        else:
            return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000
    if not isinstance(text, str) or len(text) < 20 or text[10] not in "Tt":
        raise ValueError(f"{text!r} is not an RFC 3339 time such as 2026-11-25T02:13:07.123456Z")
    frac_ns = 0
    base = text
    dot = text.find(".", 19)
    if dot != -1:
        end = dot + 1
        while end < len(text) and text[end].isdigit():
            end += 1
        digits = text[dot + 1 : end]
        if not digits or len(digits) > 9:
            raise ValueError(f"{text!r}: give 1 to 9 fractional digits of a second")
        frac_ns = int(digits.ljust(9, "0"))
        base = text[:dot] + text[end:]
    if base[-1] in "Zz":
        base = base[:-1] + "+00:00"
    try:
        dt = datetime.fromisoformat(base)
    except ValueError as exc:
        raise ValueError(f"{text!r} is not an RFC 3339 time: {exc}") from None
    if dt.tzinfo is None:
        raise ValueError(f"{text!r} has no UTC offset; end it with Z")
    delta = dt - _EPOCH
    return (delta.days * 86400 + delta.seconds) * 1_000_000_000 + frac_ns


def parse_time(text: str) -> datetime:
    """Parse an RFC 3339 time into an aware UTC datetime (microsecond precision)."""
    ns = parse_time_ns(text)
    return datetime.fromtimestamp(ns // 1000 / 1e6, UTC).replace(
        microsecond=(ns // 1000) % 1_000_000
    )


def epoch_seconds(text: str) -> float:
    """An RFC 3339 time as seconds since the Unix epoch (a float keeps ~0.2 µs today).

    >>> epoch_seconds("1970-01-01T00:00:01.000250Z")
    1.00025
    """
    ns = parse_time_ns(text)
    return ns // 1_000_000_000 + (ns % 1_000_000_000) / 1e9


def format_epoch(seconds: float) -> str:
    """Seconds since the Unix epoch as RFC 3339 UTC with microseconds.

    >>> format_epoch(1.00025)
    '1970-01-01T00:00:01.000250Z'
    """
    whole = math.floor(seconds)
    micros = round((seconds - whole) * 1e6)
    if micros == 1_000_000:
        whole, micros = whole + 1, 0
    return format_time(datetime.fromtimestamp(whole, UTC).replace(microsecond=micros))


def format_time(dt: datetime) -> str:
    """Format a datetime as RFC 3339 UTC with microseconds, the wire format.

    >>> format_time(datetime(2026, 11, 25, 2, 13, 7, 123456, tzinfo=UTC))
    '2026-11-25T02:13:07.123456Z'
    """
    if dt.tzinfo is None:
        raise ValueError("naive datetime: give a timezone-aware UTC time")
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class _Values(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


_Finite = Annotated[float, Field(allow_inf_nan=False)]


class AcousticImpulse(_Values):
    """An impulsive sound heard by an acoustic sensor; never the audio itself.

    ``arrival_time`` is the onset at the sensor, RFC 3339 with 6 to 9 fractional digits.
    ``classes`` holds probabilities per class (``gunshot``, ``fireworks``, ``impulsive_other``,
    ``background``), which sum to 1.
    """

    arrival_time: str
    peak_db: _Finite = Field(ge=0, le=200, description="Peak sound pressure level [dB SPL]")
    classes: dict[str, Annotated[float, Field(ge=0, le=1)]] = Field(min_length=1)
    duration_ms: _Finite | None = Field(default=None, gt=0, le=10_000)

    @field_validator("arrival_time")
    @classmethod
    def _precise(cls, v: str) -> str:
        parse_time_ns(v)
        dot = v.find(".", 19)
        if dot == -1 or sum(c.isdigit() for c in v[dot + 1 : dot + 10]) < 6:
            raise ValueError("arrival_time needs at least microsecond precision (6 digits)")
        return v

    @field_validator("classes")
    @classmethod
    def _sum_to_one(cls, v: dict[str, float]) -> dict[str, float]:
        total = math.fsum(v.values())
        if abs(total - 1.0) > 0.01:
            raise ValueError(f"class probabilities must sum to 1, they sum to {total:.3f}")
        return v


class PeopleCount(_Values):
    """People counted crossing a line (``in``/``out`` over ``interval_s``) or in a zone.

    Give either ``in`` and ``out`` with ``interval_s`` (a counting line), or ``occupancy``
    (people present in the sensor's zone now). Counts only: never identities.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    count_in: int | None = Field(default=None, ge=0, le=1_000_000, alias="in")
    count_out: int | None = Field(default=None, ge=0, le=1_000_000, alias="out")
    interval_s: _Finite | None = Field(default=None, gt=0, le=86_400)
    occupancy: int | None = Field(default=None, ge=0, le=10_000_000)
    line: str | None = Field(default=None, max_length=64, description="Name of the counting line")

    @model_validator(mode="after")
    def _one_mode(self) -> PeopleCount:
        line = self.count_in is not None or self.count_out is not None
        if line and self.occupancy is not None:
            raise ValueError("give either in/out (a line count) or occupancy (a zone), not both")
        if line and (self.count_in is None or self.count_out is None or self.interval_s is None):
            raise ValueError("a line count needs in, out and interval_s")
        if not line and self.occupancy is None:
            raise ValueError("give in, out and interval_s (a line count) or occupancy (a zone)")
        return self


class WaterLevel(_Values):
    """Water level at a gauge [cm NAP]."""

    level_cm_nap: _Finite = Field(ge=-1_000, le=2_000, description="Water level [cm NAP]")


class Rain(_Values):
    """Rain fallen over the interval [mm]."""

    rain_mm: _Finite = Field(ge=0, le=500, description="Precipitation over the interval [mm]")
    interval_s: _Finite = Field(gt=0, le=86_400)


class Temperature(_Values):
    """Air temperature [°C]."""

    temperature_c: _Finite = Field(ge=-60, le=70, description="Air temperature [°C]")


class Wind(_Values):
    """Wind at a weather station: mean speed and strongest gust over the interval [m/s], and
    the direction it comes from [degrees clockwise from north]."""

    mean_ms: _Finite = Field(ge=0, le=120, description="Mean wind speed [m/s]")
    gust_ms: _Finite | None = Field(default=None, ge=0, le=150, description="Strongest gust [m/s]")
    direction_deg: _Finite | None = Field(
        default=None, ge=0, le=360, description="Direction the wind comes from [degrees]"
    )


class Power(_Values):
    """Mains power at the device or a monitored feeder: on or off."""

    on: bool
    voltage_v: _Finite | None = Field(default=None, ge=0, le=1_000)


class Heartbeat(_Values):
    """A device's sign of life, with optional health figures."""

    battery_pct: _Finite | None = Field(default=None, ge=0, le=100)
    uptime_s: _Finite | None = Field(default=None, ge=0)
    rssi_dbm: _Finite | None = Field(default=None, ge=-200, le=0)


READING_KINDS: dict[str, type[_Values]] = {
    "acoustic_impulse": AcousticImpulse,
    "people_count": PeopleCount,
    "water_level": WaterLevel,
    "rain": Rain,
    "temperature": Temperature,
    "wind": Wind,
    "power": Power,
    "heartbeat": Heartbeat,
}
"""Each reading kind and the model that validates its values."""


def _explain(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in err["loc"]) or "values"
        parts.append(f"{loc}: {err['msg']}")
    return "; ".join(parts)


class Reading(BaseModel):
    """A reading as a device sends it (without its signature)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    device: DeviceId
    seq: int = Field(
        ge=0,
        lt=2**53,
        description="Per-device sequence number, below 2^53 (read exactly by any JSON parser)",
    )
    time: str
    kind: ReadingKind
    values: dict[str, Any]

    @field_validator("time")
    @classmethod
    def _time(cls, v: str) -> str:
        parse_time_ns(v)
        return v

    @model_validator(mode="after")
    def _values(self) -> Reading:
        try:
            READING_KINDS[self.kind].model_validate(self.values)
        except ValidationError as exc:
            raise ValueError(f"{self.kind} values invalid: {_explain(exc)}") from None
        return self

    @property
    def time_ns(self) -> int:
        """The reading's time [ns since the epoch]."""
        return parse_time_ns(self.time)


_PLAIN = re.compile(r"[A-Za-z0-9_.:+\-]*")


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredReading:
    """A reading that was accepted, as the store and the bus carry it.

    A plain dataclass, not a pydantic model: it is made once per reading on the ingest hot
    path from values that were already checked (pydantic still validates and serialises it
    where it crosses the API).
    """

    id: int | None = None
    device: str
    seq: int
    time: str
    time_us: int
    kind: str
    values: dict[str, Any]
    agency: str
    area: str | None
    sig: str
    received_us: int
    values_json: str | None = field(default=None, compare=False, repr=False)
    """``values`` as compact JSON, when ingest already has it (saves serialising twice)."""

    def values_text(self) -> str:
        """``values`` as compact JSON."""
        if self.values_json is not None:
            return self.values_json
        return json.dumps(self.values, separators=(",", ":"))

    def as_dict(self) -> dict[str, Any]:
        """The reading as a JSON-ready dict (what the bus and the API carry)."""
        return {
            "id": self.id,
            "device": self.device,
            "seq": self.seq,
            "time": self.time,
            "time_us": self.time_us,
            "kind": self.kind,
            "values": self.values,
            "agency": self.agency,
            "area": self.area,
            "sig": self.sig,
            "received_us": self.received_us,
        }

    def to_json(self) -> bytes:
        """The reading as compact JSON bytes (the keys of :meth:`as_dict`).

        >>> StoredReading(id=7, device="d1", seq=1, time="2026-11-25T02:13:07.000001Z",
        ...               time_us=1, kind="power", values={"on": True}, agency="police",
        ...               area=None, sig="c2ln", received_us=2).to_json()[:40]
        b'{"id":7,"device":"d1","seq":1,"time":"20'
        """
        if _PLAIN.fullmatch(
            f"{self.device}{self.time}{self.kind}{self.agency}{self.area or ''}{self.sig}"
        ):
            # Ids, times, kinds and base64url need no JSON escaping: compose directly.
            area = "null" if self.area is None else f'"{self.area}"'
            ident = "null" if self.id is None else str(int(self.id))
            return (
                f'{{"id":{ident},"device":"{self.device}","seq":{int(self.seq)},'
                f'"time":"{self.time}","time_us":{int(self.time_us)},"kind":"{self.kind}",'
                f'"values":{self.values_text()},"agency":"{self.agency}","area":{area},'
                f'"sig":"{self.sig}","received_us":{int(self.received_us)}}}'
            ).encode()
        return json.dumps(self.as_dict(), separators=(",", ":")).encode()


class DeadLetter(BaseModel):
    """A rejected reading with the reason, kept for the integrator and for attack detection."""

    model_config = ConfigDict(frozen=True)

    id: int | None = None
    received_us: int
    reason: str
    message: str
    device: str | None = None
    seq: int | None = None
    transport: Literal["http", "mqtt", "inproc", "cli"] = "http"
    source: str | None = None
    payload: str = ""

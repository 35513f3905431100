"""The whole exception tree of Stadswacht.

Every error the platform raises on purpose derives from :class:`StadswachtError`; third-party
errors are translated at the boundary (``raise StorageError(...) from exc``)::

    StadswachtError
    ├── ConfigurationError (ValueError)
    ├── InvalidReading (ValueError)          a reading that is rejected; carries a reason code
    ├── ScenarioError (ValueError)           a living-lab scenario file that is not valid
    ├── AudioError (ValueError)              a recording that cannot be read or is not audio
    ├── TrajectoryError (ValueError)         a pedestrian trajectory file that cannot be read
    ├── CountsError (ValueError)             a people-counts file or forecast request not valid
    ├── SeriesError (ValueError)             a hydro/meteo series file that cannot be read
    ├── CapError (ValueError)                a CAP alert that fails the schema or the rules
    ├── IncidentError (ValueError)           an incident cannot be changed as asked
    │   └── TransitionNotAllowed             not in the lifecycle, or mandatory steps open
    ├── NotFound (LookupError)
    │   ├── UnknownDevice
    │   └── UnknownUser
    ├── AlreadyExists (ValueError)
    ├── AuthenticationError
    ├── PermissionDenied
    │   └── TransitionDenied                 the role may not make this incident transition
    ├── PayloadTooLarge (ValueError)
    ├── RateLimited
    ├── StorageError
    ├── BusError
    └── TransportError (ConnectionError)
"""

from __future__ import annotations

__all__ = [
    "AlreadyExists",
    "AudioError",
    "AuthenticationError",
    "BusError",
    "CapError",
    "ConfigurationError",
    "CountsError",
    "DeviceStateError",
    "IncidentError",
    "InfraGraphError",
    "InvalidPost",
    "InvalidReading",
    "NotFound",
    "PayloadTooLarge",
    "PermissionDenied",
    "RateLimited",
    "ScenarioError",
    "SeriesError",
    "StadswachtError",
    "StorageError",
    "TrajectoryError",
    "TransitionDenied",
    "TransitionNotAllowed",
    "TransportError",
    "UnknownDevice",
    "UnknownUser",
]


class StadswachtError(Exception):
    """Raised when anything in Stadswacht fails on purpose; the root of the tree."""


class ConfigurationError(StadswachtError, ValueError):
    """Raised when a setting is missing, malformed or unsafe (a default secret in production)."""


class InvalidReading(StadswachtError, ValueError):
    """Raised when a reading is rejected; ``reason`` is a stable code, the message says why.

    Codes: ``malformed``, ``unknown_device``, ``decommissioned``, ``bad_signature``,
    ``invalid_values``, ``clock_skew``, ``too_old``, ``replay``, ``topic_mismatch``,
    ``not_gateway``, ``rate_limited``, ``too_large``, ``unavailable`` (the store is down and
    the device is not known to this process: retry).
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message

    def __str__(self) -> str:
        return f"{self.reason}: {self.message}"


class ScenarioError(StadswachtError, ValueError):
    """Raised when a scenario file is not valid; the message names the file, line and field."""


class AudioError(StadswachtError, ValueError):
    """Raised when a recording cannot be read (missing, not audio, empty); the message names
    the file and why."""


class CountsError(StadswachtError, ValueError):
    """Raised when a counts file cannot be read (the message names the file, line and field) or
    a forecast is asked for what the data cannot give."""


class SeriesError(StadswachtError, ValueError):
    """Raised when a water-level or weather series file cannot be read or written; the message
    names the file, line and field."""


class CapError(StadswachtError, ValueError):
    """Raised when a CAP alert fails the OASIS schema or a semantic rule; the message names
    the rule and the element, and ``problems`` lists every one found."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or [message]


class IncidentError(StadswachtError, ValueError):
    """Raised when an incident cannot be changed as asked; the message says why and what to do."""


class TransitionNotAllowed(IncidentError):
    """Raised when a status change is not in the lifecycle, or mandatory procedure steps are
    open before resolving."""


class TrajectoryError(StadswachtError, ValueError):
    """Raised when a trajectory file cannot be read; the message names the file and line."""


class InfraGraphError(StadswachtError, ValueError):
    """Raised when an infrastructure graph file is not valid; the message names each bad item
    by its path (``nodes[3].depends_on[0]``) and says what to change."""


class InvalidPost(StadswachtError, ValueError):
    """Raised when a post cannot be accepted; ``reason`` is a stable code
    (``not_an_object``, ``missing_field``, ``bad_text``, ``bad_time``, ``bad_position``,
    ``bad_lang``, ``bad_place``, ``bad_post``)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message


class NotFound(StadswachtError, LookupError):
    """Raised when a named object does not exist."""


class UnknownDevice(NotFound):
    """Raised when a device id is not in the registry."""


class UnknownUser(NotFound):
    """Raised when a user name is not known."""


class DeviceStateError(StadswachtError, ValueError):
    """A device is not in the state the action needs (e.g. clearing one not quarantined)."""


class AlreadyExists(StadswachtError, ValueError):
    """Raised when creating an object whose id is already taken."""


class AuthenticationError(StadswachtError):
    """Raised when credentials are missing, wrong or expired."""


class PermissionDenied(StadswachtError):
    """Raised when an authenticated caller's role does not allow the action."""


class TransitionDenied(PermissionDenied):
    """Raised when the caller's role may not make an incident transition that exists."""


class PayloadTooLarge(StadswachtError, ValueError):
    """Raised when a request or batch exceeds the configured size limits."""


class RateLimited(StadswachtError):
    """Raised when a device or user exceeds its rate limit; retry after ``retry_after`` [s]."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class StorageError(StadswachtError):
    """Raised when the store fails (database unreachable, disk full, constraint broken)."""


class BusError(StadswachtError):
    """Raised when the message bus cannot publish or deliver."""


class TransportError(StadswachtError, ConnectionError):
    """Raised when a device client cannot reach the platform (HTTP or MQTT)."""

"""One typed Settings object, read from the environment (prefix ``STADSWACHT_``) or ``.env``.

Outside development mode the platform refuses to start with a default secret.

>>> s = Settings(env="development")
>>> s.store_backend
'sqlite'
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from stadswacht.errors import ConfigurationError

__all__ = [
    "DEFAULT_DATABASE_URL",
    "DEFAULT_DEV_SECRET",
    "Settings",
    "get_settings",
]

DEFAULT_DATABASE_URL = "sqlite:///var/stadswacht.db"
"""Embedded store: one SQLite file in WAL mode, relative to the working directory."""

DEFAULT_DEV_SECRET = "development-only-secret-do-not-use"  # noqa: S105 - refused outside development
"""The token-signing secret used in development mode only."""


class Settings(BaseSettings):
    """All settings of a Stadswacht process.

    Every field can be set as ``STADSWACHT_<FIELD>`` in the environment.
    """

    model_config = SettingsConfigDict(env_prefix="STADSWACHT_", env_file=".env", extra="ignore")

    env: Literal["development", "production", "test"] = "development"
    """``development`` allows the default secret; ``production`` refuses it."""

    database_url: str = DEFAULT_DATABASE_URL
    """``sqlite:///path`` (embedded) or ``postgresql://user@host:port/db`` (scaled out)."""

    bus_url: str = "inproc://"
    """``inproc://`` (embedded) or ``nats://host:port`` for NATS JetStream (scaled out)."""

    mqtt_url: str | None = None
    """Broker to subscribe to for device readings, ``mqtt://host:port``; none: HTTP only."""
    mqtt_username: str | None = None
    mqtt_password: str | None = None
    mqtt_client_id: str = "stadswacht-ingest"
    """Persistent-session client id: unacknowledged QoS 1 messages wait for it on the broker."""
    mqtt_shared_group: str | None = None
    """With several ingest processes, subscribe as ``$share/<group>/...`` to split the load."""

    host: str = "127.0.0.1"
    port: int = 8000

    min_published_count: int = Field(default=5, ge=1)
    """Counts of people below this are published coarsened (as a range ``"<5"``, never the
    exact small number): a handful of people at a gate can be someone identifiable."""

    detectors: bool = True
    """Run the detectors in this process (``stadswacht run``). Scaled out, set it on exactly one
    process: a gunshot is located from the reports of several sensors, which must all reach
    the same detector."""

    agreements_file: Path | None = None
    """Sharing agreements between agencies (YAML, see ``docs/sharing.md``). Without it every
    agency sees only its own data."""

    audit_key_file: Path | None = None
    """Ed25519 key (PEM) that signs the audit log's checkpoints (`stadswacht audit keygen`).
    Required outside development; in development a key for this process only is made."""

    audit_log_id: str = Field(default="stadswacht.local/audit", pattern=r"^[^\s+]{1,100}$")
    """The audit log's origin (checkpoint first line): who runs it, e.g. ``denhaag.nl/audit``."""

    fusion_rules_file: Path | None = None
    """Correlation rules for fusion (YAML, ``docs/fusion.md``); default: the built-in rules."""

    fusion_sops_file: Path | None = None
    """Standard operating procedures per incident kind (YAML); default: the built-in ones."""

    pseudonym_key_file: Path | None = None
    """The HMAC key for pseudonyms (client addresses, later author handles), kept apart from
    the database. Required outside development; in development ``var/pseudonym.key`` is made."""

    infra_graph_file: Path | None = None
    """The infrastructure dependency graph (YAML or JSON, ``docs/resilience.md``) behind
    ``/v1/resilience/*``: what the sensors depend on. Without it those routes answer 404."""

    retention_file: Path | None = None
    """Retention per data kind (YAML, ``docs/privacy.md``); default: the built-in periods."""

    retention_interval_s: float = Field(default=3600.0, gt=0)
    """How often the retention job deletes what is past its period [s]."""

    websignal_agency: str = Field(default="municipality", pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")
    """The agency that owns web-signal posts and bursts when no other is given (an admin's push,
    a feed without one): the one whose DPIA covers the monitoring."""

    websignal_feeds_file: Path | None = None
    """RSS/Atom feeds the deployment may read (YAML, ``docs/websignal.md``); none by default."""

    websignal_gazetteer_file: Path | None = None
    """Place names per area for posts without coordinates (YAML); default: the packaged one."""

    websignal_keywords_file: Path | None = None
    """Scenario search terms for posts (YAML); default: the packaged ones."""

    register_organisation: str | None = None
    """The organisation named in the algorithm register (``/v1/algorithms``)."""

    register_contact: str | None = None
    """Contact for questions about the algorithms (an address, no person's name needed)."""

    register_source_base: str | None = None
    """Where the source code is published (links in the register)."""

    thresholds_file: Path | None = None
    """Warning thresholds (YAML, see :func:`stadswacht.detect.hazard.thresholds.read_thresholds`):
    which gauge or weather station warns at which levels. The living lab adds its scenario's."""

    cap_sender: str = Field(default="stadswacht@localhost", pattern=r"^[^\s,<&]+$")
    """The CAP ``sender`` of every alert: who issues them (an address or domain, no spaces)."""

    cap_sender_name: str = "Stadswacht"
    """The CAP ``senderName`` shown to the public."""

    cap_status: Literal["Actual", "Exercise", "System", "Test", "Draft"] = "Actual"
    """The CAP ``status`` of every alert; the living-lab demo issues ``Exercise``."""

    cap_public: bool = False
    """Serve ``/cap/feed.atom`` and ``/cap/alerts/*`` without sign-in (public warnings are
    meant to be read by anyone; off by default, so publishing is a decision)."""

    cap_webhooks: list[str] = Field(default_factory=list)
    """URLs every CAP alert is POSTed to (``application/cap+xml``), retried with back-off."""

    cap_mqtt_topic: str = "stadswacht/cap"
    """Topic prefix on the MQTT broker (``mqtt_url``) that every CAP alert is published under
    (``<prefix>/<area or station>``, retained: a late subscriber gets the current one)."""

    secret_key: str = DEFAULT_DEV_SECRET
    """Signs user tokens (HS256). Must be set, 32+ characters, outside development."""
    token_ttl_s: int = Field(default=8 * 3600, gt=0)

    max_clock_skew_s: float = Field(default=300.0, gt=0)
    """A reading stamped further in the future than this is rejected (``clock_skew``) [s]."""
    max_reading_age_s: float = Field(default=7 * 86400.0, gt=0)
    """A reading older than this is rejected (``too_old``) [s]; covers offline buffering.

    Keep it below the retention of readings, so a replayed reading is always caught either by
    its sequence number (still stored) or by its age."""
    duplicate_window_s: float = Field(default=900.0, ge=0)
    """An identical copy of a stored reading within this time of its first receipt is an
    idempotent duplicate (MQTT redelivery, client retry); later it is a ``replay`` [s]."""

    max_body_bytes: int = Field(default=16 * 1024 * 1024, gt=0)
    max_batch_items: int = Field(default=20_000, gt=0)
    max_reading_bytes: int = Field(default=64 * 1024, gt=0)

    device_rate_per_s: float = Field(default=200.0, gt=0)
    """Sustained readings per second a single device may send (token bucket)."""
    device_rate_burst: float = Field(default=5_000.0, gt=0)
    """Readings a device may send at once after a quiet spell (bucket size)."""

    dead_letter_payload_bytes: int = Field(default=8 * 1024, gt=0)
    """A rejected payload is kept up to this size in the dead-letter store."""

    spool_dir: Path | None = None
    """Where ingest keeps checked readings while the store is down (``docs/degraded-mode.md``);
    default: beside the SQLite file (``var/stadswacht.spool``), or ``var/spool`` with
    PostgreSQL. Each ingest process holds its own (a second process given the same one takes
    ``<dir>.1`` .. ``<dir>.7``)."""
    spool_max_bytes: int = Field(default=64 * 1024 * 1024, ge=0)
    """The most undrained bytes the spool keeps; past it HTTP ingest answers 503 and MQTT
    messages stay unacknowledged on the broker. 0 turns the spool off [bytes]."""
    spool_drain_interval_s: float = Field(default=0.5, gt=0)
    """First wait before retrying the store (or the bus) after a failure; doubles up to 30 s
    while it stays down [s]."""
    outbox_max_messages: int = Field(default=100_000, ge=0)
    """Stored readings and rejection events kept in memory for a bus that is down."""

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> Settings:
        if self.env == "production" and (
            self.secret_key == DEFAULT_DEV_SECRET or len(self.secret_key) < 32
        ):
            raise ConfigurationError(
                "STADSWACHT_SECRET_KEY is the development default or shorter than 32 characters; "
                "set a random secret, e.g. from "
                "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`, "
                "or run with STADSWACHT_ENV=development"
            )
        if self.env == "production" and self.audit_key_file is None:
            raise ConfigurationError(
                "STADSWACHT_AUDIT_KEY_FILE is not set: the audit log's checkpoints must be signed "
                "with a kept key; make one with `stadswacht audit keygen --out FILE --log-id ID`"
            )
        if not (
            self.database_url.startswith("sqlite:///")
            or self.database_url.startswith(("postgresql://", "postgres://"))
        ):
            raise ConfigurationError(
                f"STADSWACHT_DATABASE_URL={self.database_url!r} is not supported; "
                "use sqlite:///path or postgresql://..."
            )
        if not self.bus_url.startswith(("inproc://", "nats://")):
            raise ConfigurationError(
                f"STADSWACHT_BUS_URL={self.bus_url!r} is not supported; use inproc:// or nats://..."
            )
        return self

    @property
    def store_backend(self) -> Literal["sqlite", "postgresql"]:
        """Which store the database URL selects."""
        return "sqlite" if self.database_url.startswith("sqlite:") else "postgresql"

    @property
    def sqlite_path(self) -> Path:
        """The SQLite file of a ``sqlite:///`` URL."""
        return Path(self.database_url.removeprefix("sqlite:///"))


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once from the environment.

    Raises:
        ConfigurationError: a setting is malformed or unsafe; the message names it.
    """
    try:
        return Settings()
    except ValidationError as exc:
        raise ConfigurationError(f"invalid settings: {exc}") from exc

"""Settings: defaults for development, refusal of default secrets in production."""

from __future__ import annotations

import pytest

from stadswacht.config import DEFAULT_DEV_SECRET, Settings, get_settings
from stadswacht.errors import ConfigurationError


def test_production_refuses_the_default_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    get_settings.cache_clear()
    monkeypatch.setenv("STADSWACHT_ENV", "production")
    with pytest.raises(ConfigurationError, match="STADSWACHT_SECRET_KEY"):
        get_settings()
    monkeypatch.setenv("STADSWACHT_SECRET_KEY", "x" * 40)
    get_settings.cache_clear()
    # Nor does it start without a kept key for the audit log's checkpoints.
    with pytest.raises(ConfigurationError, match="STADSWACHT_AUDIT_KEY_FILE"):
        get_settings()
    monkeypatch.setenv("STADSWACHT_AUDIT_KEY_FILE", "/etc/stadswacht/audit.pem")
    get_settings.cache_clear()
    assert get_settings().secret_key == "x" * 40
    get_settings.cache_clear()


def test_development_allows_it_and_urls_are_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings(env="development").secret_key == DEFAULT_DEV_SECRET
    assert Settings(database_url="postgresql://u@h/db").store_backend == "postgresql"
    get_settings.cache_clear()
    monkeypatch.setenv("STADSWACHT_DATABASE_URL", "mysql://x")
    with pytest.raises(ConfigurationError, match="not supported"):
        get_settings()
    get_settings.cache_clear()

"""The HTTP API (FastAPI): devices, readings, areas, dead letters, live stream, login.

Routes translate HTTP to calls on the platform and back; they decide no policy themselves
beyond checking the caller's role and agency.
"""

from __future__ import annotations

from stadswacht.api.app import create_app

__all__ = ["create_app"]

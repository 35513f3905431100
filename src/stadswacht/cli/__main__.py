"""``python -m stadswacht.cli``: the ``stadswacht`` command, in development mode by default."""

from __future__ import annotations

import os

from stadswacht.cli import app

if __name__ == "__main__":  # pragma: no cover
    os.environ.setdefault("STADSWACHT_ENV", "development")
    app()

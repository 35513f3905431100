"""Stadswacht: an open-source platform for smart, safe and resilient cities.

Sensors of many agencies send signed readings; the platform checks each one once, stores it
durably and passes it one way through detection and fusion to need-to-know sharing. See
``DESIGN.md`` in the repository for the architecture.
"""

__version__ = "0.1.0"

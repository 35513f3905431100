"""Privacy: what the platform keeps about people, for how long, and what it publishes.

The contract:

- An identifier of a person that must be kept (a client address of a rejected request, an
  author handle) is kept only as a keyed pseudonym (:class:`Pseudonymiser`), made before it
  reaches any store, under a key held in a file apart from the database.
- Every kind of data has a retention period (:class:`RetentionPolicy`); a scheduled
  :class:`RetentionJob` deletes what is older.
- A published count of fewer people than the minimum group size is coarsened
  (:func:`coarsen_counts`).
- Every detector and model has a public entry in the algorithm register
  (:func:`algorithm_register`), served at ``/v1/algorithms``.

See ``docs/privacy.md``.
"""

from __future__ import annotations

from stadswacht.privacy.coarsen import ZONE_COUNT_FIELDS, CountField, coarsen_counts
from stadswacht.privacy.pseudonym import (
    Pseudonymiser,
    pseudonymiser_from_settings,
    read_pseudonym_key,
)
from stadswacht.privacy.register import AlgorithmEntry, algorithm_register, entry_as_dict
from stadswacht.privacy.retention import RetentionJob, RetentionPolicy, read_retention

__all__ = [
    "ZONE_COUNT_FIELDS",
    "AlgorithmEntry",
    "CountField",
    "Pseudonymiser",
    "RetentionJob",
    "RetentionPolicy",
    "algorithm_register",
    "coarsen_counts",
    "entry_as_dict",
    "pseudonymiser_from_settings",
    "read_pseudonym_key",
    "read_retention",
]

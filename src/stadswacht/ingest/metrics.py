"""Prometheus metrics of ingest, shared by both transports.

Reason codes are a closed set, so label cardinality stays small.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

__all__ = [
    "BATCH_SECONDS",
    "BUS_PUBLISH_FAILURES",
    "READINGS_ACCEPTED",
    "READINGS_DUPLICATE",
    "READINGS_REJECTED",
]

READINGS_ACCEPTED = Counter("stadswacht_readings_accepted_total", "Readings stored", ["transport"])
READINGS_REJECTED = Counter(
    "stadswacht_readings_rejected_total", "Readings rejected, by reason", ["transport", "reason"]
)
READINGS_DUPLICATE = Counter(
    "stadswacht_readings_duplicate_total",
    "Identical copies of stored readings (redeliveries), not stored again",
    ["transport"],
)
BATCH_SECONDS = Histogram(
    "stadswacht_ingest_batch_seconds",
    "Time to check, store and publish one batch",
    ["transport"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
BUS_PUBLISH_FAILURES = Counter(
    "stadswacht_bus_publish_failures_total",
    "Stored readings that could not be published on the bus after retries",
)

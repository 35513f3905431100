"""Prometheus metrics of ingest, shared by both transports.

Reason codes are a closed set, so label cardinality stays small.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

__all__ = [
    "BATCH_SECONDS",
    "BUS_PUBLISH_FAILURES",
    "OUTBOX_DROPPED",
    "OUTBOX_MESSAGES",
    "READINGS_ACCEPTED",
    "READINGS_BUFFERED",
    "READINGS_DUPLICATE",
    "READINGS_REJECTED",
    "REJECTION_EVENTS",
    "SPOOL_BYTES",
    "SPOOL_DRAINED",
    "SPOOL_READINGS",
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
READINGS_BUFFERED = Counter(
    "stadswacht_readings_buffered_total",
    "Readings written to the ingest spool because the store was down (stored later)",
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
    "Messages whose publish on the bus failed and that went to the outbox",
)
SPOOL_READINGS = Gauge(
    "stadswacht_ingest_spool_readings", "Readings in the ingest spool, not yet stored"
)
SPOOL_BYTES = Gauge("stadswacht_ingest_spool_bytes", "Undrained bytes in the ingest spool")
SPOOL_DRAINED = Counter(
    "stadswacht_ingest_spool_drained_total",
    "Spooled readings drained into the store, by outcome (stored, duplicate, replay)",
    ["outcome"],
)
OUTBOX_MESSAGES = Gauge(
    "stadswacht_ingest_outbox_messages", "Messages waiting in the outbox for the bus"
)
OUTBOX_DROPPED = Counter(
    "stadswacht_ingest_outbox_dropped_total",
    "Unpublished messages dropped because the outbox was full (readings stay in the store)",
)
REJECTION_EVENTS = Counter(
    "stadswacht_rejection_events_total",
    "Rejection and duplicate events handed to the bus, by reason",
    ["reason"],
)

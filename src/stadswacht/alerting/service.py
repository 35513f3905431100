"""The alert service: hazard warnings from the bus in, CAP alerts out, to every channel.

For each new version of a hazard warning (a detection of kind ``hazard`` on
``stadswacht.detections.>``) it makes the CAP alert (:func:`alert_from_warning`), which
:func:`~stadswacht.alerting.cap.to_xml` checks against the OASIS schema and the rules, stores
it once (a redelivered warning is not issued twice), and then publishes it:

- in the store, for ``/cap/alerts/{identifier}.xml`` and ``/cap/feed.atom``;
- on the bus, ``stadswacht.alerts.<area>``, for the live dashboard;
- to every URL in ``cap_webhooks`` (POST ``application/cap+xml``, three tries with back-off);
- on the MQTT broker of ``mqtt_url`` under ``cap_mqtt_topic`` (QoS 1, retained).

An alert that fails the checks is not published: it is logged with every problem, and the
warning stays visible on the dashboard as a detection. This module does the I/O; the
mapping and the XML are pure (:mod:`~stadswacht.alerting.warning`, :mod:`~.cap`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx

from stadswacht.alerting.cap import Alert, Status, parse_cap, to_xml
from stadswacht.alerting.warning import alert_from_warning
from stadswacht.bus import Bus
from stadswacht.bus.base import DETECTIONS_PREFIX, Subscription
from stadswacht.config import Settings
from stadswacht.errors import CapError
from stadswacht.model import Detection
from stadswacht.store import Store, StoredAlert

__all__ = ["ALERTS_PREFIX", "AlertService", "issue_alert"]

log = logging.getLogger(__name__)

ALERTS_PREFIX = "stadswacht.alerts"
"""Bus subjects of issued CAP alerts: ``stadswacht.alerts.<area or _>``."""

CAP_CONTENT_TYPE = "application/cap+xml"


def issue_alert(
    store: Store,
    settings: Settings,
    warning: Detection,
    *,
    status: Status = Status.ACTUAL,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> StoredAlert | None:
    """Make, check and store the CAP alert for this version of ``warning``; blocking.

    Returns the stored alert, or ``None`` when this version was issued before (or a newer
    one was: an older version arriving late is not issued).

    Raises:
        CapError: the alert fails the schema or a rule (nothing is stored).
    """
    chain = sorted(store.list_alerts(detection=warning.id, limit=1000), key=lambda a: a.version)
    if chain and chain[-1].version >= warning.version:
        return None
    area = next((a for a in store.list_areas() if a.id == warning.area), None)
    previous = [parse_cap(a.xml) for a in chain]
    alert = alert_from_warning(
        warning,
        previous,
        sent=now().replace(microsecond=0),
        sender=settings.cap_sender,
        sender_name=settings.cap_sender_name,
        area=area,
        status=status,
    )
    xml = to_xml(alert)  # validates: nothing invalid leaves
    stored = StoredAlert(
        identifier=alert.identifier,
        sent_us=int(alert.sent.timestamp() * 1_000_000),
        detection=warning.id,
        version=warning.version,
        msg_type=alert.msg_type.value,
        area=warning.area,
        xml=xml,
    )
    return stored if store.put_alert(stored) else None


class AlertService:
    """Issues CAP alerts for the hazard warnings on one process's bus.

    Args:
        status: the CAP status of every alert (``Exercise`` when a scenario drives the
            platform).
    """

    def __init__(
        self,
        store: Store,
        bus: Bus,
        settings: Settings,
        *,
        status: Status = Status.ACTUAL,
        record: Callable[[list[dict[str, Any]]], None] | None = None,
    ) -> None:
        self.store = store
        self.record = record
        self.bus = bus
        self.settings = settings
        self.status = status
        self.issued = 0
        self.latencies_s: list[float] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._pushes: set[asyncio.Task[None]] = set()
        self._mqtt: Any = None

    async def start(self) -> None:
        """Subscribe to the detections and start issuing; returns once subscribed."""
        sub = await self.bus.subscribe(f"{DETECTIONS_PREFIX}.*.hazard")
        if self.settings.mqtt_url:
            self._mqtt = await asyncio.to_thread(self._connect_mqtt)
        self._tasks = [asyncio.create_task(self._consume(sub), name="alerts-consume")]

    async def stop(self) -> None:
        """Stop issuing; pushes under way are given a moment to finish."""
        tasks, self._tasks = self._tasks, []
        loop = asyncio.get_running_loop()
        for task in tasks:
            if task.get_loop() is loop:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self._pushes:
            await asyncio.wait(self._pushes, timeout=5)
        if self._mqtt is not None:
            self._mqtt.loop_stop()
            self._mqtt.disconnect()
            self._mqtt = None

    async def _consume(self, sub: Subscription) -> None:
        try:
            async for msg in sub:
                try:
                    await self._issue(Detection.model_validate_json(msg.data))
                except Exception:  # one bad warning must not stop the alerts
                    log.exception("issuing a CAP alert for %s failed", msg.msg_id)
                await msg.ack()
        finally:
            await sub.close()

    async def _issue(self, warning: Detection) -> None:
        started = time.monotonic()
        try:
            stored = await asyncio.to_thread(
                issue_alert, self.store, self.settings, warning, status=self.status
            )
        except CapError as exc:
            log.error(
                "CAP alert for warning %s v%d NOT issued: %s",
                warning.id,
                warning.version,
                "; ".join(exc.problems),
            )
            return
        if stored is None:
            return
        self.issued += 1
        if self.record is not None:  # every public alert goes on the audit log
            entry = {
                "actor": "system", "actor_agency": warning.agency, "action": "alert",
                "object_kind": "alert", "object_id": stored.identifier, "owner": warning.agency,
                "purpose": "public-warning", "outcome": "allow", "reason": stored.msg_type,
                "warning": warning.id, "version": warning.version,
            }  # fmt: skip
            await asyncio.to_thread(self.record, [entry])
        subject = f"{ALERTS_PREFIX}.{stored.area or '_'}"
        await asyncio.to_thread(self.bus.publish, [(subject, stored.xml, stored.identifier)])
        self.latencies_s.append(time.monotonic() - started)
        log.info("CAP alert %s (%s) issued", stored.identifier, stored.msg_type)
        for url in self.settings.cap_webhooks:
            self._spawn(self._post(url, stored))
        if self._mqtt is not None:
            topic = f"{self.settings.cap_mqtt_topic}/{stored.area or warning.sensors[0]}"
            self._mqtt.publish(topic, stored.xml, qos=1, retain=True)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._pushes.add(task)
        task.add_done_callback(self._pushes.discard)

    async def _post(self, url: str, alert: StoredAlert) -> None:
        delay = 0.5
        async with httpx.AsyncClient(timeout=5.0) as client:
            for attempt in range(1, 4):
                try:
                    r = await client.post(
                        url, content=alert.xml, headers={"Content-Type": CAP_CONTENT_TYPE}
                    )
                    if r.status_code < 300:
                        return
                    problem = f"HTTP {r.status_code}"
                except httpx.HTTPError as exc:
                    problem = str(exc) or type(exc).__name__
                log.warning(
                    "webhook %s refused CAP alert %s (try %d of 3): %s",
                    url,
                    alert.identifier,
                    attempt,
                    problem,
                )
                await asyncio.sleep(delay)
                delay *= 2

    def _connect_mqtt(self) -> Any:
        import paho.mqtt.client as paho
        from paho.mqtt.enums import CallbackAPIVersion

        from stadswacht.ingest.mqtt import parse_mqtt_url

        assert self.settings.mqtt_url is not None
        host, port, tls, user, password = parse_mqtt_url(self.settings.mqtt_url)
        client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=f"{self.settings.mqtt_client_id}-cap"
        )
        username = self.settings.mqtt_username or user
        if username:
            client.username_pw_set(username, self.settings.mqtt_password or password)
        if tls:
            client.tls_set()
        client.connect_async(host, port)
        client.loop_start()
        return client


def alert_of(stored: StoredAlert) -> Alert:
    """The alert model of a stored alert (parsed from the XML that left)."""
    return parse_cap(stored.xml)

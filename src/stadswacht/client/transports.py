"""Pick a transport from a URL: ``http(s)://`` for the platform, ``mqtt(s)://`` for a broker.

>>> open_transport("https://stadswacht.example.org")
HttpTransport('https://stadswacht.example.org/v1/readings')
>>> open_transport("mqtts://iz-wx-01:s3cret@broker.example.org")
MqttTransport('broker.example.org', 8883, username='iz-wx-01')
"""

from __future__ import annotations

import ssl
from typing import Any
from urllib.parse import unquote, urlsplit

from stadswacht.client.base import Transport
from stadswacht.client.http import HttpTransport
from stadswacht.client.mqtt import MqttTransport

__all__ = ["open_transport"]


def open_transport(
    url: str, *, username: str | None = None, password: str | None = None, **kw: Any
) -> Transport:
    """An :class:`HttpTransport` or :class:`MqttTransport` for ``url``.

    An MQTT URL may carry the broker user and password (``mqtt://user:password@host:1883``);
    ``username`` and ``password`` override them. ``mqtts://`` connects with TLS (the system's
    CA certificates) on port 8883 by default. Other keyword arguments go to the transport.

    Raises:
        ValueError: the URL's scheme is none of http, https, mqtt, mqtts.
    """
    parts = urlsplit(url)
    if parts.scheme in ("http", "https"):
        return HttpTransport(url, **kw)
    if parts.scheme in ("mqtt", "mqtts") and parts.hostname:
        tls = parts.scheme == "mqtts"
        return MqttTransport(
            parts.hostname,
            parts.port or (8883 if tls else 1883),
            username=username or (unquote(parts.username) if parts.username else None),
            password=password or (unquote(parts.password) if parts.password else None),
            tls=ssl.create_default_context() if tls else None,
            **kw,
        )
    raise ValueError(
        f"{url!r} is not a platform or broker URL; use https://host, http://host:8000, "
        "mqtt://user:password@host:1883 or mqtts://user:password@host:8883"
    )

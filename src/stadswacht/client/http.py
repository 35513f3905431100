"""HTTP transport: ``POST /v1/readings`` with httpx.

A batch goes as ``{"readings": [...]}`` (``application/json``), or as NDJSON (one reading a
line, ``application/x-ndjson``) from ``ndjson_from`` items on, which the platform parses line
by line. The platform answers per item.

Status codes, and what the client makes of them:

- 2xx: the per-item answer.
- 429 and 5xx: :class:`~stadswacht.client.base.RetryLater`, with ``Retry-After`` if given.
- 413: :class:`~stadswacht.errors.PayloadTooLarge`; the client sends fewer at a time.
- 400: the body was not understood; every item is rejected as ``malformed`` (final).
- any other 4xx (a wrong URL, a proxy that wants a login): :class:`TransportError`, so the
  readings stay buffered until the configuration is fixed.
"""

from __future__ import annotations

import email.utils
import json
import ssl
import time
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from stadswacht.client.base import Answer, Item, RetryLater
from stadswacht.errors import PayloadTooLarge, TransportError

__all__ = ["HttpTransport", "parse_retry_after"]

PATH = "/v1/readings"


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """A ``Retry-After`` header (seconds, or an HTTP date) as seconds from now.

    >>> parse_retry_after("7")
    7.0
    >>> parse_retry_after("Thu, 01 Jan 1970 00:01:00 GMT", now=30.0)
    30.0
    >>> parse_retry_after("soon") is None
    True
    """
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _detail(response: httpx.Response) -> str:
    try:
        doc = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(doc, dict) and "detail" in doc:
        return str(doc["detail"])
    return str(doc)[:200]


class HttpTransport:
    """Sends batches to ``{base_url}/v1/readings``.

    Args:
        base_url: the platform, e.g. ``https://stadswacht.example.org``.
        timeout: connect, read and write timeout [s].
        ndjson_from: batches of at least this many items go as NDJSON.
        headers: extra headers (e.g. for a proxy in front of the platform).
        verify: TLS verification, as httpx takes it (an ``ssl.SSLContext``, a CA bundle path,
            or ``False`` for a test server only).
        client: an httpx client to use instead of making one (it is not closed by ``close``).

    Example::

        transport = HttpTransport("https://stadswacht.example.org")
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 10.0,
        ndjson_from: int = 1000,
        headers: Mapping[str, str] | None = None,
        verify: ssl.SSLContext | str | bool = True,
        client: httpx.Client | None = None,
    ) -> None:
        self.url = base_url.rstrip("/") + PATH
        self.ndjson_from = ndjson_from
        self._own = client is None
        self._client = client or httpx.Client(
            timeout=timeout, headers=dict(headers or {}), verify=verify
        )

    def __repr__(self) -> str:
        return f"HttpTransport({self.url!r})"

    def _body(self, items: Sequence[Item]) -> tuple[bytes, str]:
        if len(items) >= self.ndjson_from:
            lines = (json.dumps(i, separators=(",", ":"), ensure_ascii=False) for i in items)
            return ("\n".join(lines) + "\n").encode("utf-8"), "application/x-ndjson"
        doc: dict[str, Any] = {"readings": list(items)}
        return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode(
            "utf-8"
        ), "application/json"

    def send(self, items: Sequence[Item]) -> Answer:
        """POST ``items``; the platform's per-item answer (see the module for status codes)."""
        body, ctype = self._body(items)
        try:
            response = self._client.post(self.url, content=body, headers={"content-type": ctype})
        except httpx.HTTPError as exc:
            raise TransportError(
                f"cannot reach {self.url}: {type(exc).__name__}: {exc}; the readings are kept "
                "and sent again"
            ) from exc
        code = response.status_code
        if code == 429 or code >= 500:
            raise RetryLater(
                f"{self.url} answered {code}: {_detail(response)}",
                parse_retry_after(response.headers.get("retry-after")),
            )
        if code == 413:
            raise PayloadTooLarge(f"{self.url} refused {len(items)} items: {_detail(response)}")
        if code == 400:
            message = f"the platform could not parse the batch: {_detail(response)}"
            return Answer(0, rejected=tuple((i, "malformed", message) for i in range(len(items))))
        if code >= 300:
            raise TransportError(
                f"{self.url} answered {code}: {_detail(response)}; check the platform URL"
            )
        try:
            return Answer.from_json(response.json())
        except ValueError as exc:
            # A 2xx without our answer (a captive portal, a misrouted proxy): not delivered.
            raise TransportError(
                f"{self.url} answered {code} but not as the platform: {exc}"
            ) from exc

    def close(self) -> None:
        """Close the connection pool (unless the client was given)."""
        if self._own:
            self._client.close()

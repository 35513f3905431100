"""The HTTP transport: JSON and NDJSON bodies, and what each status code leads to."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from stadswacht.client import Backoff, DeviceClient, HttpTransport, RetryLater
from stadswacht.errors import PayloadTooLarge, TransportError
from tests.client.conftest import Api

KEY = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
READING = {"device": "d1", "seq": 1, "time": "2026-11-25T02:13:07.000000Z", "kind": "heartbeat"}


def mocked(handler: Callable[[httpx.Request], httpx.Response], **kw: object) -> HttpTransport:
    client = httpx.Client(transport=httpx.MockTransport(handler))
    return HttpTransport("http://platform.test/", client=client, **kw)  # type: ignore[arg-type]


def answer(n: int) -> httpx.Response:
    return httpx.Response(200, json={"accepted": n, "duplicates": [], "rejected": []})


def test_a_batch_is_posted_as_json_and_a_large_one_as_ndjson() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer(0)

    t = mocked(handler, ndjson_from=3)
    t.send([READING, READING])
    t.send([READING, READING, READING])
    small, large = seen
    assert str(small.url) == "http://platform.test/v1/readings"
    assert small.headers["content-type"] == "application/json"
    assert json.loads(small.content) == {"readings": [READING, READING]}
    assert large.headers["content-type"] == "application/x-ndjson"
    assert [json.loads(line) for line in large.content.splitlines()] == [READING] * 3


def test_ndjson_batches_are_accepted_by_the_platform(api: Api) -> None:
    key = api.register("iz-wx-01")
    transport = HttpTransport(api.url, ndjson_from=2)
    with DeviceClient("iz-wx-01", key, transport, batch_size=10) as client:
        for i in range(5):
            client.queue("temperature", {"temperature_c": float(i)})
        assert client.flush().accepted == 5


@pytest.mark.parametrize(
    ("code", "headers", "after"),
    [
        (503, {"Retry-After": "5"}, 5.0),
        (429, {"Retry-After": "Thu, 01 Jan 1970 00:00:00 GMT"}, 0.0),
        (502, {}, None),
    ],
)
def test_429_and_5xx_mean_retry_later(
    code: int, headers: dict[str, str], after: float | None
) -> None:
    t = mocked(lambda r: httpx.Response(code, headers=headers, json={"detail": "busy"}))
    with pytest.raises(RetryLater, match="busy") as err:
        t.send([READING])
    assert err.value.retry_after == after
    assert isinstance(err.value, TransportError)


def test_the_client_waits_as_long_as_retry_after_says() -> None:
    calls = iter([httpx.Response(503, headers={"Retry-After": "7"}), answer(1)])
    slept: list[float] = []
    client = DeviceClient(
        "d1",
        KEY,
        mocked(lambda r: next(calls)),
        backoff=Backoff(base=0.1, cap=1.0),
        sleep=slept.append,
        monotonic=lambda: 0.0,
    )
    client.queue("heartbeat", {})
    assert client.flush().accepted == 1
    assert slept == [7.0]


def test_unreachable_and_foreign_answers_are_transport_errors() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(TransportError, match="cannot reach"):
        mocked(refuse).send([READING])
    with pytest.raises(TransportError, match="404"):
        mocked(lambda r: httpx.Response(404, json={"detail": "Not Found"})).send([READING])
    with pytest.raises(TransportError, match="not as the platform"):
        mocked(lambda r: httpx.Response(200, text="<html>login</html>")).send([READING])


def test_a_400_rejects_every_item_for_good() -> None:
    t = mocked(lambda r: httpx.Response(400, json={"detail": "malformed: body is not JSON"}))
    result = t.send([READING, READING])
    assert [(i, reason) for i, reason, _ in result.rejected] == [(0, "malformed"), (1, "malformed")]


def test_a_batch_too_large_is_split_until_it_fits() -> None:
    sizes: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        n = len(json.loads(request.content)["readings"])
        sizes.append(n)
        if n > 3:
            return httpx.Response(413, json={"detail": f"batch of {n} exceeds the limit of 3"})
        return answer(n)

    client = DeviceClient("d1", KEY, mocked(handler), max_batch=10, batch_size=100)
    for _ in range(10):
        client.queue("heartbeat", {})
    report = client.flush()
    assert (report.accepted, report.pending) == (10, 0)
    assert sizes == [10, 5, 2, 2, 2, 2, 2]  # halved until accepted, then kept at that size


def test_a_single_reading_too_large_is_rejected_locally() -> None:
    t = mocked(lambda r: httpx.Response(413, json={"detail": "body exceeds the limit"}))
    with pytest.raises(PayloadTooLarge):
        t.send([READING])
    client = DeviceClient("d1", KEY, t, max_batch=2)
    client.queue("heartbeat", {})
    report = client.flush()
    assert [r.reason for r in report.rejected] == ["payload_too_large"]
    assert client.pending == 0

"""The retry policy as pure decisions plus a fake clock: what is transient, how long to wait,
when to give up."""

from __future__ import annotations

import socket

import httpx
import pytest

from jupyter_spackcache.errors import MirrorError, NotFoundError
from jupyter_spackcache.mirrors.retry import (
    Retrier,
    RetryPolicy,
    Transient,
    backoff_delay,
    parse_retry_after,
    transient_exception,
    transient_status,
    wait_for,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def retrier(clock: FakeClock, **policy: float) -> Retrier:
    return Retrier(RetryPolicy(**policy), clock=clock, sleep=clock.sleep, jitter=lambda: 0.5)  # type: ignore[arg-type]


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_transient_statuses(status: int) -> None:
    assert transient_status(status)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 416, 501])
def test_permanent_statuses(status: int) -> None:
    assert not transient_status(status)


def test_transient_exceptions() -> None:
    assert transient_exception(httpx.ReadTimeout("slow"))
    assert transient_exception(httpx.ConnectError("refused"))
    assert transient_exception(httpx.RemoteProtocolError("peer closed connection"))
    assert transient_exception(httpx.ReadError("reset"))
    assert not transient_exception(httpx.UnsupportedProtocol("gopher"))
    dns = httpx.ConnectError("lookup")
    dns.__cause__ = socket.gaierror(-2, "Name or service not known")
    assert not transient_exception(dns)


def test_retry_after_forms() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    # an HTTP date 30 s after "now"
    assert parse_retry_after("Thu, 01 Jan 1970 00:00:30 GMT", now=0.0) == 30.0
    assert parse_retry_after("Thu, 01 Jan 1970 00:00:30 GMT", now=100.0) == 0.0


def test_backoff_grows_with_jitter_and_is_capped() -> None:
    policy = RetryPolicy(base=1.0, cap=4.0)
    assert [backoff_delay(policy, a, 0.0) for a in range(4)] == [0.5, 1.0, 2.0, 2.0]
    assert [backoff_delay(policy, a, 1.0) for a in range(4)] == [1.0, 2.0, 4.0, 4.0]
    assert wait_for(policy, 0, retry_after=100.0, jitter=0.0) == policy.retry_after_cap
    assert wait_for(policy, 3, retry_after=2.0, jitter=0.0) == 2.0


def test_call_retries_transient_then_succeeds_and_counts() -> None:
    clock = FakeClock()
    r = retrier(clock, base=1.0)
    outcomes: list[object] = [Transient(MirrorError("u: cut")), Transient(MirrorError("u: 503"))]

    def attempt() -> str:
        if outcomes:
            raise outcomes.pop(0)  # type: ignore[misc]
        return "ok"

    assert r.call("index", attempt) == "ok"
    assert r.count == 2 and r.by_kind == {"index": 2}
    assert clock.slept == [0.75, 1.5]


def test_permanent_error_fails_at_once() -> None:
    clock = FakeClock()
    r = retrier(clock)
    calls = 0

    def attempt() -> None:
        nonlocal calls
        calls += 1
        raise NotFoundError("u not found (HTTP 404)")

    with pytest.raises(NotFoundError):
        r.call("metadata", attempt)
    assert calls == 1 and r.count == 0 and clock.slept == []


def test_gives_up_after_attempts_naming_them() -> None:
    clock = FakeClock()
    r = retrier(clock, attempts=3)

    def attempt() -> None:
        raise Transient(MirrorError("http://m/x: server error (HTTP 503)", hint="later"))

    with pytest.raises(MirrorError) as info:
        r.call("tarball", attempt)
    assert str(info.value) == "http://m/x: server error (HTTP 503); gave up after 3 attempts"
    assert info.value.hint == "later" and r.count == 2


def test_deadline_stops_retrying_before_it_passes() -> None:
    clock = FakeClock()
    r = retrier(clock, attempts=100, base=10.0, cap=10.0, deadline=30.0)
    r.begin()

    def attempt() -> None:
        raise Transient(MirrorError("http://m/x: timed out after 30 s"))

    with pytest.raises(MirrorError, match=r"gave up: the deadline of 30 s passed$"):
        r.call("index", attempt)
    assert clock.now < 30.0


def test_retry_after_is_honoured_and_capped() -> None:
    clock = FakeClock()
    r = retrier(clock, retry_after_cap=5.0)
    answers = [
        Transient(MirrorError("a"), retry_after=2.0),
        Transient(MirrorError("b"), retry_after=60.0),
    ]

    def attempt() -> str:
        if answers:
            raise answers.pop(0)
        return "ok"

    assert r.call("token", attempt) == "ok"
    assert clock.slept == [2.0, 5.0]

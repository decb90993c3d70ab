"""One retry policy for every request an install makes.

Networks fail in two ways. Some failures say nothing about the next attempt: a reset or cut
connection, a body shorter than announced, a timeout, an overloaded server (429, 500, 502,
503, 504). Others will say the same thing again: 404, 403, a checksum that does not match, a
bad signature. The first kind is retried with jittered exponential back-off (or after the
server's ``Retry-After``, capped), the second fails at once. Every transport (HTTP, S3, OCI,
the async tarball downloader) raises :class:`Transient` for the first kind and asks one
:class:`Retrier` how long to wait, so index, metadata, peeks, tarballs, keys and OCI tokens all
behave alike, the retries are counted in one place, and an install as a whole stops at its
deadline instead of retrying forever.

The decisions (:func:`transient_status`, :func:`transient_exception`,
:func:`parse_retry_after`, :func:`backoff_delay`) are pure; :class:`Retrier` adds the clock.
On the happy path nothing here runs but one ``try``.
"""

from __future__ import annotations

import dataclasses
import email.utils
import random
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from jupyter_spackcache.netconfig import RetryPolicy

__all__ = ["Pace", "Retrier", "RetryPolicy", "Transient", "retrier_for"]

if TYPE_CHECKING:
    from jupyter_spackcache.errors import MirrorError

T = TypeVar("T")

#: statuses that a later attempt can cure: overload, a gateway between restarts, rate limits
TRANSIENT_STATUS = frozenset({408, 429, 500, 502, 503, 504})


class Transient(Exception):
    """One attempt failed in a way another attempt may not.

    ``keep``: the bytes received so far are good and a resumed request may continue them.
    ``retry_after``: seconds the server asked us to wait, if it said.
    """

    def __init__(
        self, error: MirrorError, *, retry_after: float | None = None, keep: bool = True
    ) -> None:
        super().__init__(error.message)
        self.error = error
        self.retry_after = retry_after
        self.keep = keep


# --------------------------------------------------------------------------- pure decisions


def transient_status(status: int) -> bool:
    """Whether an HTTP status may be different on the next attempt."""
    return status in TRANSIENT_STATUS


def transient_exception(exc: BaseException) -> bool:
    """Whether an httpx failure is worth another attempt (a DNS failure is not)."""
    import ssl

    import httpx  # only failures get here

    cause: BaseException | None = exc
    for _ in range(32):  # a chain of causes, never a cycle
        if cause is None:
            break
        if isinstance(cause, (socket.gaierror, ssl.SSLCertVerificationError)):
            return False
        cause = cause.__cause__ or cause.__context__
    if isinstance(exc, (httpx.UnsupportedProtocol, httpx.ProxyError)):
        return False
    return isinstance(exc, httpx.TransportError)


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def backoff_delay(policy: RetryPolicy, attempt: int, jitter: float) -> float:
    """Seconds before retry ``attempt`` (0-based): half the exponential step plus a random
    half, so that a thousand clients cut off together do not come back together."""
    step = min(policy.cap, policy.base * float(2**attempt))
    return step / 2 + step / 2 * jitter


def wait_for(policy: RetryPolicy, attempt: int, retry_after: float | None, jitter: float) -> float:
    """The wait before retry ``attempt``: the server's wish (capped) or the back-off."""
    if retry_after is not None:
        return min(retry_after, policy.retry_after_cap)
    return backoff_delay(policy, attempt, jitter)


def gave_up(error: MirrorError, reason: str) -> MirrorError:
    """The last attempt's error, saying why there is no other."""
    return type(error)(f"{error.message}; {reason}", hint=error.hint)


# --------------------------------------------------------------------------- the stateful part


class Pace:
    """Watches one body arrive; :meth:`slow` says when a whole ``timeout`` window brought
    fewer than ``min_bytes`` (a crawling server is a failure, retried like a timeout)."""

    __slots__ = ("_clock", "_got", "_min", "_since", "_window")

    def __init__(self, policy: RetryPolicy, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock, self._window, self._min = clock, policy.timeout, policy.min_bytes
        self._since, self._got = clock(), 0

    @property
    def window(self) -> float:
        """The policy's timeout: seconds per window, and between two reads."""
        return self._window

    def slow(self, received: int) -> bool:
        """Count ``received`` bytes; True when the window that just ended was too slow."""
        self._got += received
        now = self._clock()
        if now - self._since < self._window:
            return False
        too_slow = self._got < self._min
        self._since, self._got = now, 0
        return too_slow

    def error(self, shown: str) -> MirrorError:
        from jupyter_spackcache.errors import MirrorError

        return MirrorError(
            f"{shown}: too slow (fewer than {self._min} bytes in {self._window:g} s)",
            hint="the server or a proxy is overloaded; retry later",
        )


@dataclass
class Retrier:
    """One policy applied to all requests of an operation, counting what it retried.

    Shared by every reader and the downloader of one install (threads included).
    """

    policy: RetryPolicy = field(default_factory=RetryPolicy)
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    jitter: Callable[[], float] = random.random
    #: retries made so far, in total and per kind of request
    count: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    _ends: float | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> None:
        """Start the operation's deadline now unless it runs already (an install continues
        the deadline of its plan)."""
        if self._ends is None:
            self._ends = self.clock() + self.policy.deadline

    def begin(self) -> None:
        """Start a new operation's deadline now (a long-lived session plans many times)."""
        self._ends = self.clock() + self.policy.deadline

    def left(self) -> float | None:
        """Seconds left before the deadline, or None when no deadline runs."""
        return None if self._ends is None else self._ends - self.clock()

    def delay(self, attempt: int, failure: Transient, kind: str) -> float:
        """Seconds to wait before retrying ``failure``; raises the error when there is no
        retry left (attempts used up, or the wait would pass the deadline)."""
        if attempt + 1 >= self.policy.attempts:
            if attempt == 0:
                raise failure.error from None
            raise gave_up(failure.error, f"gave up after {attempt + 1} attempts") from None
        wait = wait_for(self.policy, attempt, failure.retry_after, self.jitter())
        left = self.left()
        if left is not None and wait >= left:
            raise gave_up(
                failure.error, f"gave up: the deadline of {self.policy.deadline:g} s passed"
            ) from None
        with self._lock:
            self.count += 1
            self.by_kind[kind] = self.by_kind.get(kind, 0) + 1
        return wait

    def call(self, kind: str, attempt_once: Callable[[], T]) -> T:
        """``attempt_once()`` until it returns, raises a permanent error, or retries run out."""
        attempt = 0
        while True:
            try:
                return attempt_once()
            except Transient as failure:
                self.sleep(self.delay(attempt, failure, kind))
            attempt += 1


def retrier_for(retries: int | None = None, *, timeout: float | None = None) -> Retrier:
    """A retrier with the default policy, or ``retries`` retries after the first attempt."""
    policy = RetryPolicy()
    if retries is not None:
        policy = dataclasses.replace(policy, attempts=max(1, retries + 1))
    if timeout is not None:
        policy = dataclasses.replace(policy, timeout=timeout)
    return Retrier(policy)

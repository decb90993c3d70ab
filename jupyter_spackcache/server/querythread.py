"""Queries off the event loop: one thread (the "core thread") owning a long-lived Session.

The Session keeps mirror indices and readers open between requests (that is what makes
``GET /specs`` fast), and it is not meant to be shared between threads, so every query runs
on the same single thread. Installs do not: each task builds its own Session in a child
process (``tasks/child.py``, ``tasks/worker.py``), so a long install never holds up a listing.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from ..config import Config
from ..session import Session

_T = TypeVar("_T")
#: what the query memo keeps at most, all keys together, in :func:`_weight` units (values in
#: the results: about 100 bytes each once the strings and containers are counted)
MEMO_WEIGHT = 300_000


def _weight(value: Any) -> int:
    """A result's size for the memo: how many values it holds, however deeply (no recursion)."""
    count = 0
    stack = [value]
    while stack:
        item = stack.pop()
        count += 1
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return count


class QueryThread:
    """``stamp()`` says what the config files look like; when it changes, the next call
    starts from a fresh Session, so an edit of the site or user YAML reaches every route at
    once (and a broken edit is the same one-line error, with its line, on every route)."""

    def __init__(
        self, config_factory: Callable[[], Config], stamp: Callable[[], object] = lambda: None
    ) -> None:
        self._config_factory = config_factory
        self._stamp = stamp
        self._seen: object = stamp()
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="spackcache-core")
        self._session: Session | None = None
        #: query results kept until the mirror set or an index changes (core thread only),
        #: least recently used first, each with its size in items
        self._memo: OrderedDict[Any, tuple[Any, int]] = OrderedDict()
        self._memo_items = 0

    def config(self) -> Config:
        return self._config_factory()

    async def run(self, work: Callable[[Session], _T], *, invalidate: bool = False) -> _T:
        """``work(session)`` on the core thread; its SpackCacheError propagates to the handler.

        ``invalidate``: the work changes configuration (mirrors), so afterwards the session and
        every memoised result are dropped, even when the work failed half-way.
        """
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._call, work, invalidate)

    def _call(self, work: Callable[[Session], _T], invalidate: bool) -> _T:
        stamp = self._stamp()
        if stamp != self._seen:
            self.invalidate()
            self._seen = stamp
        if self._session is None:
            self._session = Session(self._config_factory())
        try:
            return work(self._session)
        finally:
            if invalidate:
                self.invalidate()

    def warm_up(self) -> None:
        """Open the cached mirror indices and detect the host in the background, so the first
        search after a server start does not pay for it (no network: cached indices only)."""

        def warm(session: Session) -> None:
            session.indices(refresh=False)
            _ = session.host

        def guarded() -> None:
            try:
                self._call(warm, False)
            except Exception:  # a broken mirror surfaces on the first real request instead
                self.invalidate()

        self._executor.submit(guarded)

    def memo(self, key: Any, compute: Callable[[], _T]) -> _T:
        """``compute()`` once per ``key`` until the next invalidation (core thread only).

        Least recently used results go first once the memo holds more than
        :data:`MEMO_WEIGHT` values in all (a hub user's server runs for days and every
        distinct search is a new key), so memory stays bounded whatever is asked.
        """
        memo = self._memo
        if key in memo:
            memo.move_to_end(key)
            found: _T = memo[key][0]
            return found
        value = compute()
        size = _weight(value)
        memo[key] = (value, size)
        self._memo_items += size
        while self._memo_items > MEMO_WEIGHT and len(memo) > 1:
            _, (_, dropped) = memo.popitem(last=False)
            self._memo_items -= dropped
        return value

    def invalidate(self) -> None:
        """Forget the session and memo (core thread): the next call re-reads the config."""
        if self._session is not None:
            self._session.close()
        self._session = None
        self._memo.clear()
        self._memo_items = 0

    def shutdown(self) -> None:
        self._executor.submit(self.invalidate)
        self._executor.shutdown(wait=True, cancel_futures=True)

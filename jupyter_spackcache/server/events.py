"""Task events pushed to the panel as Server-Sent Events: smooth progress without polling.

Install threads publish; the hub hands each event to the event loop, keeps a short backlog
(so a client that subscribes late, or reconnects with ``Last-Event-ID``, misses nothing) and
fans it out to subscribers. ``GET /spackcache/api/events[?task=ID]`` is the stream
(:mod:`.handlers.events`); this module imports neither tornado nor the handlers, so the task
manager can publish without depending on the web layer.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class StreamEvent:
    """One event: ``kind`` is "task" (a state change, with the task summary) or "progress"."""

    id: int
    kind: str
    task: str
    data: dict[str, Any]

    def encode(self) -> bytes:
        payload = json.dumps({"task": self.task, **self.data}, separators=(",", ":"))
        return f"id: {self.id}\nevent: {self.kind}\ndata: {payload}\n\n".encode()

    @property
    def ends_task(self) -> bool:
        return self.kind == "task" and self.data.get("state") not in {"queued", "running"}


class EventHub:
    """Thread-safe publish, loop-side fan-out to ``asyncio.Queue`` subscribers."""

    def __init__(self, loop: asyncio.AbstractEventLoop, backlog: int = 2000) -> None:
        self._loop = loop
        self._ids = itertools.count(1)
        self._id_lock = threading.Lock()
        self._backlog: deque[StreamEvent] = deque(maxlen=backlog)
        self._subscribers: set[asyncio.Queue[StreamEvent]] = set()

    def publish(self, kind: str, task: str, data: dict[str, Any]) -> None:
        """Callable from any thread; events keep their publish order."""
        with self._id_lock:
            event = StreamEvent(next(self._ids), kind, task, data)
            with contextlib.suppress(RuntimeError):  # a closed loop: the server is stopping
                self._loop.call_soon_threadsafe(self._fan_out, event)

    def _fan_out(self, event: StreamEvent) -> None:
        self._backlog.append(event)
        for queue in self._subscribers:
            queue.put_nowait(event)

    def subscribe(self) -> tuple[list[StreamEvent], asyncio.Queue[StreamEvent]]:
        """The backlog so far and a queue of every later event (call on the loop)."""
        queue: asyncio.Queue[StreamEvent] = asyncio.Queue()
        self._subscribers.add(queue)
        return list(self._backlog), queue

    def unsubscribe(self, queue: asyncio.Queue[StreamEvent]) -> None:
        self._subscribers.discard(queue)


def replay(
    backlog: Iterable[StreamEvent], *, task: str | None, after: int | None
) -> list[StreamEvent]:
    """Backlog events a (re)connecting client should get first."""
    return [
        e for e in backlog if (task is None or e.task == task) and (after is None or e.id > after)
    ]

"""The engine thread → UI thread bridge: events queued without blocking, delivered in batches.

The engine calls `put` for every event, hundreds of text deltas a second among them, on its own
thread. `put` appends to a deque and, only when no delivery is pending, asks the UI to wake up
(one thread-safe call per batch, not per delta). The UI thread calls `take` once per frame: it
gets everything queued, with runs of reasoning deltas and runs of answer deltas each joined
into one event, so the cost of a frame depends on how much text arrived, not on how many
fragments it came in or on how long the exchange already is.

Items that are not events (the app's own markers, like "a job finished") travel in the same
queue, so they arrive in order with the events around them.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable

from glmcode.engine.events import ReasoningDelta, TextDelta


class EventBridge:
    """A thread-safe queue with at most one pending wake-up call."""

    def __init__(self, wake: Callable[[], object]) -> None:
        """`wake` is called (from any thread) when items wait and no delivery is pending."""
        self._wake = wake
        self._queue: deque[object] = deque()
        self._lock = threading.Lock()
        self._scheduled = False
        self.received = 0
        """How many items were put, ever (the benchmark's delta counter)."""

    def put(self, item: object) -> None:
        """Queue `item`; never blocks on the UI."""
        self._queue.append(item)
        self.received += 1
        if self._scheduled:
            return
        with self._lock:
            if self._scheduled:
                return
            self._scheduled = True
        self._wake()

    def take(self, max_chars: int | None = None) -> list[object]:
        """What is queued, deltas coalesced; the next `put` wakes the UI again (UI thread).

        With `max_chars`, taking stops once that much streamed text is taken, so one frame never
        has to lay out a whole burst; `pending` then says that more is waiting.
        """
        with self._lock:
            self._scheduled = False
        items: list[object] = []
        queue = self._queue
        chars = 0
        while max_chars is None or chars < max_chars:
            try:
                item = queue.popleft()
            except IndexError:
                break
            items.append(item)
            if type(item) is ReasoningDelta or type(item) is TextDelta:
                chars += len(item.text)  # type: ignore[attr-defined]
        return coalesce(items)

    @property
    def pending(self) -> int:
        return len(self._queue)


def coalesce(items: list[object]) -> list[object]:
    """Join each run of consecutive `ReasoningDelta` events, and of `TextDelta` events, into one event."""
    out: list[object] = []
    run: list[str] = []
    kind: type[ReasoningDelta] | type[TextDelta] | None = None

    def close() -> None:
        if kind is not None:
            out.append(kind.model_construct(text="".join(run)))
            run.clear()

    for item in items:
        item_kind = type(item)
        if item_kind is ReasoningDelta or item_kind is TextDelta:
            if item_kind is not kind:
                close()
                kind = item_kind
            run.append(item.text)  # type: ignore[attr-defined]
        else:
            close()
            kind = None
            out.append(item)
    close()
    return out

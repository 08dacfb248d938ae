"""What the app runs on the engine thread (`Job`) and the markers it sends back through the bridge."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass
class UiCall:
    """A marker in the event queue: run `callback` on the UI thread when the queue reaches it."""

    callback: Callable[[], object]


@dataclass
class Job:
    """Work for the engine thread, with what the UI shows for it."""

    label: str
    """What the status bar says while it runs ("thinking", "goal", ...)."""
    work: Callable[[], Any]
    exchange: tuple[str, str] | None = None
    """(prompt, label) of the exchange it opens in the conversation, if any."""
    interruptible: bool = False
    """A model run that Esc stops (and that makes quitting exit 130)."""
    done: Callable[[Any], None] | None = None
    """Called on the UI thread with `work`'s return value."""
    text: str = ""
    """The prompt as typed, given back to the input if the job is dropped."""

"""`--output-format stream-json` and `json`: events as JSON lines on stdout."""

from __future__ import annotations

import sys
from typing import TextIO

from glmcode.engine.events import Event, Result


class JsonLinesRenderer:
    """Every event as one JSON line, flushed as it happens (stream-json)."""

    def __init__(self, out: TextIO = sys.stdout) -> None:
        self.out = out

    def __call__(self, event: Event) -> None:
        self.out.write(event.to_json() + "\n")
        self.out.flush()


class ResultOnlyRenderer:
    """Only the final `result` object (json)."""

    def __init__(self, out: TextIO = sys.stdout) -> None:
        self.out = out

    def __call__(self, event: Event) -> None:
        if isinstance(event, Result):
            self.out.write(event.to_json() + "\n")
            self.out.flush()

"""`--output-format text`: a run as a person reads it.

Reasoning is dimmed, the answer is plain, each tool call is one line and its result a short
summary; the words and numbers come from `glmcode.ui.present`, as in every front end. Colour only
on a terminal (or with FORCE_COLOR), never with NO_COLOR.
"""

from __future__ import annotations

import os
import sys
from typing import TextIO

from glmcode.engine.events import (
    Compaction,
    Error,
    Event,
    Plan,
    ReasoningDelta,
    Result,
    Retry,
    SessionStart,
    Stage,
    TextDelta,
    ToolCall,
    ToolResultEvent,
    Verify,
)
from glmcode.ui import present

TONE_CODES: dict[present.Tone, str] = {"ok": "32", "failed": "31", "exited": "33", "warning": "33", "neutral": "0"}
"""The SGR colour of each tone of `glmcode.ui.present`."""


def use_color(out: TextIO) -> bool:
    """Whether to colour `out`: never with NO_COLOR set (non-empty), always with FORCE_COLOR, else on a terminal."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return hasattr(out, "isatty") and out.isatty()


class TextRenderer:
    """Writes events as readable lines to `out`, errors and retries to `err`; the words are `present`'s."""

    def __init__(self, out: TextIO = sys.stdout, err: TextIO = sys.stderr, color: bool | None = None) -> None:
        self.out, self.err = out, err
        self.color = use_color(out) if color is None else color
        self._open: str | None = None

    def _style(self, text: str, code: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.color else text

    def _mark(self, mark: str, tone: present.Tone) -> str:
        return self._style(mark, TONE_CODES[tone])

    def _line(self, text: str, stream: TextIO | None = None) -> None:
        self._end_stream()
        (stream or self.out).write(text + "\n")
        (stream or self.out).flush()

    def _end_stream(self) -> None:
        if self._open is not None:
            self.out.write("\n")
            self._open = None

    def _stream(self, kind: str, text: str) -> None:
        if self._open != kind:
            self._end_stream()
            self._open = kind
        self.out.write(self._style(text, "2") if kind == "reasoning" else text)
        self.out.flush()

    def __call__(self, event: Event) -> None:
        if isinstance(event, ReasoningDelta):
            self._stream("reasoning", event.text)
        elif isinstance(event, TextDelta):
            self._stream("text", event.text)
        elif isinstance(event, ToolCall):
            self._line(self._style(f"→ {present.tool_call_line(event)}", "36"))
        elif isinstance(event, ToolResultEvent):
            line = present.tool_result_line(event)
            self._line(f"  {self._mark(line.mark, line.tone)} " + " · ".join(line.notes))
        elif isinstance(event, Plan):
            steps = "".join(f"\n  {step}" for step in present.plan_lines(event.steps))
            self._line(self._style(f"plan {present.plan_progress(event.steps)}:", "1") + steps)
        elif isinstance(event, Stage):
            self._line(self._style(f"== {present.stage_line(event)}", "1"))
        elif isinstance(event, Verify):
            check = present.verify_line(event)
            tail = "".join(f"\n    {line}" for line in check.tail.split("\n")) if check.tail else ""
            self._line(f"{self._mark(check.mark, check.tone)} {check.text}" + self._style(tail, "2"))
        elif isinstance(event, Compaction):
            self._line(self._style(present.compaction_line(event), "2"))
        elif isinstance(event, Retry):
            self._line(self._style(f"! {present.retry_line(event)}", "33"), self.err)
        elif isinstance(event, Error):
            self._line(self._style(present.error_line(event), "31"), self.err)
        elif isinstance(event, SessionStart):
            self._line(self._style(f"glmcode · {event.provider} · {event.model} · session {event.session_id}", "2"))
        elif isinstance(event, Result):
            self._line(self._style(result_text(event), "2"))


def result_text(event: Result) -> str:
    """`— success (exit 0) · 3 turns · …`, then the summary of a run that did not succeed and the report's path."""
    line = present.result_line(event)
    text = f"— {line}"
    if line.summary:
        text += f"\n{line.summary}"
    if line.report_path:
        text += f"\nreport: {line.report_path}"
    return text

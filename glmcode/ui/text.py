"""`--output-format text`: a run as a person reads it.

Reasoning lines start with `REASONING_MARK` (and are dimmed on a colour terminal), so a CI log
without colour still tells thinking from the answer; the answer is plain, each tool call is one
line and its result a short summary; the words and numbers come from `glmcode.ui.present`, as in
every front end. Everything taken from an event is made printable first (no escape sequence, CR or
bidi control from the model or a file reaches the terminal). A fatal error is printed once: on
the error stream, and not again as the result's summary. Colour only on a terminal (or with
FORCE_COLOR), never with NO_COLOR.
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

REASONING_MARK = "│ "
"""The start of every line of streamed reasoning, with or without colour."""
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
        self._cleaner = present.StreamCleaner()
        self._line_start = True
        self._errors: set[str] = set()
        """Messages of the `error` events printed, so a result does not print the same cause again."""

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
            self._cleaner.flush()  # a final CR ends the line: the newline below does it
            self.out.write("\n")
            self._open = None
            self._line_start = True

    def _stream(self, kind: str, text: str) -> None:
        if self._open != kind:
            self._end_stream()
            self._open = kind
        text = self._cleaner.feed(text)
        if kind == "reasoning":
            text = self._mark_lines(text)
        elif text:
            self._line_start = text.endswith("\n")
        if text:
            self.out.write(self._style(text, "2") if kind == "reasoning" else text)
            self.out.flush()

    def _mark_lines(self, text: str) -> str:
        """`text` with `REASONING_MARK` before each line that has content (a mark waits for the
        line's first character, so a stream never ends on a dangling mark)."""
        marked: list[str] = []
        for index, part in enumerate(text.split("\n")):
            if index:
                marked.append("\n")
                self._line_start = True
            if part:
                if self._line_start:
                    marked.append(REASONING_MARK)
                marked.append(part)
                self._line_start = False
        return "".join(marked)

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
            self._errors.add(event.message)
            self._line(self._style(present.error_line(event), "31"), self.err)
        elif isinstance(event, SessionStart):
            parts = (present.one_line(part) for part in (event.provider, event.model, event.session_id))
            self._line(self._style("glmcode · {} · {} · session {}".format(*parts), "2"))
        elif isinstance(event, Result):
            self._line(self._style(result_text(event, self.said(event)), "2"))

    def said(self, result: Result) -> bool:
        """Whether the result's summary was already printed as an `error` event's message."""
        return result.summary in self._errors


def result_text(event: Result, said: bool = False) -> str:
    """`— success (exit 0) · 3 turns · …`, then the summary of a run that did not succeed (unless
    `said`: an error line printed it already) and the report's path."""
    line = present.result_line(event)
    text = f"— {line}"
    if line.summary and not said:
        text += f"\n{line.summary}"
    if line.report_path:
        text += f"\nreport: {line.report_path}"
    return text

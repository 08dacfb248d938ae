"""`--output-format text`: a run as a person reads it.

Reasoning is dimmed, the answer is plain, each tool call is one line and its result a short
summary. Colour only on a terminal (or with FORCE_COLOR), never with NO_COLOR.
"""

from __future__ import annotations

import os
import sys
from typing import Any, TextIO

from glmcode.engine.events import (
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

_STATUS_MARK = {"completed": "[x]", "in_progress": "[>]", "pending": "[ ]"}


def use_color(out: TextIO) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return hasattr(out, "isatty") and out.isatty()


class TextRenderer:
    """Writes events as readable lines to `out`, errors to `err`."""

    def __init__(self, out: TextIO = sys.stdout, err: TextIO = sys.stderr, color: bool | None = None) -> None:
        self.out, self.err = out, err
        self.color = use_color(out) if color is None else color
        self._open: str | None = None

    def _style(self, text: str, code: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.color else text

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
            self._line(self._style(f"→ {event.name} {_key_argument(event.arguments)}".rstrip(), "36"))
        elif isinstance(event, ToolResultEvent):
            self._line(_result_line(event, self._style))
        elif isinstance(event, Plan):
            steps = "\n".join(f"  {_STATUS_MARK.get(s.status, '[ ]')} {s.step}" for s in event.steps)
            self._line(self._style("plan:", "1") + "\n" + steps)
        elif isinstance(event, Stage):
            self._line(self._style(f"== {event.name}" + (f" (round {event.round})" if event.round else ""), "1"))
        elif isinstance(event, Verify):
            mark = self._style("✓", "32") if event.passed else self._style("✗", "31")
            self._line(f"{mark} verify {event.command or event.rule}" + (f" (exit {event.exit_code})" if event.exit_code is not None else ""))
        elif isinstance(event, Retry):
            self._line(self._style(f"! retry {event.attempt} in {event.wait_s:.1f}s: {event.reason}", "33"), self.err)
        elif isinstance(event, Error):
            self._line(self._style(f"error: {event.message}", "31"), self.err)
        elif isinstance(event, SessionStart):
            self._line(self._style(f"glmcode · {event.provider} · {event.model} · session {event.session_id}", "2"))
        elif isinstance(event, Result):
            self._line(self._style(_result_summary(event), "2"))


def _key_argument(arguments: Any) -> str:
    if isinstance(arguments, dict):
        keys = ("command", "path", "pattern", "paths", "args")
        arguments = next((arguments[key] for key in keys if key in arguments), "")
    value = str(arguments).replace("\n", "⏎")
    return value if len(value) <= 100 else value[:97] + "..."


def _result_line(event: ToolResultEvent, style: Any) -> str:
    if event.ok:
        return "  " + style("✓", "32") + f" {event.summary or 'done'}"
    first = event.output.strip().splitlines()[0] if event.output.strip() else event.summary
    return "  " + style("✗", "31") + f" {first[:200]}"


def _result_summary(event: Result) -> str:
    usage = event.usage
    parts = [f"{event.status} (exit {event.exit_code})", f"{event.turns} turns", f"{usage.prompt_tokens + usage.completion_tokens:,} tokens"]
    if usage.prompt_tokens:
        parts.append(f"{event.cached_share:.0%} cached")
    if usage.cost_usd is not None:
        parts.append(f"${usage.cost_usd:.4f}")
    parts.append(f"{event.duration_s:.1f}s")
    line = "— " + ", ".join(parts)
    if event.status != "success" and event.summary:
        line += f"\n{event.summary}"
    if event.report_path:
        line += f"\nreport: {event.report_path}"
    return line

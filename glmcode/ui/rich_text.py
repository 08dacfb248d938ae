"""`--output-format text` on a terminal: the plain text view plus a Rich progress view of goals.

Streaming text is written exactly as in `TextRenderer`; stages become rules that show the
plan's progress, the plan a table of steps with their status, verify results coloured lines
with the tail of a failure's output, and the result a panel.
"""

from __future__ import annotations

import sys
from typing import TextIO

from rich.console import Console
from rich.panel import Panel
from rich.table import Table
from rich.text import Text as RichText

from glmcode.engine.events import Event, Plan, Result, Stage, Verify
from glmcode.ui.text import TextRenderer, _result_summary

_ICONS = {"completed": ("✓", "green"), "in_progress": ("▶", "yellow"), "pending": ("·", "dim")}
_STAGES = ("plan", "implement", "verify", "report")


class RichTextRenderer(TextRenderer):
    """The text renderer with Rich blocks for stages, plans, verify results and the result."""

    def __init__(self, out: TextIO = sys.stdout, err: TextIO = sys.stderr, console: Console | None = None) -> None:
        super().__init__(out, err, color=True)
        self.console = console or Console(file=out, highlight=False)
        self._plan: list = []

    def __call__(self, event: Event) -> None:
        if isinstance(event, Stage):
            self._end_stream()
            self.console.rule(self._stage_title(event), style="cyan")
        elif isinstance(event, Plan):
            self._end_stream()
            self._plan = event.steps
            self.console.print(self._plan_table())
        elif isinstance(event, Verify):
            self._end_stream()
            self._print_verify(event)
        elif isinstance(event, Result):
            self._end_stream()
            style = "green" if event.status == "success" else "red"
            self.console.print(Panel(_result_summary(event).lstrip("— "), title=f"glmcode · {event.status}", border_style=style))
        else:
            super().__call__(event)

    def _stage_title(self, event: Stage) -> str:
        steps = " › ".join(f"[bold]{name}[/]" if name == event.name else f"[dim]{name}[/]" for name in _STAGES)
        done = sum(1 for step in self._plan if step.status == "completed")
        progress = f"  plan {done}/{len(self._plan)}" if self._plan else ""
        round_ = f"  round {event.round}" if event.round else ""
        return f"{steps}{round_}{progress}"

    def _plan_table(self) -> Table:
        table = Table(show_header=False, box=None, padding=(0, 1))
        for number, step in enumerate(self._plan, 1):
            icon, style = _ICONS.get(step.status, ("·", "dim"))
            table.add_row(RichText(icon, style=style), f"{number}.", RichText(step.step, style="dim" if step.status == "completed" else ""))
        return table

    def _print_verify(self, event: Verify) -> None:
        mark = RichText("✓ ", style="green") if event.passed else RichText("✗ ", style="bold red")
        label = f"{event.kind} {event.command or event.rule}"
        exit_code = f" (exit {event.exit_code})" if event.exit_code is not None else ""
        self.console.print(mark + RichText(label + exit_code))
        if not event.passed and event.output.strip():
            tail = "\n".join(event.output.strip().splitlines()[-12:])
            self.console.print(RichText(tail, style="dim red"))

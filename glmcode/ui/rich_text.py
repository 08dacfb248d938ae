"""`--output-format text` on a terminal: the plain text view plus a Rich progress view of goals.

Streaming text is written exactly as in `TextRenderer`; stages become rules that show the
plan's progress, the plan a table of steps with their status, verify results coloured lines
with the tail of a failure's output, and the result a panel. The words are `glmcode.ui.present`'s;
nothing from an event is read as Rich markup.
"""

from __future__ import annotations

import sys
from typing import TextIO

from rich.console import Console
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from glmcode.engine.events import Event, Plan, PlanStep, Result, Stage, Verify
from glmcode.ui import present
from glmcode.ui.text import TextRenderer

TONE_STYLES: dict[present.Tone, str] = {"ok": "green", "failed": "bold red", "exited": "yellow", "warning": "yellow", "neutral": ""}
"""The Rich style of each tone of `glmcode.ui.present`."""
STEP_STYLES = {"completed": "green", "in_progress": "yellow", "pending": "dim"}
"""The style of a plan step's mark, by its status."""


class RichTextRenderer(TextRenderer):
    """The text renderer with Rich blocks for stages, plans, verify results and the result."""

    def __init__(self, out: TextIO = sys.stdout, err: TextIO = sys.stderr, console: Console | None = None) -> None:
        super().__init__(out, err, color=True)
        self.console = console or Console(file=out, highlight=False)
        self._plan: list[PlanStep] = []

    def __call__(self, event: Event) -> None:
        if isinstance(event, Stage):
            self._end_stream()
            self.console.rule(self._stage_title(event), style="cyan")
        elif isinstance(event, Plan):
            self._end_stream()
            self._plan = list(event.steps)
            self.console.print(self._plan_table())
        elif isinstance(event, Verify):
            self._end_stream()
            self._print_verify(event)
        elif isinstance(event, Result):
            self._end_stream()
            self.console.print(result_panel(event, self.said(event)))
        else:
            super().__call__(event)

    def _stage_title(self, event: Stage) -> Text:
        """`plan › implement › verify › report  fix round 1  plan 1/3`, the current stage in bold."""
        stage = present.stage_line(event)
        title = Text()
        for index, name in enumerate(present.STAGES):
            if index:
                title.append(" › ", style="dim")
            title.append(name, style="bold" if name == stage.name else "dim")
        if stage.name not in present.STAGES:
            title.append(f" › {stage.name}", style="bold")
        if stage.round:
            title.append(f"  fix round {stage.round}")
        if self._plan:
            title.append(f"  plan {present.plan_progress(self._plan)}")
        return title

    def _plan_table(self) -> Table:
        table = Table(show_header=False, box=None, padding=(0, 1))
        for number, step in enumerate(self._plan, 1):
            mark = Text(present.plan_mark(step.status), style=STEP_STYLES.get(step.status, "dim"))
            table.add_row(mark, f"{number}.", Text(present.one_line(step.step), style="dim" if step.status == "completed" else ""))
        return table

    def _print_verify(self, event: Verify) -> None:
        check = present.verify_line(event)
        self.console.print(Text.assemble((check.mark + " ", TONE_STYLES[check.tone]), check.text))
        if check.tail:
            self.console.print(Text(check.tail, style="dim red"))


def result_panel(event: Result, said: bool = False) -> Panel:
    """The result as a panel titled with its status: the facts, the summary of a failure (unless
    `said`: an error line printed it already), the report's path."""
    line = present.result_line(event)
    body = Text(str(line))
    if line.summary and not said:
        body.append("\n" + line.summary)
    if line.report_path:
        body.append(f"\nreport: {line.report_path}")
    border = "green" if line.tone == "ok" else "yellow" if line.tone == "warning" else "red"
    return Panel(body, title=Text(f"glmcode · {line.status}"), border_style=border)

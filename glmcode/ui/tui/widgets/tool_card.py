"""A tool call as a compact card: one line while it runs and after, the output on demand."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.reactive import reactive
from textual.timer import Timer
from textual.widgets import Static

from glmcode.engine.events import ToolCall, ToolResultEvent
from glmcode.ui import present
from glmcode.ui.tui.widgets.diff_view import diff_text

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
HEAD_LINES = 10
TAIL_LINES = 15
MAX_LINE_CHARS = 400
STATE_MARKS = {"approval": ("?", "yellow"), "ok": ("✓", "green"), "exited": ("!", "yellow"), "failed": ("✗", "red"), "stopped": ("■", "yellow")}
"""The mark of a card by its state (a running card shows the spinner)."""


def clip_output(output: str) -> Text:
    """Tool output for display: long outputs keep their head and tail, long lines are cut."""
    lines = output.rstrip("\n").split("\n")
    if len(lines) > HEAD_LINES + TAIL_LINES + 1:
        hidden = len(lines) - HEAD_LINES - TAIL_LINES
        lines = [*lines[:HEAD_LINES], f"… {hidden} more lines …", *lines[-TAIL_LINES:]]
    lines = [line if len(line) <= MAX_LINE_CHARS else line[:MAX_LINE_CHARS] + " …" for line in lines]
    return Text(present.printable("\n".join(lines)) or "(no output)")


class ToolCard(Vertical, can_focus=True):
    """`⠋ name  detail` while running; `✓ name  detail · summary · 0.3s` when done (`!` and the exit
    code for a command that exited non-zero, `✗` and the first line of the error for a failure).

    The words are `glmcode.ui.present`'s: the call's title, the result's outcome and duration.
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter,space", "toggle_output", "Show output", show=False)]

    expanded: reactive[bool] = reactive(False)
    state: reactive[str] = reactive("running")
    """running, approval (waiting for the user), ok, exited (ran, exit code not 0), failed, stopped."""

    def __init__(self, call: ToolCall) -> None:
        super().__init__(classes="tool-card")
        self.call = call
        self.result: ToolResultEvent | None = None
        self._frame = 0
        self._timer: Timer | None = None
        self._header = Static(classes="tool-header")
        self._details = Static(classes="tool-details")

    def compose(self):
        yield self._header
        yield self._details

    def on_mount(self) -> None:
        self._details.display = self.expanded and self.result is not None
        if self.state in ("running", "approval"):
            self._timer = self.set_interval(0.1, self._spin)
        self._render_header()

    def _spin(self) -> None:
        self._frame += 1
        self._render_header()

    def watch_state(self, state: str) -> None:
        self.set_class(state == "failed", "-failed")
        self.set_class(state == "ok", "-ok")
        self.set_class(state == "exited", "-exited")
        if state not in ("running", "approval") and self._timer is not None:
            self._timer.stop()
        if self.is_mounted:
            self._render_header()

    def finish(self, result: ToolResultEvent) -> None:
        """The tool returned: show the outcome; a diff opens by itself."""
        self.result = result
        if result.diff:
            self._details.update(diff_text(result.diff))
            self.expanded = True
        else:
            self._details.update(clip_output(result.output))
        self.state = present.tool_result_line(result).outcome

    def stop(self) -> None:
        """The run ended before the tool did (interrupted)."""
        if self.state in ("running", "approval"):
            self.state = "stopped"

    def watch_expanded(self, expanded: bool) -> None:
        self._details.display = expanded and self.result is not None
        if self.is_mounted:
            self._render_header()

    def action_toggle_output(self) -> None:
        """Show or hide the tool's output (not Textual's `toggle(attribute)` action, which it used to shadow)."""
        self.expanded = not self.expanded

    def on_click(self) -> None:
        self.action_toggle_output()

    def _render_header(self) -> None:
        state = self.state
        icon, style = (SPINNER[self._frame % len(SPINNER)], "cyan") if state == "running" else STATE_MARKS[state]
        title = present.tool_call_line(self.call)
        line = Text.assemble((icon, style), " ", (title.name, "bold"))
        if title.detail:
            line.append(("  " if title.name else "") + title.detail)
        result = self.result
        notes = []
        if state == "approval":
            notes.append("waiting for your approval")
        elif state == "stopped":
            notes.append("stopped")
        elif result is not None:
            notes.extend(present.tool_result_line(result).notes)
        if notes:
            line.append(" · " + " · ".join(notes), style={"failed": "red", "exited": "yellow"}.get(state, "dim"))
        if result is not None and not self.expanded:
            line.append("  ▸", style="dim")
        self._header.update(line)

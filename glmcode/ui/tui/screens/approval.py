"""The approval modal (`--permission-mode ask`): the exact command or change, and the decision.

What the call will do is the preview its tool made (a diff, `$ command`, ...), handed over by the
session's permission check: this screen knows no tool by name.

y allows this call, a allows the tool for the rest of the session, n or Esc denies. The engine
thread waits for the answer (see `GlmcodeApp.approve`).
"""

from __future__ import annotations

from typing import ClassVar

from rich.console import RenderableType
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from glmcode.ui import present
from glmcode.ui.tui.widgets.diff_view import diff_text


def preview_text(preview: str) -> RenderableType:
    """A call's preview (from its tool, through the session) as shown in the modal.

    A unified diff (it starts with `--- `) is coloured with `diff_text`; anything else is plain
    text. Either way control characters are made visible (`present.printable`): the preview
    holds the model's arguments and the repo's files.
    """
    text = present.printable(preview)
    if is_diff(text):
        return diff_text(text)
    return Text(text.rstrip("\n"))


def is_diff(text: str) -> bool:
    """Whether `text` is a unified diff: `--- <old>` then `+++ <new>` on its first two lines."""
    first, _, rest = text.partition("\n")
    return first.startswith("--- ") and rest.startswith("+++ ")


class ApprovalScreen(ModalScreen[str]):
    """Dismissed with "once", "always" or "deny"."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "decide('once')", "Allow once"),
        Binding("a", "decide('always')", "Always allow"),
        Binding("n,escape", "decide('deny')", "Deny"),
    ]

    def __init__(self, tool: str, preview: str) -> None:
        """`tool`: the tool's name (the title); `preview`: what the call will do (see `preview_text`)."""
        super().__init__(classes="approval")
        self.tool = tool
        self.details = preview_text(preview)

    def compose(self):
        with Vertical(id="approval-dialog"):
            yield Label(Text.assemble(("Allow ", ""), (self.tool, "bold"), ("?", "")), id="approval-title")
            with VerticalScroll(id="approval-preview"):
                yield Static(self.details, id="approval-details")
            with Horizontal(id="approval-buttons"):
                yield Button("Allow once  y", id="once", variant="primary", compact=True)
                yield Button(f"Always allow {self.tool}  a", id="always", compact=True)
                yield Button("Deny  n", id="deny", variant="error", compact=True)

    def on_mount(self) -> None:
        self.query_one("#once", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(str(event.button.id))

    def action_decide(self, decision: str) -> None:
        self.dismiss(decision)

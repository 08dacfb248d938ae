"""The approval modal (`--permission-mode ask`): the exact command or change, and the decision.

y allows this call, a allows the tool for the rest of the session, n or Esc denies. The engine
thread waits for the answer (see `GlmcodeApp.approve`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from rich.console import Group, RenderableType
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from glmcode.ui.tui.widgets.diff_view import diff_text, unified

PREVIEW_LINES = 20
MAX_READ_BYTES = 512_000


def preview(tool: str, args: Any, root: Path) -> RenderableType:
    """What the call will do: the command, the edit as a diff, or the file to be written."""
    if tool == "run_shell":
        timeout = getattr(args, "timeout", None)
        command = Text.assemble(("$ ", "bold"), str(getattr(args, "command", "")))
        return Group(command, Text(f"timeout {timeout:g} s", style="dim")) if timeout else command
    if tool == "edit_file":
        path = str(args.path)
        where = " (every occurrence)" if getattr(args, "replace_all", False) else ""
        return Group(Text(f"edit {path}{where}", style="bold"), diff_text(unified(args.old_string, args.new_string, path)))
    if tool == "write_file":
        path = str(args.path)
        content = str(args.content)
        existing = _read(root / path)
        if existing is not None:
            diff = unified(existing, content, path)
            return Group(Text(f"overwrite {path}", style="bold"), diff_text(diff or "(no change)"))
        lines = content.split("\n")
        shown = "\n".join(lines[:PREVIEW_LINES])
        more = f"\n… {len(lines) - PREVIEW_LINES} more lines" if len(lines) > PREVIEW_LINES else ""
        return Group(Text(f"create {path} ({len(lines)} lines)", style="bold"), Text(shown), Text(more, style="dim"))
    fields = args.model_dump(exclude_none=True) if hasattr(args, "model_dump") else args
    return Text(str(fields))


def _read(path: Path) -> str | None:
    try:
        if not path.is_file() or path.stat().st_size > MAX_READ_BYTES:
            return None
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


class ApprovalScreen(ModalScreen[str]):
    """Dismissed with "once", "always" or "deny"."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "decide('once')", "Allow once"),
        Binding("a", "decide('always')", "Always allow"),
        Binding("n,escape", "decide('deny')", "Deny"),
    ]

    def __init__(self, tool: str, details: RenderableType) -> None:
        super().__init__(classes="approval")
        self.tool = tool
        self.details = details

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

"""The scrolling conversation: a welcome line, then exchanges and notes; it follows the stream.

Anchored to the bottom: new content keeps it scrolled to the end, until the user scrolls up;
scrolling back to the end follows again.
"""

from __future__ import annotations

import gc
from pathlib import Path

from rich.console import RenderableType
from rich.text import Text
from textual.await_remove import AwaitRemove
from textual.containers import Vertical, VerticalScroll
from textual.widget import Widget
from textual.widgets import Static

from glmcode.ui.tui.widgets.exchange import ExchangeView, Note


def home_relative(path: Path) -> str:
    """`~/src/repo` for a path under the home folder, else the path."""
    try:
        return "~/" + path.relative_to(Path.home()).as_posix()
    except ValueError:
        return str(path)


def welcome_text(model: str, provider: str, root: Path, session_id: str, permission_mode: str) -> Text:
    return Text.assemble(
        ("glmcode", "bold"), ("  ·  ", "dim"), model, (" via ", "dim"), provider, ("  ·  ", "dim"), home_relative(root), "\n",
        (f"session {session_id} · permission mode {permission_mode}", "dim"), "\n",
        ("Type a task and press Enter · ", "dim"), ("/", "bold"), (" commands · ", "dim"), ("@", "bold"),
        (" files · ", "dim"), ("/help", "bold"), (" keys", "dim"),
    )


class Welcome(Static):
    """The first lines of a session view."""


class ConversationView(VerticalScroll):
    """Exchanges and notes, oldest first."""

    def __init__(self) -> None:
        super().__init__(id="conversation")
        self.exchanges: list[ExchangeView] = []
        self.body = Vertical(id="conversation-body")
        """Everything shown; at least as tall as the view, so a short conversation starts at the top."""

    def compose(self):
        yield self.body

    def on_mount(self) -> None:
        self.anchor()

    def mount_item(self, widget: Widget) -> None:
        self.body.mount(widget)
        self._follow()

    def add_exchange(self, prompt: str | None = None, label: str = "") -> ExchangeView:
        exchange = ExchangeView(prompt, label)
        self.exchanges.append(exchange)
        self.mount_item(exchange)
        return exchange

    def add_note(self, content: RenderableType, kind: str = "info") -> Note:
        note = Note(content, kind)
        self.mount_item(note)
        return note

    def add_widget(self, widget: Widget) -> None:
        self.mount_item(widget)

    def _follow(self) -> None:
        """Something new was sent: go back to following the stream."""
        self.anchor()

    def clear(self) -> AwaitRemove:
        """Remove everything (a new session); unfreeze the collector so the old exchanges can be freed."""
        self.exchanges.clear()
        gc.unfreeze()
        return self.body.remove_children()

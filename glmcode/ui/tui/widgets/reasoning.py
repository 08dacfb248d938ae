"""The reasoning region of one model turn: the model's streamed thinking, dimmed plain text, collapsible."""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget
from textual.widgets import Collapsible, Static

from glmcode.ui.tui.widgets.block_stack import BlockStack


def count_label(chars: int) -> str:
    """`850 chars`, `1.2k chars`, `34k chars`."""
    if chars < 1000:
        return f"{chars} chars"
    if chars < 10_000:
        return f"{chars / 1000:.1f}k chars"
    return f"{chars // 1000}k chars"


class ReasoningText(BlockStack):
    """Finished lines as fixed plain-text widgets; the line being written as the tail."""

    def __init__(self) -> None:
        super().__init__(Static("", classes="reasoning-open"), classes="reasoning-text")
        self.open_line = ""

    def make_fixed(self, text: str) -> Widget:
        return Static(Text(text[:-1] if text.endswith("\n") else text), classes="reasoning-lines")

    def tail_changed(self) -> None:
        tail = self.tail
        assert isinstance(tail, Static)
        tail.update(Text(self.open_line))
        tail.display = bool(self.open_line) and not self.backlogged


class ReasoningPane(Collapsible):
    """Expanded while the model thinks; `finish` collapses it to a one-line summary.

    Clicking the title, or Enter on it, opens it again.
    """

    def __init__(self) -> None:
        self._text = ReasoningText()
        super().__init__(self._text, title="Thinking", collapsed=False, collapsed_symbol="▸", expanded_symbol="▾")
        self._parts: list[str] = []
        self._chars = 0
        self.finished = False

    @property
    def text(self) -> str:
        """All the reasoning received so far."""
        return "".join(self._parts) + self._text.open_line

    @property
    def settled(self) -> bool:
        return not self._text.backlogged

    def append(self, text: str) -> None:
        """Add streamed reasoning: complete lines become fixed, the open line is redrawn."""
        self._chars += len(text)
        combined = self._text.open_line + text
        cut = combined.rfind("\n") + 1
        if cut:
            finished = combined[:cut]
            self._parts.append(finished)
            self._text.open_line = combined[cut:]
            self._text.push_finished(finished.splitlines(keepends=True))
        else:
            self._text.open_line = combined
        self._text.tail_changed()
        self.title = f"Thinking · {count_label(self._chars)}"

    def finish(self) -> None:
        """The model stopped thinking: collapse to a one-line summary."""
        if self.finished:
            return
        self.finished = True
        self.title = f"Thought · {count_label(self._chars)}"
        self.collapsed = True

    def _watch_collapsed(self, collapsed: bool) -> None:
        """Toggle without scrolling the conversation to this pane (it would undo following the stream)."""
        self._update_collapsed(collapsed)
        self.post_message(self.Collapsed(self) if collapsed else self.Expanded(self))

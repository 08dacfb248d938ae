"""The answer region of one model turn: the model's streamed `content`, rendered as Markdown.

One Markdown widget fed fragment by fragment gets slower as its document grows (DESIGN.md §8).
Here finished top-level blocks (see `blocks.split_finished`) become fixed widgets, rendered
once, and only the open block — the tail — is parsed and drawn again when text arrives. The
cost of a delta does not depend on how long the answer already is.
"""

from __future__ import annotations

from textual.widget import Widget
from textual.widgets import Static

from glmcode.ui.tui.blocks import split_finished
from glmcode.ui.tui.markdown import AnswerMarkdown, RenderedOnce
from glmcode.ui.tui.widgets.block_stack import BlockStack


class AnswerPane(BlockStack):
    """Fixed Markdown blocks followed by the open block."""

    def __init__(self) -> None:
        super().__init__(Static(classes="answer-open"), classes="answer")
        self._finished: list[str] = []
        self._open = ""

    @property
    def text(self) -> str:
        """The whole answer received so far (Markdown source)."""
        return "".join(self._finished) + self._open

    @property
    def settled(self) -> bool:
        """Whether everything received is on a widget."""
        return not self.backlogged

    def _markdown(self, text: str) -> RenderedOnce:
        return RenderedOnce(AnswerMarkdown(text, dark=self.app.current_theme.dark))

    def make_fixed(self, text: str) -> Widget:
        return Static(self._markdown(text), classes="answer-block")

    def append(self, text: str) -> None:
        """Add streamed answer text: finished blocks become fixed, the open block is redrawn."""
        self._open += text
        if "\n" in text:
            pieces, self._open = split_finished(self._open)
            if pieces:
                self._finished.extend(pieces)
                self.push_finished([piece for piece in pieces if piece.strip()])
        self.tail_changed()

    def tail_changed(self) -> None:
        tail = self.tail
        assert isinstance(tail, Static)
        visible = bool(self._open.strip()) and not self.backlogged
        if visible:
            tail.update(self._markdown(self._open))
        tail.display = visible

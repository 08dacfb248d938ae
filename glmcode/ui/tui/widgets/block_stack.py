"""A column of fixed widgets above one live tail, for text that streams in at its end.

Finished text becomes fixed widgets, rendered once; only the tail (the open line or block) is
redrawn as text arrives. Two things keep the cost of a frame bounded however fast text comes:

- finished text is mounted at most `CHUNK_CHARS` at a time, one chunk per frame, so a burst
  never makes one layout render a whole page of Markdown (keys typed meanwhile are not kept
  waiting); while a backlog remains the tail stays hidden, so text still appears in order;
- fixed widgets are grouped in sections of `SECTION_SIZE`: a section whose children no longer
  change keeps its cached layout, so growing the tail re-lays out a few sections, not every
  block of a long answer.
"""

from __future__ import annotations

from collections import deque

from textual.containers import Vertical
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Static

SECTION_SIZE = 16
CHUNK_CHARS = 1500
FRAME_S = 1 / 60


class BlockStack(Vertical):
    """Fixed widgets, grouped in sections, followed by `tail` (the only widget that keeps changing)."""

    DEFAULT_CSS = """
    BlockStack { height: auto; }
    BlockStack > .section { height: auto; }
    """

    def __init__(self, tail: Widget, *, classes: str | None = None) -> None:
        super().__init__(classes=classes)
        self.tail = tail
        self._section: Vertical | None = None
        self._in_section = 0
        self._backlog: deque[str] = deque()
        self._timer: Timer | None = None
        self._ready = False
        self.fixed_count = 0

    def compose(self):
        yield self.tail

    def make_fixed(self, text: str) -> Widget:
        """The widget that shows a chunk of finished text; subclasses style it their way."""
        return Static(text)

    def tail_changed(self) -> None:
        """Called when the backlog empties, so the tail can be shown again (subclasses redraw it)."""

    @property
    def backlogged(self) -> bool:
        """Whether finished text is still waiting to be mounted."""
        return bool(self._backlog)

    def push_finished(self, pieces: list[str]) -> None:
        """Queue finished pieces (lines, blocks) to become fixed widgets, in order."""
        self._backlog.extend(piece for piece in pieces if piece)
        if self._ready and self._timer is None and self._backlog:
            self._mount_chunk()
            if self._backlog:
                self._timer = self.set_interval(FRAME_S, self._mount_chunk)

    def on_mount(self) -> None:
        self._ready = True
        self.push_finished([])

    def _mount_chunk(self) -> None:
        """Mount the next chunk of the backlog (whole pieces, about `CHUNK_CHARS` at most)."""
        if not self.is_attached or self._closing or self._pruning:
            return
        taken: list[str] = []
        size = 0
        while self._backlog and (not taken or size + len(self._backlog[0]) <= CHUNK_CHARS):
            piece = self._backlog.popleft()
            taken.append(piece)
            size += len(piece)
        if taken:
            self._place(self.make_fixed("".join(taken)))
        if not self._backlog:
            if self._timer is not None:
                self._timer.stop()
                self._timer = None
            self.tail_changed()

    def _place(self, widget: Widget) -> None:
        self.fixed_count += 1
        if self._section is None or self._in_section >= SECTION_SIZE:
            self._section = Vertical(widget, classes="section")
            self._in_section = 1
            self.mount(self._section, before=self.tail)
        else:
            self._in_section += 1
            self._section.mount(widget)

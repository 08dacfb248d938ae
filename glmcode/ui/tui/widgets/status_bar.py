"""The status bar: what is happening on the left; model, effort, tokens, cost and context on the right."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.containers import Horizontal
from textual.widgets import Static

from glmcode.engine.events import UsageTotals
from glmcode.ui import present

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


@dataclass
class StatusInfo:
    """Everything the right-hand side shows."""

    model: str = ""
    provider: str = ""
    effort: str | None = None
    usage: UsageTotals | None = None
    """The whole session's totals (every request since the session opened, not only the last run)."""
    last_prompt_tokens: int = 0
    context_window: int = 0


def info_text(info: StatusInfo, width: int | None = None) -> Text:
    """`glm-5.2 · zai · effort high · 12.3k tokens · 80% cached · $0.0123 · ctx 4%`.

    The usage parts are `present.usage_line` of the session's totals. With `width`, the least
    useful parts are left out until the line fits.
    """
    usage = present.usage_line(info.usage or UsageTotals())
    parts: list[tuple[int, str, str]] = [
        (0, info.model, "bold"),
        (6, info.provider, ""),
        (4, f"effort {info.effort or 'default'}", ""),
        (2, usage.tokens, ""),
        (5, usage.cached, ""),
        (3, usage.cost, ""),
    ]
    parts = [part for part in parts if part[1]]
    if info.context_window:
        share = info.last_prompt_tokens / info.context_window
        parts.append((1, f"ctx {present.share_label(share)}", "yellow" if share > 0.7 else ""))
    while width is not None and len(parts) > 1 and sum(len(p[1]) + 3 for p in parts) - 3 > width:
        parts.remove(max(parts, key=lambda part: part[0]))
    text = Text()
    for index, (_, part, style) in enumerate(parts):
        if index:
            text.append(" · ", style="dim")
        text.append(part, style=style)
    return text


class StatusBar(Horizontal):
    """One line at the bottom of the screen."""

    def __init__(self) -> None:
        super().__init__(id="status-bar")
        self.info = StatusInfo()
        self.activity = ""
        self.busy = False
        self.stage = ""
        self.notice = ""
        self.queued = 0
        self._frame = 0
        self._left_width = 0
        self._left = Static(classes="status-left")
        self._right = Static(classes="status-right")

    def compose(self):
        yield self._left
        yield self._right

    def on_mount(self) -> None:
        self._timer = self.set_interval(0.1, self._spin, pause=True)
        self.refresh_text()

    def _spin(self) -> None:
        self._frame += 1
        self._render_left()

    def set_busy(self, busy: bool, activity: str = "") -> None:
        """A run started (with what it is doing) or ended."""
        self.busy = busy
        self.activity = activity
        if busy:
            self.notice = ""
            self._timer.resume()
        else:
            self._timer.pause()
        self._render_left()

    def refresh_text(self) -> None:
        self._render_left()
        room = self.size.width - 4 - self._left_width - 2
        self._right.update(info_text(self.info, room if self.size.width else None))

    def on_resize(self) -> None:
        self.refresh_text()

    def _render_left(self) -> None:
        text = Text()
        if self.busy:
            text.append(SPINNER[self._frame % len(SPINNER)] + " ", style="cyan")
            text.append((self.activity or "working") + "…")
            text.append("  esc to interrupt", style="dim")
        else:
            text.append("ready", style="dim")
        if self.stage:
            text.append(f"  {self.stage}", style="bold")
        if self.queued:
            text.append(f"  {self.queued} queued", style="yellow")
        if self.notice:
            text.append(f"  {self.notice}", style="yellow")
        self._left_width = min(text.cell_len, 40)
        self._left.update(text)

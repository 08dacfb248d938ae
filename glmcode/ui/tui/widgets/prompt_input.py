"""The prompt: a multi-line input with history, and a completion menu for `/commands` and `@paths`.

Enter sends. A new line is Ctrl+J (every terminal sends it), Shift+Enter where the terminal
reports it (those speaking the kitty keyboard protocol: kitty, WezTerm, foot, Ghostty, iTerm2
with CSI u), or a `\\` typed at the end before Enter. Up and Down browse earlier prompts when the
cursor is on the first or last line; while the menu is open they move in the menu instead, and
Tab or Enter picks.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import events
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import OptionList, TextArea
from textual.widgets.option_list import Option

from glmcode.ui.tui.completion import Candidate, Context, PathIndex, command_candidates, context_at
from glmcode.ui.tui.history import PromptHistory

NEWLINE_KEYS = frozenset({"shift+enter", "ctrl+j", "alt+enter"})


class CompletionMenu(OptionList, can_focus=False):
    """Candidates for the word at the cursor; focus stays in the input."""

    def __init__(self) -> None:
        super().__init__(id="completion-menu")
        self.candidates: list[Candidate] = []

    def show(self, candidates: list[Candidate]) -> None:
        self.candidates = candidates
        self.set_options(Option(Text.assemble(c.label, ("  " + c.detail if c.detail else "", "dim"))) for c in candidates)
        self.highlighted = 0
        self.display = True

    def hide(self) -> None:
        self.display = False
        self.candidates = []

    @property
    def shown(self) -> bool:
        return bool(self.display and self.candidates)

    @property
    def selected(self) -> Candidate | None:
        index = self.highlighted
        return self.candidates[index] if self.shown and index is not None and index < len(self.candidates) else None


class PromptInput(TextArea):
    """The multi-line prompt input."""

    @dataclass
    class Submitted(Message):
        """The user pressed Enter to send `text` (empty on an empty prompt)."""

        text: str

    def __init__(self, history: PromptHistory, paths: PathIndex, menu: CompletionMenu) -> None:
        super().__init__(
            id="prompt", soft_wrap=True, show_line_numbers=False, highlight_cursor_line=False, tab_behavior="focus",
        )
        self.prompt_history = history
        self.paths = paths
        self.menu = menu

    async def _on_key(self, event: events.Key) -> None:
        key = event.key
        if key == "enter":
            self._stop(event)
            self._enter_pressed()
        elif key in NEWLINE_KEYS:
            self._stop(event)
            self.insert("\n")
        elif key == "tab" and self.menu.shown:
            self._stop(event)
            self.accept_completion()
        elif key == "escape" and self.menu.shown:
            self._stop(event)
            self.menu.hide()
        else:
            await super()._on_key(event)

    @staticmethod
    def _stop(event: events.Key) -> None:
        event.stop()
        event.prevent_default()

    def _enter_pressed(self) -> None:
        """Enter: pick the highlighted completion, turn a trailing `\\` into a new line, or send.

        (Not `_on_enter`: Textual calls that when the mouse moves over the widget.)
        """
        if self.menu.shown:
            if not self._word_is_complete():
                self.accept_completion()
                return
            self.menu.hide()
        row, column = self.cursor_location
        line = self.document.get_line(row)
        if column > 0 and line[:column].endswith("\\") and not line[column:].strip():
            self.replace("\n", (row, column - 1), (row, column))
            return
        text = self.text.strip()
        self.post_message(self.Submitted(text))
        if text:
            self.load_text("")

    def action_cursor_up(self, select: bool = False) -> None:
        if self.menu.shown and not select:
            self.menu.action_cursor_up()
        elif not select and self.cursor_at_first_line:
            entry = self.prompt_history.previous(self.text)
            if entry is not None:
                self._show_entry(entry)
        else:
            super().action_cursor_up(select)

    def action_cursor_down(self, select: bool = False) -> None:
        if self.menu.shown and not select:
            self.menu.action_cursor_down()
        elif not select and self.cursor_at_last_line:
            entry = self.prompt_history.next()
            if entry is not None:
                self._show_entry(entry)
        else:
            super().action_cursor_down(select)

    def _show_entry(self, entry: str) -> None:
        self.load_text(entry)
        self.move_cursor(self.document.end)
        self.menu.hide()

    def _word_is_complete(self) -> bool:
        """Whether the word at the cursor already is the highlighted candidate (Enter then sends)."""
        candidate, context = self.menu.selected, self._completion_context()
        if candidate is None or context is None:
            return False
        row = self.cursor_location[0]
        return self.document.get_line(row)[context.start : context.end] == candidate.insert.rstrip()

    def accept_completion(self) -> None:
        """Replace the word at the cursor with the highlighted candidate."""
        candidate = self.menu.selected
        context = self._completion_context()
        if candidate is None or context is None:
            self.menu.hide()
            return
        row = self.cursor_location[0]
        self.replace(candidate.insert, (row, context.start), (row, context.end))
        if not candidate.keep_open:
            self.menu.hide()

    def _completion_context(self) -> Context | None:
        row, column = self.cursor_location
        return context_at(self.document.get_line(row), column, row)

    def update_completion(self) -> None:
        """Show or hide the menu for the word now at the cursor."""
        context = self._completion_context()
        if context is None:
            self.menu.hide()
            return
        if context.kind == "command":
            candidates = command_candidates(context.prefix)
        else:
            self.paths.refresh()
            candidates = self.paths.match(context.prefix)
        if candidates:
            self.menu.show(candidates)
        else:
            self.menu.hide()


class PromptArea(Vertical):
    """The completion menu above the prompt input."""

    def __init__(self, history: PromptHistory, paths: PathIndex) -> None:
        super().__init__(id="prompt-area")
        self.menu = CompletionMenu()
        self.input = PromptInput(history, paths, self.menu)

    def compose(self):
        yield self.menu
        yield self.input

    def on_mount(self) -> None:
        self.menu.display = False
        self.input.border_subtitle = "enter send · ctrl+j newline · / commands · @ files"

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        self.input.update_completion()

    def on_text_area_selection_changed(self, event: TextArea.SelectionChanged) -> None:
        if self.menu.shown:
            self.input.update_completion()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.menu.highlighted = event.option_index
        self.input.accept_completion()
        self.input.focus()

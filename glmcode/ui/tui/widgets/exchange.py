"""One exchange in the conversation: the user's prompt, then what was done for it, in order.

An exchange is one prompt (or goal, or /plan) and everything the run did in answer to it: it
spans as many model turns (one request and its reply) as the run needed. Each model turn adds a
reasoning pane and an answer pane (as its deltas arrive); tool calls add cards; goal stages,
checks and retries add notes. A new request, a tool call or the end of the exchange closes the
open panes, so the next reasoning starts a new region below.
"""

from __future__ import annotations

from rich.console import RenderableType
from rich.text import Text
from textual.containers import Vertical
from textual.widgets import Static

from glmcode.engine.events import Result, ToolCall, ToolResultEvent
from glmcode.ui import present
from glmcode.ui.tui.widgets.answer import AnswerPane
from glmcode.ui.tui.widgets.reasoning import ReasoningPane
from glmcode.ui.tui.widgets.tool_card import ToolCard

SCOPES = {"goal": "this goal", "plan": "this plan"}
"""What an exchange's outcome line counts, by its label (default: `this prompt`)."""


class Note(Static):
    """A line of information in the conversation (kinds: info, stage, ok, warning, error, meta)."""

    def __init__(self, content: RenderableType, kind: str = "info") -> None:
        super().__init__(Text(content) if isinstance(content, str) else content, classes=f"note -{kind}")


class ExchangeView(Vertical):
    """The prompt and everything the run did in answer to it.

    `prompt` is None for an exchange the app opened for events that came without one; `label`
    names a slash command that opened it (`goal`, `plan`, `compact`).
    """

    def __init__(self, prompt: str | None = None, label: str = "") -> None:
        super().__init__(classes="exchange")
        self.prompt = prompt
        self.label = label
        self.cards: dict[str, ToolCard] = {}
        self.reasoning_panes: list[ReasoningPane] = []
        self.answer_panes: list[AnswerPane] = []
        self.result: Result | None = None
        self.errors_said: set[str] = set()
        """Messages of the `error` events shown in this exchange: the result does not repeat them."""
        self._reasoning: ReasoningPane | None = None
        self._answer: AnswerPane | None = None

    def compose(self):
        if self.prompt is not None:
            prefix = f"/{self.label} " if self.label else ""
            yield Static(Text.assemble(("› ", "bold"), prefix + self.prompt), classes="user-prompt")

    @property
    def reasoning_text(self) -> str:
        return "".join(pane.text for pane in self.reasoning_panes)

    @property
    def answer_text(self) -> str:
        return "".join(pane.text for pane in self.answer_panes)

    @property
    def settled(self) -> bool:
        """Whether every answer pane shows all it received."""
        return all(pane.settled for pane in self.answer_panes)

    def append_reasoning(self, text: str) -> None:
        if self._reasoning is None or self._answer is not None:
            self.end_request()
            self._reasoning = ReasoningPane()
            self.reasoning_panes.append(self._reasoning)
            self.mount(self._reasoning)
        self._reasoning.append(text)

    def append_text(self, text: str) -> None:
        if self._answer is None:
            if self._reasoning is not None:
                self._reasoning.finish()
            self._answer = AnswerPane()
            self.answer_panes.append(self._answer)
            self.mount(self._answer)
        self._answer.append(text)

    def end_request(self) -> None:
        """The model request ended: close the open panes."""
        if self._reasoning is not None:
            self._reasoning.finish()
        self._reasoning = self._answer = None

    def add_tool_call(self, event: ToolCall) -> ToolCard:
        self.end_request()
        card = ToolCard(event)
        if self.children and isinstance(self.children[-1], ToolCard):
            card.add_class("-chained")
        self.cards[event.id] = card
        self.mount(card)
        return card

    def finish_tool(self, event: ToolResultEvent) -> None:
        card = self.cards.get(event.id) or self.add_tool_call(ToolCall(id=event.id, name=event.name, arguments={}))
        card.finish(event)

    @property
    def running_card(self) -> ToolCard | None:
        """The card of the tool call now running, if any."""
        for card in reversed(self.cards.values()):
            if card.state in ("running", "approval"):
                return card
        return None

    def add_note(self, content: RenderableType, kind: str = "info") -> Note:
        self.end_request()
        note = Note(content, kind)
        self.mount(note)
        return note

    def finish(self, result: Result) -> None:
        """The run ended: close everything and add a one-line outcome of what this run used."""
        self.result = result
        self.end_request()
        for card in self.cards.values():
            card.stop()
        line = present.result_line(result)
        if result.status == "interrupted":
            self.add_class("-interrupted")
            self.add_note("■ interrupted — what was done so far is kept; send a prompt to go on", "warning")
        elif result.status != "success" and result.summary not in self.errors_said:
            self.add_note(f"{line.mark} {result.status}: {line.summary}", "error")
        elif self.label == "goal" and result.summary:
            self.add_note(f"{line.mark} {present.printable(result.summary).strip()}", "ok")
        if line.report_path:
            self.add_note(f"report: {line.report_path}")
        self.add_note(outcome_line(result, self.label), "meta")

    def stop(self) -> None:
        """The run ended without a result (the engine failed): close everything."""
        self.end_request()
        for card in self.cards.values():
            card.stop()


def outcome_line(result: Result, label: str = "") -> Text:
    """`this prompt: 3 requests · 12.3k tokens · 80% cached · $0.0123 · 4.2s`: what this run used
    (the status bar keeps the whole session's totals). `label` is the exchange's."""
    return Text(present.run_outcome(result, SCOPES.get(label, "this prompt")), style="dim")

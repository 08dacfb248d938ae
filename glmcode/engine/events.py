"""The typed events the engine emits (DESIGN.md §6).

The engine never prints: it hands each event to an `Emit` callback, and every front end (TUI,
text, JSON lines, the transcript) is a consumer of that one stream. Every event has `type` and
`session_id`; `to_json()` is the one line `--output-format stream-json` prints.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from glmcode.tools.base import PlanStep

ResultStatus = Literal["success", "failed", "budget_exhausted", "error", "interrupted"]


class Event(BaseModel):
    """Base of every event: `type` names it on the wire, `session_id` is stamped by the session."""

    type: str
    session_id: str = ""

    def to_json(self) -> str:
        """One compact JSON line, fields in declaration order, `type` first."""
        return self.model_dump_json()


class SessionStart(Event):
    """A session began (or was resumed)."""

    type: Literal["session_start"] = "session_start"
    model: str
    provider: str
    cwd: str
    resumed: bool = False


class Stage(Event):
    """Goal mode entered a stage: plan, implement, verify or report."""

    type: Literal["stage"] = "stage"
    name: str
    round: int = 0


class ReasoningDelta(Event):
    """A fragment of the model's streamed `reasoning_content`."""

    type: Literal["reasoning"] = "reasoning"
    text: str


class TextDelta(Event):
    """A fragment of the model's streamed answer (`content`)."""

    type: Literal["text"] = "text"
    text: str


class ToolCall(Event):
    """The model called a tool; `arguments` is the parsed object, or the raw text if it was not JSON."""

    type: Literal["tool_call"] = "tool_call"
    id: str
    name: str
    arguments: Any
    title: str = ""
    """One line naming the tool and its key argument (`run_shell pytest -q`), from the tool itself;
    the tool's name alone when the call could not be understood."""


class ToolResultEvent(Event):
    """A tool finished. `ok` is false when it could not do what was asked."""

    type: Literal["tool_result"] = "tool_result"
    id: str
    name: str
    ok: bool
    output: str
    summary: str = ""
    duration_ms: float = 0.0
    diff: str | None = None


class Plan(Event):
    """The plan changed (via `update_plan`)."""

    type: Literal["plan"] = "plan"
    steps: list[PlanStep]
    explanation: str | None = None


class Verify(Event):
    """A verify command ran, or a constraint was checked, in goal mode."""

    type: Literal["verify"] = "verify"
    kind: Literal["command", "constraint"]
    command: str | None = None
    rule: str | None = None
    exit_code: int | None = None
    passed: bool
    output: str = ""


class Compaction(Event):
    """Earlier turns were summarised to fit the context window.

    Token counts are the local estimate of the request before and after (the provider counts
    only what is sent); a turn is one model reply with the tool results it asked for.
    """

    type: Literal["compaction"] = "compaction"
    tokens_before: int
    tokens_after: int
    dropped_turns: int
    """Turns replaced by the summary."""
    turns_kept: int = 0
    """The most recent turns kept verbatim after the summary."""


class Usage(Event):
    """Token use and cost of one model request."""

    type: Literal["usage"] = "usage"
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    cost_usd: float | None = None
    finish_reason: str | None = None
    estimated: bool = False
    """True when the host reported no usage: the token counts are glmcode's local estimate
    (request and answer bytes over the calibrated bytes-per-token ratio)."""


class Retry(Event):
    """A model request failed in a way worth retrying; the next attempt starts after `wait_s`."""

    type: Literal["retry"] = "retry"
    attempt: int
    reason: str
    wait_s: float


class Error(Event):
    """Something went wrong that the user should see; `kind` says what (api, config, length, ...)."""

    type: Literal["error"] = "error"
    kind: str
    message: str


class UsageTotals(BaseModel):
    """Usage summed over a whole session."""

    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    cost_usd: float | None = None
    estimated: bool = False
    """True when any request counted here had no usage from the host: the token counts (and the
    cost) are partly glmcode's local estimate."""

    @property
    def cached_share(self) -> float:
        return self.cached_tokens / self.prompt_tokens if self.prompt_tokens else 0.0

    def add(self, usage: Usage) -> None:
        """Count one request's `usage` (an estimated one marks the totals `estimated`)."""
        self.requests += 1
        self.estimated = self.estimated or usage.estimated
        self.prompt_tokens += usage.prompt_tokens
        self.completion_tokens += usage.completion_tokens
        self.cached_tokens += usage.cached_tokens
        if usage.cost_usd is not None:
            self.cost_usd = round((self.cost_usd or 0.0) + usage.cost_usd, 6)


class Result(Event):
    """The last event of every run, exactly once."""

    type: Literal["result"] = "result"
    status: ResultStatus
    exit_code: int
    summary: str
    usage: UsageTotals = Field(default_factory=UsageTotals)
    cached_share: float = 0.0
    turns: int = 0
    duration_s: float = 0.0
    report_path: str | None = None
    transcript_path: str | None = None
    verified: bool | None = None
    """Goal mode: true only when verify commands ran and all passed on the final round."""
    rounds: int | None = None
    """Goal mode: how many fix rounds were used."""
    refused_calls: int = 0
    """Tool calls of this run refused by the permission mode, a rule or the goal stage (DESIGN
    §3): a headless run that says "success" with refused edits did less than it was asked."""


AnyEvent = Annotated[
    SessionStart | Stage | ReasoningDelta | TextDelta | ToolCall | ToolResultEvent | Plan | Verify | Compaction | Usage | Retry | Error | Result,
    Field(discriminator="type"),
]

Emit = Callable[[Event], None]
"""Where the engine sends its events."""

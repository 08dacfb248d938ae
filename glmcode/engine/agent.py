"""The agent loop: ask the model, run the tools it calls, repeat until it stops calling tools.

The loop only appends to the conversation (so the provider's prefix cache keeps hitting), emits
typed events for every step, and never prints. Tool problems of every kind — unknown tool,
arguments that are not JSON or fail validation, refusals, crashes — become tool results the
model can read; the loop itself ends only when the model stops, a budget runs out, the API
fails for good, or the user interrupts.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from glmcode import prompts
from glmcode.engine.budget import Budget
from glmcode.engine.compaction import Compactor, Kept
from glmcode.engine.events import (
    Emit,
    Error,
    Plan,
    ReasoningDelta,
    TextDelta,
    ToolCall,
    ToolResultEvent,
    Usage,
    UsageTotals,
)
from glmcode.engine.loop_guard import LoopGuard
from glmcode.model.client import OUTPUT_CUT, ContextOverflow, GLMClient, RequestCancelled
from glmcode.model.conversation import Conversation, encode
from glmcode.model.tokens import TokenEstimator
from glmcode.model.turn import AssistantTurn, ParamTypes, RawToolCall, param_types_of
from glmcode.providers import cost_usd
from glmcode.redaction import Redactor
from glmcode.rules.permissions import CallInfo, Permissions
from glmcode.tools.base import ToolContext, ToolResult
from glmcode.tools.registry import BoundCall, InvalidArguments, ToolRegistry, UnknownTool, unbound_result
from glmcode.wording import plural

MAX_LENGTH_CONTINUATIONS = 2
MAX_EMPTY_NUDGES = 1
MAX_UNCLOSED_NUDGES = 1
"""Replies that end inside a raw `<tool_call>` the model is asked to redo before the run fails."""


class Interrupted(Exception):
    """The user stopped the run (Esc in the TUI, SIGINT/SIGTERM headless)."""


class ModelGaveUp(Exception):
    """The model stopped without a usable answer (empty replies, or answers cut off repeatedly)."""


class Looping(ModelGaveUp):
    """The model kept making the same tool call for the same result (`glmcode.engine.loop_guard`)."""


class Agent:
    """Drives one conversation: model turns and tool calls."""

    def __init__(
        self,
        *,
        client: GLMClient,
        conversation: Conversation,
        tools: ToolRegistry,
        ctx: ToolContext,
        permissions: Permissions,
        budget: Budget,
        emit: Emit,
        record: Callable[[dict[str, Any]], None],
        prices: tuple[float | None, float | None, float | None] = (None, None, None),
        redactor: Redactor | None = None,
        compactor: Compactor | None = None,
        record_compaction: Callable[[list[dict[str, Any]]], None] = lambda messages: None,
        kept: Callable[[], Kept] = lambda: Kept(task=None),
        checkpoint: Callable[[str], None] = lambda label: None,
    ) -> None:
        """`compactor` keeps requests inside the window (None: never compacted; then no estimate
        is made either but for usage a host does not report); `record_compaction(messages)`
        writes a new history to the transcript as one record; `kept()` says what a compaction
        re-injects (task, goal state, plan)."""
        self.client = client
        self.conversation = conversation
        self.tools = tools
        """The session's tools: the agent runs every call through them."""
        self.ctx = ctx
        self.permissions = permissions
        self.budget = budget
        self.emit = emit
        self._record = record
        self._prices = prices
        self._redactor = redactor or Redactor({})
        self._schemas_seen: list[dict] | None = None
        self._param_types_cache: ParamTypes = {}
        self._stop: type[Exception] | None = None
        self._stop_message = ""
        self.compactor = compactor
        self.estimator = compactor.estimator if compactor else TokenEstimator()
        """Estimates a request's tokens from its bytes, calibrated from the provider's usage."""
        self._record_compaction = record_compaction
        self._kept = kept
        self.compact_first = False
        """Compact before the next request whatever the estimate says (a resumed session that
        stopped on a context overflow)."""
        self._checkpoint = checkpoint
        self._checkpoint_due = False
        self.turns = 0
        """Model turns of the session: requests of the conversation itself. Side requests (the
        compaction summary) are not turns: they count in `usage.requests` and against the cost
        budget, never against `max_turns`."""
        self.usage = UsageTotals()
        """Usage of the whole session."""
        self.run_usage = UsageTotals()
        """Usage of the current run (what budgets and the run's `result` count)."""
        self._run_first_turn = 0
        self.last_prompt_tokens = 0
        self.run_refused = 0
        """Tool calls of the current run refused by the permission mode, a rule or the stage
        (their result's summary is `refused`): the run's `result.refused_calls`."""
        self.loop_guard = LoopGuard(root=ctx.root)
        """Notes, then stops, the same tool call repeated for the same result; reset each run and
        each new user message."""
        self._looping: str | None = None
        self.run_refused_edits = 0
        """File edits (calls of kind `edit`) of the current run that were refused."""
        self.run_changes = 0
        """Calls of the current run that ran and may have changed the workspace (file edits and
        commands not known to be read-only)."""
        self._first_edit_refusal = ""

    def append(self, message: dict[str, Any]) -> None:
        """Add a message to the conversation and the transcript."""
        self.conversation.append(message)
        self._record(message)

    def say(self, text: str) -> None:
        """Append a user message (only ever between tool loops), its secrets redacted: the
        harness puts untrusted text in them (verify output in goal fix rounds). A new message is
        a new situation: the loop guard starts counting afresh."""
        self.loop_guard.reset()
        self.append({"role": "user", "content": self._redactor.text(text)})

    def interrupt(self, reason: type[Exception] = Interrupted, message: str = "interrupted by the user") -> None:
        """Stop the run from another thread: the stream is closed and running tools are killed."""
        self._stop, self._stop_message = reason, message
        self.ctx.cancel.set()
        self.client.cancel()

    @property
    def run_turns(self) -> int:
        """Model turns of the current run."""
        return self.turns - self._run_first_turn

    def begin_run(self) -> None:
        """Start counting a new run: its own turns, usage and budget; no stale interrupt."""
        self.clear_interrupt()
        self._run_first_turn = self.turns
        self.run_usage = UsageTotals()
        self.run_refused = 0
        self.loop_guard.reset()
        self.run_refused_edits = self.run_changes = 0
        self._first_edit_refusal = ""
        self.budget.restart()

    def check_stopped(self) -> None:
        """Raise the pending stop (`Interrupted`, or `BudgetExhausted` from the time budget), if
        one came; for work outside the loop that an interrupt cuts short (the verify stage)."""
        self._raise_if_stopped()

    def clear_interrupt(self) -> None:
        """Forget an interrupt that came too late to stop the previous run."""
        self._stop = None
        self.ctx.cancel.clear()

    def run_until_idle(self) -> AssistantTurn:
        """Request turns and run tools until the model answers without calling a tool."""
        length_cuts = empty_nudges = unclosed_nudges = 0
        while True:
            self._raise_if_stopped()
            self.budget.check(self.run_turns, self.run_usage.cost_usd)
            turn = self._fitting_request()
            if turn.tool_calls and not self.client.config.provider.function_calling:
                self._drop_unoffered_calls(turn)
            self.append(turn.to_message())
            if turn.tool_calls:
                for index, call in enumerate(turn.tool_calls, 1):
                    if self._stop is not None:
                        result = ToolResult(ok=False, output=f"not run: {self._stop_message}")
                    else:
                        result = self._run_tool(
                            call, cut_off=turn.finish_reason in OUTPUT_CUT, last_in_turn=index == len(turn.tool_calls)
                        )
                    content = self._for_model(result)
                    if turn.unclosed_tool_call is not None and call is turn.tool_calls[-1]:
                        # never a user message inside a tool loop (DESIGN §2 rule 3): the note rides on the result
                        content += "\n\n" + prompts.render("unclosed_tool_call_after.md", why=_unclosed_why(turn))
                    self.append({"role": "tool", "tool_call_id": call.id, "content": content})
                if self._looping is not None:
                    looping, self._looping = self._looping, None
                    raise Looping(looping)
                continue
            broken = _broken_tool_call(turn)
            if broken is not None:
                if unclosed_nudges >= MAX_UNCLOSED_NUDGES:
                    raise ModelGaveUp(f"{broken}, {unclosed_nudges + 1} times in a row; nothing was run")
                unclosed_nudges += 1
                self.say(prompts.render("unclosed_tool_call.md", why=_unclosed_why(turn)))
                continue
            if turn.finish_reason in OUTPUT_CUT:
                if length_cuts >= MAX_LENGTH_CONTINUATIONS:
                    raise ModelGaveUp(
                        f"the answer was cut off by the output limit {length_cuts + 1} times (finish_reason {turn.finish_reason})"
                    )
                length_cuts += 1
                self.say(prompts.load("continue_after_length.md"))
                continue
            if turn.is_empty:
                if empty_nudges >= MAX_EMPTY_NUDGES:
                    raise ModelGaveUp("the model returned an empty answer twice")
                empty_nudges += 1
                self.say(prompts.load("empty_turn.md"))
                continue
            return turn

    def _fitting_request(self) -> AssistantTurn:
        """The next request, compacted first when its estimate passes the threshold, and
        compacted again (each time tighter) when the provider says it does not fit."""
        compactor = self.compactor
        if compactor is not None and (self.compact_first or compactor.due(self.conversation)):
            if self.compact_first:  # the provider refused this history before the session stopped
                compactor.learn(self.conversation.size_bytes())
                self.compact_first = False
                self.fit_output_budget()
            self.compact()
            self.budget.check(self.run_turns, self.run_usage.cost_usd)
        while True:
            try:
                turn = self._request()
            except ContextOverflow as overflow:
                if compactor is None:
                    raise
                self._recover(overflow)
                continue
            if compactor is not None:
                compactor.fitted()
            return turn

    def _recover(self, overflow: ContextOverflow) -> None:
        """The provider refused the request as too long: compact with a lower limit (keeping
        fewer turns each time in a row), or raise when nothing is left to drop."""
        compactor = self.compactor
        assert compactor is not None
        size = self.conversation.size_bytes()
        compactor.overflowed(size, overflow.window)
        self.fit_output_budget()
        if not compactor.can_compact(self.conversation):
            raise compactor.does_not_fit(self.estimator.tokens(size)) from None
        self.emit(Error(kind="context_overflow", message=f"{overflow.message}; compacting and retrying"))
        share = compactor.window.keep_share / (2 ** compactor.overflows)
        if not self.compact(keep_share=share):
            raise compactor.does_not_fit(self.estimator.tokens(size)) from None
        self.budget.check(self.run_turns, self.run_usage.cost_usd)

    def compact(self, keep_share: float | None = None) -> bool:
        """Compact the conversation now (emits `compaction`); False when there is no turn to drop
        (or no compactor). `keep_share` overrides the share of the window kept turns may fill.

        The summary is a side request (checked against the budgets, its usage and cost counted
        like any other request's, but not a turn: `max_turns` counts the model's own turns);
        its errors but an overflow propagate with the conversation unchanged.
        """
        if self.compactor is None:
            return False
        event = self.compactor.compact(self.conversation, ask=self._ask_side, commit=self._commit, kept=self._kept(), keep_share=keep_share)
        self.fit_output_budget()  # the summary request may have been refused too
        if event is None:
            return False
        self.emit(event)
        self.last_prompt_tokens = event.tokens_after
        return True

    def fit_output_budget(self) -> None:
        """Size the tool-output budget (`ctx.output_chars`, characters) from the input the host
        accepts: the configured window, or the lower limit the compactor learned from a refusal,
        so that a result still fits the requests the host takes (`Config.output_chars_within`)."""
        learned = self.compactor.learned_limit if self.compactor is not None else None
        self.ctx.output_chars = self.client.config.output_chars_within(learned)

    def _ask_side(self, body: bytes) -> AssistantTurn:
        """One side request (the compaction summary), budgets checked first; nothing enters the history."""
        self._raise_if_stopped()
        self.budget.check(self.run_turns, self.run_usage.cost_usd)
        return self._request(body)

    def _commit(self, messages: list[dict[str, Any]]) -> None:
        """Switch to a compacted history: one transcript record first, then the conversation."""
        self._record_compaction(messages)
        self.conversation.restart(messages)

    def _request(self, side: bytes | None = None) -> AssistantTurn:
        """One request: the conversation's body, or the `side` body (a compaction summary).

        Only the conversation's own answer streams as `text`/`reasoning` events: a side request's
        text is not the answer (its outcome is the `compaction` event), and its partial answer,
        if cancelled, is not kept."""
        def on_delta(kind: str, text: str) -> None:
            self.emit(ReasoningDelta(text=text) if kind == "reasoning" else TextDelta(text=text))

        def quiet(kind: str, text: str) -> None:
            """A side request's deltas: not shown (the `compaction` event says what happened)."""

        body = self.conversation.request_body() if side is None else side
        try:
            turn = self.client.complete(
                body, on_delta if side is None else quiet, turn_number=self.turns, param_types=self._param_types()
            )
        except RequestCancelled as cancelled:
            partial = cancelled.partial
            if side is None and partial is not None and (partial.content or partial.reasoning):
                self.append(partial.to_message())
            self._raise_if_stopped()
            raise Interrupted("the request was cancelled") from None
        if side is None:  # a side request (the compaction summary) counts against cost, not turns
            self.turns += 1
            self._checkpoint_due = True
        self._emit_usage(turn, len(body))
        return turn

    def _emit_usage(self, turn: AssistantTurn, body_bytes: int) -> None:
        """Emit the request's `usage`: the provider's, or the local estimate (`estimated`) when
        it reported none; a reported `prompt_tokens` calibrates the estimator."""
        raw = turn.usage or {}
        prompt_tokens = _count(raw, "prompt_tokens")
        cached = _count(raw.get("prompt_tokens_details"), "cached_tokens")
        completion = _count(raw, "completion_tokens")
        estimated = prompt_tokens == 0
        if estimated:
            prompt_tokens = self.estimator.tokens(body_bytes)
            completion = completion or self.estimator.tokens(len(encode(turn.to_message())))
        else:
            self.estimator.calibrate(body_bytes, prompt_tokens)
        usage = Usage(
            prompt_tokens=prompt_tokens,
            completion_tokens=completion,
            cached_tokens=cached,
            reasoning_tokens=_count(raw.get("completion_tokens_details"), "reasoning_tokens"),
            cost_usd=cost_usd(self._prices, prompt_tokens, cached, completion),
            finish_reason=turn.finish_reason,
            estimated=estimated,
        )
        self.usage.add(usage)
        self.run_usage.add(usage)
        self.last_prompt_tokens = prompt_tokens
        self.emit(usage)

    def _param_types(self) -> ParamTypes:
        """Each tool's parameter types, recomputed only when the registry's schemas change."""
        schemas = self.tools.schemas()
        if schemas is not self._schemas_seen:
            self._param_types_cache = param_types_of(schemas)
            self._schemas_seen = schemas
        return self._param_types_cache

    def _drop_unoffered_calls(self, turn: AssistantTurn) -> None:
        """A host without function calling was offered no tools: calls in its reply (raw
        `<tool_call>` text a self-hosted server left in the answer) are never run, and the user is
        told (an `error` event, kind `tools_unavailable`). Raises `ModelGaveUp` with that cause
        when the reply was nothing but calls (an empty-answer nudge would ask for tools again)."""
        names = ", ".join(sorted({call.name for call in turn.tool_calls}))
        turn.tool_calls = []
        message = (
            f"the model called {names}, but {self.client.config.provider.name} was offered no tools "
            "(no function calling there): nothing was run"
        )
        if not turn.content.strip():
            raise ModelGaveUp(message)  # a reply that was only calls: no nudge can make the host run tools
        self.emit(Error(kind="tools_unavailable", message=message))

    def _run_tool(self, call: RawToolCall, *, cut_off: bool, last_in_turn: bool = True) -> ToolResult:
        bound: BoundCall | None = None
        try:
            bound = self.tools.bind(call.name, call.arguments)
            title = bound.info.description
        except (UnknownTool, InvalidArguments) as e:
            failure, title = e, call.name
        self.emit(ToolCall(id=call.id, name=call.name, arguments=_arguments_for_display(call.arguments), title=title))
        started = time.perf_counter()
        if bound is not None:
            result = self.tools.run(bound, self.ctx, self._gate, call_id=call.id)
        elif cut_off and isinstance(failure, InvalidArguments):
            result = ToolResult(ok=False, output=prompts.load("cut_off_tool_call.md"), summary="cut off")
        else:
            result = unbound_result(failure, self.ctx)
        if result.summary == "refused":
            self.run_refused += 1
        if bound is not None and bound.info.mutates:
            self._count_change(bound.info.kind, result)
        result = self._guard(call, bound, result, last_in_turn)
        self.emit(
            ToolResultEvent(
                id=call.id, name=call.name, ok=result.ok, output=result.output, summary=result.summary,
                duration_ms=round((time.perf_counter() - started) * 1000, 2), diff=result.diff,
            )
        )
        if result.plan is not None:
            self.emit(Plan(steps=result.plan, explanation=self.ctx.plan_explanation))
        return result

    def _guard(self, call: RawToolCall, bound: BoundCall | None, result: ToolResult, last_in_turn: bool) -> ToolResult:
        """`result`, with the loop guard's note appended when the same call keeps returning the
        same thing; a stop verdict is kept for after the turn's last result (`Looping`). The guard
        compares the arguments the registry validated (defaults filled in) when the call bound."""
        if result.waiting:
            return result  # waiting on a running command is not a loop
        arguments: str | dict[str, Any] = call.arguments
        if bound is not None:
            arguments = bound.args.model_dump(mode="json")
        verdict = self.loop_guard.observe(
            call.name, arguments, self._for_model(result), last_in_turn=last_in_turn, raw=call.arguments
        )
        if verdict.stop:
            self._looping = (
                f"{self.loop_guard.stopped_on} returned the same result {verdict.repeats} times in a row "
                "despite a note asking for another approach"
            )
        if not verdict.note:
            return result
        return result.model_copy(update={"output": f"{result.output}\n\n{verdict.note}"})

    def _count_change(self, kind: str, result: ToolResult) -> None:
        """Count a mutating call: a refused file edit, or a change that ran (edit or command).

        Not counted: a refusal by a read-only stage (goal plan and report, /plan: the harness's
        own rule) or by the `read-only` permission mode (the user asked for no changes, e.g. an
        audit whose answer is the deliverable)."""
        if kind == "edit" and result.summary == "refused":
            if self.permissions.read_only_reason or self.permissions.mode == "read-only":
                return
            self.run_refused_edits += 1
            self._first_edit_refusal = self._first_edit_refusal or " ".join(result.output.split())
        elif result.ok and kind in ("edit", "exec"):
            self.run_changes += 1

    def edits_all_refused(self) -> str | None:
        """When this run tried to edit files and every edit was refused while nothing else changed
        the workspace: one sentence saying so, with the first refusal's reason (it says how to
        allow edits). None otherwise. Such a run did not do its task: its status is `failed`."""
        if not self.run_refused_edits or self.run_changes:
            return None
        edits = plural(self.run_refused_edits, "file edit")
        every = "it was" if self.run_refused_edits == 1 else "all were"
        return f"nothing was changed: the model tried {edits} and {every} refused ({self._first_edit_refusal})"

    def _gate(self, call: CallInfo) -> None:
        """Permissions first (raises `Refusal`); then, before the run's first change, a checkpoint."""
        self.permissions.check(call)
        if self._checkpoint_due and call.mutates:
            self._checkpoint_due = False
            self._checkpoint(f"before {call.description[:120]}")

    def _for_model(self, result: ToolResult) -> str:
        """The tool result as the model reads it, secrets redacted (a file or a command's output
        may hold the key or a token)."""
        text = result.output if result.ok else f"Error: {result.output}"
        return self._redactor.text(text)

    def _raise_if_stopped(self) -> None:
        if self._stop is not None:
            reason, message = self._stop, self._stop_message
            self.clear_interrupt()
            raise reason(message)


def _broken_tool_call(turn: AssistantTurn) -> str | None:
    """The cause, if `turn` (which has no runnable call) was only a broken tool call, else None:
    a raw `<tool_call>` left open, or `finish_reason: tool_calls` with no call in the stream."""
    if turn.unclosed_tool_call is not None:
        broken = "held a raw <tool_call> opened inside another" if turn.nested_tool_call else "ended inside an unclosed raw <tool_call>"
        return (
            f"the model's reply {broken} ({_unclosed_why(turn)}; the server "
            f"left GLM's tool-call text unparsed): {_snippet(turn.unclosed_tool_call)}"
        )
    if turn.finish_reason in ("tool_calls", "function_call"):
        return f"the provider ended the reply with finish_reason {turn.finish_reason} but no tool call arrived"
    return None


def _unclosed_why(turn: AssistantTurn) -> str:
    """Why a tool call of `turn` never arrived whole, in a few words."""
    if turn.unclosed_tool_call is not None and turn.nested_tool_call:
        return "another <tool_call> began inside it before its </tool_call>, so neither could be read"
    if turn.finish_reason in OUTPUT_CUT:
        return f"the output token limit cut it off, finish_reason {turn.finish_reason}"
    if turn.unclosed_tool_call is None:
        return f"finish_reason {turn.finish_reason} came, but no call arrived"
    return f"no </tool_call> before the reply ended, finish_reason {turn.finish_reason}"


def _snippet(text: str, limit: int = 120) -> str:
    """`text` cut to `limit` characters, as a JSON string (control characters escaped)."""
    return json.dumps(text[:limit], ensure_ascii=False) + ("…" if len(text) > limit else "")


def _count(usage: object, key: str) -> int:
    """A token count from a provider's usage object: 0 when absent or not a non-negative number."""
    value = usage.get(key) if isinstance(usage, dict) else None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        return 0
    return int(value)


def _arguments_for_display(raw: str) -> Any:
    """The arguments as a JSON value for the `tool_call` event, or the raw text if it is not JSON."""
    try:
        return json.loads(raw) if raw.strip() else {}
    except (ValueError, RecursionError):  # a digit limit or nesting past the stack: show the raw text
        return raw

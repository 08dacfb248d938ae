"""Compaction: keep a long task inside the context window without losing the task.

**When.** Before every request (tool results already appended) the request's tokens are
estimated locally (`glmcode.model.tokens`: body bytes over a ratio calibrated against the
provider's `prompt_tokens`). Past `threshold` of the usable window — the window minus the
output reserve — the history is compacted first. A provider's context-overflow error
(`ContextOverflow`) triggers the same, after lowering the limit glmcode believes in.

**What the new history holds.** The system prompt (the same message, byte for byte: the cache
keeps it); one `user` message (`compacted.md`) with the task as given (verbatim), the latest
instruction when it was dropped, the state glmcode keeps (a goal's stage, round, verify
commands, verify history, and the plan with its step states — from `goal.json`), and a summary
of the dropped turns written by the model; then the most recent turns, verbatim, as many as fit
in `keep_share` of the usable window. The cut is always just before an assistant message, so a
tool call is never split from its result, and at least one turn is dropped — except the last
turn when the history ends with tool results the model has not read (not even in the summary
request, which had to leave them out): that turn is kept, its results cut to fit (head and
tail), rather than dropped unseen.

**The summary request** is a side request: its body is the conversation with the compaction
instruction (`compact.md`) added to the last message when that is a tool result or a user
message (GLM's rule: never a `user` message inside a tool loop), or appended as a `user`
message after a final answer. Nothing of it enters the real history. When it would not fit,
the oldest tool outputs are replaced by a short note, then the oldest turns left out, until it
does. A tool call in its answer is answered with "not run" and the summary asked for once
more; failing that (or on an overflow of the summary request itself) glmcode writes the summary
from the dropped turns (`compact_fallback.md`). The caller's `ask` checks the budgets and
counts the request like any other.

**On disk** the switch is one transcript record holding the whole new history (`commit`): a
kill before it leaves the old history, a torn record is skipped by the reader, and after it
the new history is what a resume replays.

The module knows the conversation and callbacks, not the agent, so the two do not import
each other.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from glmcode import output_budget, prompts
from glmcode.engine.events import Compaction
from glmcode.model.client import ContextOverflow
from glmcode.model.conversation import Conversation, encode
from glmcode.model.tokens import TokenEstimator
from glmcode.model.turn import AssistantTurn

if TYPE_CHECKING:
    from glmcode.engine.goal_state import GoalState
    from glmcode.tools.base import PlanStep

SUMMARY_SHARE = 0.12
"""Share of the usable window the summary may fill (longer ones keep their head and tail)."""
STATE_SHARE = 0.12
"""Share of the usable window the task, the latest instruction and the kept state may fill each."""
RESULT_SHARE = 0.6
"""A compacted request takes at most this share of the input limit when it can (fewer kept
turns otherwise), so that many turns fit before the threshold comes round again: compacting a
turn at a time would cost a summary request per turn."""
OVERFLOW_MARGIN = 0.9
"""After an overflow, the limit believed in becomes this share of the refused request's estimate."""
MAX_OVERFLOW_RECOVERIES = 3
"""Overflows in a row (no request in between that fit) before glmcode gives up with exit 3."""
_SNIPPET = 240
"""Characters of a message the harness-written summary quotes."""

Ask = Callable[[bytes], AssistantTurn]
"""Sends one side request body and returns the answer: checks budgets first, counts the
request, streams its text; raises `ContextOverflow`, other `APIFailure`s, `BudgetExhausted`,
`Interrupted`."""
Commit = Callable[[list[dict[str, Any]]], None]
"""Makes a new history the conversation's, atomically on disk (one transcript record)."""


@dataclass(frozen=True)
class Window:
    """Token arithmetic of a session's context window (all counts in tokens)."""

    context_window: int
    reserve: int
    """Kept free for the answer."""
    threshold: float = 0.85
    keep_share: float = 0.25

    @classmethod
    def of(cls, context_window: int, max_tokens: int, reserve: int | None, threshold: float, keep_share: float) -> Window:
        """The window of a config: `reserve` None means `max_tokens`, at most a quarter of the window."""
        if reserve is None:
            reserve = min(max_tokens, context_window // 4)
        return cls(context_window, min(reserve, context_window - 1), threshold, keep_share)

    @property
    def usable(self) -> int:
        """Tokens a request's input may take: the window minus the reserve (≥ 1)."""
        return max(self.context_window - self.reserve, 1)


@dataclass
class Kept:
    """What compaction re-injects besides the summary: the task and the state glmcode keeps."""

    task: str | None
    """The original task or goal, verbatim (None: the first user message is taken)."""
    state: str = ""
    """The rendered goal state and plan (`render_state`), or empty."""


def render_state(plan: list[PlanStep], explanation: str | None, goal: GoalState | None) -> str:
    """The state block of the compacted message: a goal's stage, round, verify commands and
    verify history (when `goal` is given) and the plan with its step states (when there is one)."""
    plan_block = ""
    if plan:
        marks = {"completed": "x", "in_progress": "~", "pending": " "}
        steps = "\n".join(f"- [{marks.get(step.status, ' ')}] {step.step} ({step.status})" for step in plan)
        plan_block = prompts.render("compacted_plan.md", steps=steps, explanation=f"\nVerified by: {explanation}" if explanation else "")
    if goal is None:
        return plan_block
    rounds = []
    for number, checks in enumerate(goal.history):
        lines = ", ".join(
            f"{'PASS' if check.passed else 'FAIL'} `{check.name}`" + (f" (exit {check.exit_code})" if check.exit_code not in (None, 0) else "")
            for check in checks
        )
        rounds.append(f"- verify {number + 1}: {lines or 'no checks'}")
    history = prompts.render("compacted_history.md", rounds="\n".join(rounds)) if rounds else ""
    commands = ", ".join(f"`{command}`" for command in goal.verify_commands) or "(none declared)"
    header = prompts.render("compacted_goal.md", stage=goal.stage, round=goal.round, max_rounds=goal.max_fix_rounds, commands=commands)
    return "\n\n".join(part.strip("\n") for part in (header, plan_block, history) if part.strip()) + "\n"


class Compactor:
    """Decides when to compact and does it, for one conversation's window."""

    def __init__(self, window: Window, estimator: TokenEstimator) -> None:
        self.window = window
        self.estimator = estimator
        self.learned_limit: int | None = None
        """The input limit an overflow taught (tokens, by the estimate), when below the window's."""
        self.overflows = 0
        """Overflows in a row since a request last fit."""
        self.instruction: str | None = None
        """The latest instruction the last compaction quoted: quoted again while no newer one
        came (the transcript's compaction record keeps it for a resume)."""

    @property
    def input_limit(self) -> int:
        """Estimated tokens a request may take: the usable window, or less after an overflow."""
        usable = self.window.usable
        return min(usable, self.learned_limit) if self.learned_limit else usable

    @property
    def trigger(self) -> int:
        """Past this many estimated tokens the next request is compacted first."""
        return max(int(self.input_limit * self.window.threshold), 1)

    def tokens(self, conversation: Conversation) -> int:
        """The next request's estimated tokens."""
        return self.estimator.tokens(conversation.size_bytes())

    def due(self, conversation: Conversation) -> bool:
        """Whether the next request would pass the threshold (and there is a turn to drop)."""
        return self.tokens(conversation) > self.trigger and self.can_compact(conversation)

    @staticmethod
    def can_compact(conversation: Conversation) -> bool:
        """Whether the conversation has a turn (a model reply) that compaction could drop."""
        return _first_turn(conversation.messages) is not None

    def fitted(self) -> None:
        """A request fit: overflows no longer come in a row."""
        self.overflows = 0

    def overflowed(self, body_bytes: int, window: int | None = None) -> None:
        """The provider refused a body of `body_bytes` as too long (saying its context `window`
        in tokens, when it did): believe in a lower limit.

        Raises `ContextOverflow` (exit 3) when that happened `MAX_OVERFLOW_RECOVERIES` times in a
        row: even a minimal request does not fit.
        """
        self.overflows += 1
        self.learn(body_bytes, window)
        if self.overflows > MAX_OVERFLOW_RECOVERIES:
            raise self.does_not_fit(self.estimator.tokens(body_bytes))

    def learn(self, body_bytes: int, window: int | None = None) -> None:
        """A body of `body_bytes` did not fit: the limit believed in drops below its estimate,
        and below the host's stated `window` (tokens) minus room for the answer when it said one."""
        limit = int(self.estimator.tokens(body_bytes) * OVERFLOW_MARGIN)
        if window:
            limit = min(limit, window - min(self.window.reserve, window // 4))
        self.learned_limit = max(min(self.input_limit, limit), 1)

    def does_not_fit(self, tokens: int) -> ContextOverflow:
        """The error that ends a run whose smallest request does not fit the window."""
        against = f"against a window of {self.window.context_window:,} with {self.window.reserve:,} kept for the answer"
        if self.learned_limit and self.learned_limit < self.window.usable:
            against = (
                f"against the about {self.learned_limit:,} tokens the host accepts (it refused larger requests; "
                f"the configured window is {self.window.context_window:,})"
            )
        return ContextOverflow(
            f"even a minimal request does not fit the model's context window: about {tokens:,} tokens "
            f"(estimated; system prompt, tools, task and summary) {against}. Raise context_window if the model allows more, "
            "lower max_tokens (vLLM-style hosts count it against the window), or shorten the task or the "
            "repository's rules"
        )

    def compact(self, conversation: Conversation, *, ask: Ask, commit: Commit, kept: Kept, keep_share: float | None = None) -> Compaction | None:
        """Compact `conversation` (see the module docstring); return the `Compaction` event to emit,
        or None when there is no turn to drop (or the only one holds unread results that cutting
        would not make smaller). `keep_share` overrides the window's share of kept turns.

        Errors of the summary request other than an overflow (`APIFailure`, `BudgetExhausted`,
        `Interrupted`) propagate with the conversation unchanged.
        """
        messages = conversation.messages
        first = _first_turn(messages)
        if first is None:
            return None
        tokens_before = self.tokens(conversation)
        share = self.window.keep_share if keep_share is None else keep_share
        cut = _cut(conversation, first, self.estimator.bytes_for(int(self.input_limit * share)))
        unseen = _unseen_turn(messages)
        if unseen is not None and _first_turn(messages) == unseen and not summary_body(conversation, self.estimator.bytes_for(self.input_limit))[1]:
            summary, read_last = "", False  # the one turn holds results the model cannot read yet: nothing to summarise
        else:
            summary, read_last = self._summary(conversation, ask)
        if unseen is not None and not read_last:
            cut = min(cut, unseen)
        new = self._history(conversation, cut, summary or _harness_summary(messages[1:cut]), kept, unseen)
        kept_turns = sum(1 for message in new[2:] if message.get("role") == "assistant")
        dropped = sum(1 for message in messages if message.get("role") == "assistant") - kept_turns
        if not dropped and sum(len(encode(message)) + 1 for message in new) >= conversation.size_bytes() - conversation.head_size:
            return None  # only unread results to cut, and cutting them gains nothing
        commit(new)
        return Compaction(tokens_before=tokens_before, tokens_after=self.tokens(conversation), dropped_turns=dropped, turns_kept=kept_turns)

    def _summary(self, conversation: Conversation, ask: Ask) -> tuple[str, bool]:
        """The model's summary of the conversation, or "" when it wrote none (tool calls twice,
        an empty answer, or a summary request that did not fit); and whether the summary was
        written from a request holding the last message whole (so the model read the newest
        tool results, if the history ends with some)."""
        for _ in range(MAX_OVERFLOW_RECOVERIES):
            body, whole = summary_body(conversation, self.estimator.bytes_for(self.input_limit))
            try:
                turn = ask(body)
                if turn.tool_calls:
                    turn = ask(_asked_again(body, turn))
            except ContextOverflow as overflow:
                self.learn(len(body), overflow.window)
                continue
            summary = "" if turn.tool_calls else turn.content.strip()
            return summary, bool(summary) and whole
        return "", False

    def _history(self, conversation: Conversation, cut: int, summary: str, kept: Kept, unseen: int | None = None) -> list[dict[str, Any]]:
        """The new history: system prompt, the compacted message, the turns from `cut` on — fewer
        turns if the whole would pass `RESULT_SHARE` of the input limit. The turn at `unseen`
        (the last one, whose tool results the model has not read yet) is never dropped: its
        results are cut to fit instead (`_fit_results`)."""
        messages = conversation.messages
        chars = max(self.estimator.bytes_for(int(self.input_limit * STATE_SHARE)), output_budget.MIN_LIMIT)
        summary_chars = max(self.estimator.bytes_for(int(self.input_limit * SUMMARY_SHARE)), output_budget.MIN_LIMIT)
        task = kept.task if kept.task is not None else _first_user(messages)
        limit = self.estimator.bytes_for(int(self.input_limit * RESULT_SHARE))
        while True:
            context = {
                "role": "user",
                "content": prompts.render(
                    "compacted.md",
                    task=output_budget.cut(task or "(no task was given)", chars),
                    latest=_block(self._latest_instruction(messages, cut, task, chars)),
                    state=_block(output_budget.cut(kept.state, chars) if kept.state else ""),
                    summary=output_budget.cut(summary, summary_chars),
                ),
            }
            fixed = conversation.head_size + conversation.message_size(0) + len(encode(context)) + 1
            if cut >= len(messages) or fixed + sum(conversation.message_size(i) for i in range(cut, len(messages))) <= limit:
                break
            if cut == unseen:
                room = limit - fixed - sum(conversation.message_size(i) for i in range(cut, len(messages)) if messages[i].get("role") != "tool")
                return [messages[0], context, *messages[cut : cut + 1], *_fit_results(messages[cut + 1 :], room)]
            cut = _next_turn(messages, cut + 1)
            if unseen is not None:
                cut = min(cut, unseen)
        return [messages[0], context, *messages[cut:]]


    def _latest_instruction(self, messages: list[dict[str, Any]], cut: int, task: str | None, chars: int) -> str:
        """The block quoting the last dropped `user` message (or, when that is an earlier
        compacted message, the instruction it quoted), unless a kept one follows it or it is the
        task itself; else empty. Remembers what it quoted in `instruction`."""
        quoted: str | None = None
        if not any(message.get("role") == "user" for message in messages[cut:]):
            for message in reversed(messages[1:cut]):
                if message.get("role") == "user":
                    quoted = self.instruction if _is_compacted(message) else str(message.get("content") or "")
                    break
        self.instruction = quoted if quoted and quoted != task else None
        if self.instruction is None:
            return ""
        return prompts.render("compacted_latest.md", instruction=output_budget.cut(self.instruction, chars))


def _block(text: str) -> str:
    """An optional section of `compacted.md`: `text` (its leading and trailing blank lines
    dropped) and one blank line after it, or nothing."""
    return f"{text.strip(chr(10)).rstrip()}\n\n" if text.strip() else ""


def summary_body(conversation: Conversation, limit_bytes: int) -> tuple[bytes, bool]:
    """The side request that asks for the summary, at most `limit_bytes` long when it can be,
    and whether it holds the conversation's last message whole (False: that tool output was
    replaced by a note).

    The instruction goes into the last message when that is a tool result or a user message,
    else it is a new `user` message after the model's final answer. Too long, the oldest tool
    outputs are replaced by a note (the last one too, when needed), then the oldest turns left
    out, until it fits or nothing more can go.
    """
    messages = conversation.messages
    instruction = prompts.load("compact.md")
    last = messages[-1]
    if last.get("role") in ("tool", "user"):
        keep, tail = len(messages) - 1, {**last, "content": f"{last.get('content') or ''}\n\n{instruction}"}
    else:
        keep, tail = len(messages), {"role": "user", "content": instruction}
    body = conversation.body_with([tail], keep)
    if len(body) <= limit_bytes:
        return body, True
    middle = messages[1:keep]
    sizes = [conversation.message_size(i) for i in range(1, keep)]
    size = len(body)
    for index, message in enumerate(middle):
        if size <= limit_bytes:
            break
        if message.get("role") == "tool":
            trimmed = {**message, "content": prompts.render("compact_trimmed.md", chars=f"{len(message.get('content') or ''):,}")}
            size -= sizes[index] - len(encode(trimmed)) - 1
            middle[index] = trimmed
    whole = True
    if size > limit_bytes and tail.get("role") == "tool":
        content = str(last.get("content") or "")
        trimmed_tail = {**tail, "content": f"{prompts.render('compact_trimmed.md', chars=f'{len(content):,}')}\n\n{instruction}"}
        size -= len(encode(tail)) - len(encode(trimmed_tail))
        tail, whole = trimmed_tail, False
    while size > limit_bytes:
        drop = _next_turn(middle, 1)
        if drop >= len(middle):
            break
        size -= sum(len(encode(message)) + 1 for message in middle[:drop])
        middle = middle[drop:]
    return conversation.body_with([*middle, tail], 1), whole


def _asked_again(body: bytes, turn: AssistantTurn) -> bytes:
    """`body` plus the answer that called tools and a "not run" result for each call, the last
    result asking again for the summary only."""
    message = turn.to_message()
    results = [
        {"role": "tool", "tool_call_id": call.id, "content": prompts.load("compact_no_tools.md")} for call in turn.tool_calls
    ]
    results[-1] = {**results[-1], "content": f"{results[-1]['content']}\n\n{prompts.load('compact.md')}"}
    added = b",".join(encode(m) for m in (message, *results))
    return body[:-2] + b"," + added + b"]}"


def _unseen_turn(messages: list[dict[str, Any]]) -> int | None:
    """Index of the last turn when the history ends with its tool results (the model has not
    read them yet: they came after its last request), else None."""
    if not messages or messages[-1].get("role") != "tool":
        return None
    return next((i for i in range(len(messages) - 1, 0, -1) if messages[i].get("role") == "assistant"), None)


def _fit_results(results: list[dict[str, Any]], room_bytes: int) -> list[dict[str, Any]]:
    """The tool results `results` with their contents cut (head and tail kept, a note of what
    was left out) so that, encoded, they take about `room_bytes` together; none is cut below
    `output_budget.MIN_LIMIT` characters, so the whole may stay larger when there is no room."""
    hint = prompts.load("compact_cut_result.md").strip()
    sizes = [len(encode(message)) + 1 for message in results]
    total = sum(sizes)
    fitted = list(results)
    for index, message in enumerate(results):
        if total <= room_bytes:
            break
        content = str(message.get("content") or "")
        share = max(room_bytes, 0) * sizes[index] // max(sum(sizes), 1)
        chars = max(output_budget.MIN_LIMIT, len(content) * share // max(sizes[index], 1))
        if chars >= len(content):
            continue
        fitted[index] = {**message, "content": output_budget.cut(content, chars, hint)}
        total -= sizes[index] - len(encode(fitted[index])) - 1
    return fitted


def _first_turn(messages: list[dict[str, Any]]) -> int | None:
    """Index of the first assistant message after the system prompt (None: no turn to drop)."""
    return next((i for i in range(1, len(messages)) if messages[i].get("role") == "assistant"), None)


def _next_turn(messages: list[dict[str, Any]], start: int) -> int:
    """Index of the first assistant message at or after `start`, else `len(messages)`."""
    return next((i for i in range(start, len(messages)) if messages[i].get("role") == "assistant"), len(messages))


def _cut(conversation: Conversation, first: int, keep_bytes: int) -> int:
    """Where the kept turns start: the earliest assistant message after the first turn such that
    it and everything after it fit in `keep_bytes`; `len(messages)` when no turn fits."""
    messages = conversation.messages
    cut, total = len(messages), 0
    for index in range(len(messages) - 1, first, -1):
        total += conversation.message_size(index)
        if total > keep_bytes:
            break
        if messages[index].get("role") == "assistant":
            cut = index
    return cut


def _is_compacted(message: dict[str, Any]) -> bool:
    """Whether `message` is the compacted message of an earlier compaction."""
    head = prompts.load("compacted.md").split("]", 1)[0]
    return message.get("role") == "user" and str(message.get("content") or "").startswith(head)


def _first_user(messages: list[dict[str, Any]]) -> str | None:
    for message in messages[1:]:
        if message.get("role") == "user" and not _is_compacted(message):
            return str(message.get("content") or "")
    return None


def _harness_summary(dropped: list[dict[str, Any]]) -> str:
    """A summary glmcode writes itself from the dropped turns: who said or called what, and
    what the results began with, the most recent last (the caller cuts it to size)."""
    lines = []
    for message in dropped:
        role, content = message.get("role"), " ".join(str(message.get("content") or "").split())
        if _is_compacted(message):
            lines.append(f"- earlier compaction: …{content[-_SNIPPET * 4:]}")
        elif role == "user":
            lines.append(f"- user: {content[:_SNIPPET]}")
        elif role == "assistant":
            if content:
                lines.append(f"- you: {content[:_SNIPPET]}")
            for call in message.get("tool_calls") or ():
                function = call.get("function") or {}
                arguments = function.get("arguments")
                arguments = arguments if isinstance(arguments, str) else json.dumps(arguments, ensure_ascii=False)
                lines.append(f"- you called {function.get('name')} {arguments[:_SNIPPET]}")
        elif role == "tool":
            lines.append(f"  result ({len(content):,} characters): {content[:_SNIPPET // 2]}")
    return prompts.render("compact_fallback.md", turns="\n".join(lines) or "(nothing)")

"""One presentation of events: the words, marks and numbers every front end shows.

The text renderer, the Rich renderer and the Textual app summarise events only through this
module, so a tool call, a tool result, a usage total or a run's result reads the same everywhere.
It returns plain strings and small frozen dataclasses (no Rich, no Textual): each renderer styles
them itself, keyed on the `tone` a line carries (`ok`, `failed`, `exited`, `warning`, `neutral`).

Much of what is shown is untrusted (the model's tool arguments, tool output, provider error
messages): every string taken from an event goes through `one_line` or `printable`, which turn
control characters (an escape sequence among them) into visible symbols, so nothing an event
carries can drive the terminal.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from glmcode.engine.events import (
    Compaction,
    Error,
    PlanStep,
    Result,
    Retry,
    Stage,
    ToolCall,
    ToolResultEvent,
    Usage,
    UsageTotals,
    Verify,
)
from glmcode.providers import Provider, tool_hosts
from glmcode.wording import plural

Tone = Literal["ok", "failed", "exited", "warning", "neutral"]
"""How a line should look: ok (green), failed (red), exited (a command ran and exited non-zero:
yellow, never green), warning (yellow), neutral (no colour)."""

TITLE_CHARS = 90
"""A tool call's one-line title is cut to this many characters."""
REFUSAL_CHARS = 600
"""A refusal's line is cut only past this many characters (it ends with how to allow the call)."""
DETAIL_CHARS = 120
"""The first line of a failed tool's output, as shown after its mark, is cut to this many characters."""
TAIL_LINES = 10
"""How many last lines of a failed verify command's output are shown."""
KEY_ARGUMENTS = ("command", "path", "pattern", "paths", "args")
"""The arguments that say what a call does, in the order they are looked for."""
STAGES = ("plan", "implement", "verify", "report")
"""Goal mode's stages in order (DESIGN.md §5)."""
PLAN_MARKS = {"completed": "✓", "in_progress": "▶", "pending": "·"}
"""The mark before a plan step, by its status."""

_EXIT = re.compile(r"\bexit (-?\d+)\b")
_SPACES = re.compile(r"[ \t\f\v]+")


# -- words and numbers -----------------------------------------------------------------------


def count_label(count: int) -> str:
    """`950`, `1.0k`, `12.3k`, `3.4M`: a count with k/M units, one decimal (never `1000.0k`)."""
    if abs(count) < 1000:
        return str(count)
    if abs(round(count / 1000, 1)) < 1000:
        return f"{count / 1000:.1f}k"
    return f"{count / 1_000_000:.1f}M"


def tokens_label(count: int) -> str:
    """`1 token`, `950 tokens`, `12.3k tokens`."""
    return plural(count, "token", number=count_label(count))


def duration_label(seconds: float) -> str:
    """`0ms`, `230ms`, `2.3s`, `59.9s`, `1m 05s`, `2h 03m`: a duration in the unit that reads best."""
    if seconds < 0.9995:
        return f"{max(seconds, 0.0) * 1000:.0f}ms"
    if seconds < 59.95:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def cost_label(cost_usd: float | None) -> str:
    """`$0.0123`, or `—` when the cost is unknown (no prices for the provider)."""
    return "—" if cost_usd is None else f"${cost_usd:.4f}"


def share_label(share: float) -> str:
    """`40%` for 0.4."""
    return f"{share:.0%}"


BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
"""Characters that reorder the text around them (the "Trojan Source" trick: a command that reads
one way and runs another); shown as `⟨U+202E⟩` so nothing reorders what the user reads."""
LINE_SEPARATORS = frozenset("\u2028\u2029")
"""Unicode line and paragraph separators: some terminals break the line, some do not; shown as `⟨U+2028⟩`."""


def printable(text: str) -> str:
    """`text` with every control character but newline and tab shown as a symbol (ESC as `␛`).

    A carriage return ends a line (CRLF is one newline; a lone CR, as progress bars print, starts
    a new one rather than overwriting). Other C0 characters become their Unicode control pictures,
    DEL `␡`, C1 characters `�`, bidirectional controls and Unicode line separators `⟨U+XXXX⟩`.
    Safe to write to a terminal. This is the one helper every front end shows untrusted text with
    (streamed deltas go through `StreamCleaner`, which calls it).
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not any(_is_control(char) for char in text):
        return text
    return "".join(_picture(char) if _is_control(char) else char for char in text)


def _is_control(char: str) -> bool:
    code = ord(char)
    return (code < 32 and char not in "\n\t") or 0x7F <= code <= 0x9F or char in BIDI_CONTROLS or char in LINE_SEPARATORS


def _picture(char: str) -> str:
    code = ord(char)
    if code < 32:
        return chr(0x2400 + code)
    if code == 0x7F:
        return "␡"
    return "�" if code <= 0x9F else f"⟨U+{code:04X}⟩"


class StreamCleaner:
    """`printable` for text that arrives in fragments (streamed answers and reasoning).

    Keeps one character of state: a fragment that ends in CR holds it back until the next one
    shows whether it was half of a CRLF (one newline) or a lone CR (a newline too, never an
    overwrite of the line). `flush()` releases what is held when the stream ends.
    """

    def __init__(self) -> None:
        self._cr = False

    def feed(self, text: str) -> str:
        """The printable form of `text`, given what came before it."""
        if self._cr:
            text = "\r" + text
        self._cr = text.endswith("\r")
        return printable(text[:-1] if self._cr else text)

    def flush(self) -> str:
        """What is held back (a newline for a final CR, else nothing); the cleaner starts afresh."""
        held, self._cr = self._cr, False
        return "\n" if held else ""


def one_line(text: str, limit: int | None = None) -> str:
    """`text` on one printable line: newlines shown as `⏎`, runs of spaces and tabs as one space,
    cut to `limit` characters with `…` at the end."""
    line = _SPACES.sub(" ", printable(text).strip().replace("\n", "⏎"))
    if limit is not None and len(line) > limit:
        return line[: max(limit - 1, 0)] + "…"
    return line


def _tail(text: str, lines: int) -> str:
    kept = printable(text).strip().split("\n")[-lines:]
    return "\n".join(kept) if any(line.strip() for line in kept) else ""


# -- tool calls and results --------------------------------------------------------------------


def key_argument(name: str, arguments: Any) -> str:
    """What a call does in a few words: its command, path, pattern, paths or args (`3 steps` for
    `update_plan`); the raw text if the arguments were not an object. Not yet cut or cleaned."""
    if isinstance(arguments, dict):
        if name == "update_plan" and isinstance(arguments.get("steps"), list):
            return plural(len(arguments["steps"]), "step")
        value: Any = next((arguments[key] for key in KEY_ARGUMENTS if key in arguments), "")
        if isinstance(value, list):
            value = " ".join(str(item) for item in value)
        return str(value)
    return "" if arguments is None else str(arguments)


@dataclass(frozen=True)
class CallLine:
    """A tool call on one line: the tool's `name` and the `detail` after it (either may be empty)."""

    name: str
    detail: str

    def __str__(self) -> str:
        return f"{self.name} {self.detail}".strip()


def call_line(name: str, arguments: Any, title: str = "", limit: int = TITLE_CHARS) -> CallLine:
    """The one-line title of a call: the tool's own `title` if it gave one (`read_file src/a.py`),
    else its name and key argument; at most `limit` characters in all, printable."""
    name = one_line(name)
    title = one_line(title)
    if not title:
        title = f"{name} {one_line(key_argument(name, arguments))}".strip()
    title = one_line(title, limit)
    if title == name or title.startswith(name + " "):
        return CallLine(name, title[len(name) :].strip())
    return CallLine("", title)


def tool_call_line(event: ToolCall, limit: int = TITLE_CHARS) -> CallLine:
    """`call_line` of a `tool_call` event (its `title` preferred when the engine set one)."""
    return call_line(event.name, event.arguments, event.title, limit)


def exit_code_in(summary: str) -> int | None:
    """The exit code a tool's summary carries (`exit 1`, `failed (exit 2)`), or None."""
    match = _EXIT.search(summary)
    return int(match.group(1)) if match else None


@dataclass(frozen=True)
class ToolResultLine:
    """How a tool call ended, on one line: `✓ 12 lines · 3ms`, `! exit 1 · 0.2s`, `✗ not found`.

    `outcome` is `ok`; `exited` when a command ran and exited non-zero (DESIGN.md §6: `ok` is
    true, the exit code in the summary), never shown as a success; or `failed` when the tool could
    not do what was asked. `duration` is empty when the event carries none.
    """

    outcome: Literal["ok", "exited", "failed"]
    text: str
    duration: str

    @property
    def mark(self) -> str:
        """`✓` ok, `!` exited non-zero, `✗` failed."""
        return {"ok": "✓", "exited": "!", "failed": "✗"}[self.outcome]

    @property
    def tone(self) -> Tone:
        """The tone to style the mark and notes with: the outcome itself."""
        return self.outcome

    @property
    def notes(self) -> list[str]:
        """The text and the duration (when known), to be joined with ` · `."""
        return [self.text, self.duration] if self.duration else [self.text]

    def __str__(self) -> str:
        return f"{self.mark} " + " · ".join(self.notes)


def tool_result_line(event: ToolResultEvent, limit: int = DETAIL_CHARS) -> ToolResultLine:
    """The `ToolResultLine` of a `tool_result` event: its summary (`done` if none); for a failure
    the first non-blank line of its output (else its summary), cut to `limit` characters — except
    a refusal, shown whole (up to `REFUSAL_CHARS`): its end says how the user can allow the call."""
    duration = duration_label(event.duration_ms / 1000) if event.duration_ms > 0 else ""
    summary = one_line(event.summary, limit)
    if not event.ok:
        first = next((line for line in event.output.split("\n") if line.strip()), "")
        shown = REFUSAL_CHARS if event.summary == "refused" else limit
        return ToolResultLine("failed", one_line(first, shown) or summary or "failed", duration)
    exit_code = exit_code_in(event.summary)
    outcome: Literal["ok", "exited"] = "exited" if exit_code not in (None, 0) else "ok"
    return ToolResultLine(outcome, summary or "done", duration)


# -- goal mode: stages, plans, verify ----------------------------------------------------------


@dataclass(frozen=True)
class StageLine:
    """A goal stage: `label` is `implement · fix round 1`; `position` is `2/4` (empty for a stage
    not in `STAGES`)."""

    name: str
    round: int

    @property
    def label(self) -> str:
        """`implement`, or `implement · fix round 1` in a fix round."""
        return self.name + (f" · fix round {self.round}" if self.round else "")

    @property
    def position(self) -> str:
        """`2/4`: where the stage is in plan → implement → verify → report; empty if not one of them."""
        return f"{STAGES.index(self.name) + 1}/{len(STAGES)}" if self.name in STAGES else ""

    def __str__(self) -> str:
        return self.label


def stage_line(event: Stage) -> StageLine:
    """The `StageLine` of a `stage` event."""
    return StageLine(one_line(event.name), event.round)


def plan_mark(status: str) -> str:
    """`✓` completed, `▶` in progress, `·` pending (or unknown)."""
    return PLAN_MARKS.get(status, "·")


def plan_progress(steps: Iterable[PlanStep]) -> str:
    """`1/3`: completed steps of all steps."""
    statuses = [step.status for step in steps]
    return f"{statuses.count('completed')}/{len(statuses)}"


def plan_lines(steps: Iterable[PlanStep]) -> list[str]:
    """One line a step: `✓ Read calc.py`, `▶ Fix add`, `· Run tests`."""
    return [f"{plan_mark(step.status)} {one_line(step.step)}" for step in steps]


@dataclass(frozen=True)
class VerifyLine:
    """A verify command or constraint check: `✓ verify pytest -q (exit 0)`, `✗ constraint Do not commit`.

    `label` is what was checked with its exit code; `tail` the last `TAIL_LINES` lines of a
    failure's output (empty when it passed or printed nothing).
    """

    kind: str
    passed: bool
    label: str
    tail: str

    @property
    def mark(self) -> str:
        """`✓` passed, `✗` failed."""
        return "✓" if self.passed else "✗"

    @property
    def tone(self) -> Tone:
        """`ok` or `failed`."""
        return "ok" if self.passed else "failed"

    @property
    def text(self) -> str:
        """`verify <command> (exit N)` or `constraint <rule>`."""
        return ("verify " if self.kind == "command" else "constraint ") + self.label

    def __str__(self) -> str:
        return f"{self.mark} {self.text}"


def verify_line(event: Verify, tail_lines: int = TAIL_LINES) -> VerifyLine:
    """The `VerifyLine` of a `verify` event."""
    label = one_line(event.command or event.rule or "")
    if event.exit_code is not None:
        label += f" (exit {event.exit_code})"
    tail = "" if event.passed else _tail(event.output, tail_lines)
    return VerifyLine(event.kind, event.passed, label.strip(), tail)


# -- usage, retries, compaction, errors --------------------------------------------------------


@dataclass(frozen=True)
class UsageLine:
    """Token use: `12.3k tokens · 80% cached · $0.0123` (`cost —` when unknown; no cached part
    when no prompt tokens were counted)."""

    tokens: str
    cached: str
    cost: str

    @property
    def parts(self) -> list[str]:
        """The non-empty parts, in order: tokens, cached share, cost."""
        return [part for part in (self.tokens, self.cached, self.cost) if part]

    def __str__(self) -> str:
        return " · ".join(self.parts)


def usage_line(usage: UsageTotals | Usage) -> UsageLine:
    """The `UsageLine` of a usage event or of totals: all tokens (prompt + completion, said
    `(estimated)` when the host reported none for some request), the share of prompt tokens
    served from the cache, the cost."""
    cached = share_label(usage.cached_tokens / usage.prompt_tokens) + " cached" if usage.prompt_tokens else ""
    cost = "cost —" if usage.cost_usd is None else cost_label(usage.cost_usd)
    tokens = tokens_label(usage.prompt_tokens + usage.completion_tokens) + (" (estimated)" if usage.estimated else "")
    return UsageLine(tokens, cached, cost)


def retry_line(event: Retry, *, reason: bool = True) -> str:
    """`retry 2 in 1.2s: <reason>` (without `: <reason>` when `reason` is false)."""
    line = f"retry {event.attempt} in {duration_label(event.wait_s)}"
    return f"{line}: {one_line(event.reason)}" if reason and event.reason.strip() else line


def compaction_line(event: Compaction) -> str:
    """`compacted 900.0k → 40.0k tokens · 120 turns summarised`, then `, 3 kept` when recent
    turns were kept verbatim."""
    return (
        f"compacted {count_label(event.tokens_before)} → {tokens_label(event.tokens_after)} · "
        f"{plural(event.dropped_turns, 'turn')} summarised" + (f", {event.turns_kept} kept" if event.turns_kept else "")
    )


def no_tools_notice(provider: Provider) -> str:
    """What the interactive session says at start on a host without function calling: it chats
    without tools, and which presets have them."""
    return (
        f"{provider.name} does not support function calling: this session chats without tools "
        f"(nothing is read, edited or run). For tool use: --provider {' | '.join(tool_hosts())}."
    )


def error_line(event: Error) -> str:
    """`error: <message>`, the message on one printable line (it names its source, e.g. `zai API
    error 1113 …`; the `kind` is for programs, in the JSON event)."""
    return f"error: {one_line(event.message) or event.kind}"


# -- the result of a run ---------------------------------------------------------------------


@dataclass(frozen=True)
class ResultLine:
    """A run's outcome: `headline` (`success (exit 0)`), `facts` (`3 turns`, `1.5k tokens`,
    `40% cached`, `$0.0123`, `2.3s`, `1 fix round`), and for a run that did not succeed its
    `summary`; `report_path` when goal mode wrote a report."""

    status: str
    exit_code: int
    facts: tuple[str, ...]
    summary: str
    report_path: str

    @property
    def headline(self) -> str:
        """`success (exit 0)`: the status and the process exit code."""
        return f"{self.status} (exit {self.exit_code})"

    @property
    def mark(self) -> str:
        """`✓` success, `■` interrupted, `✗` anything else."""
        return {"success": "✓", "interrupted": "■"}.get(self.status, "✗")

    @property
    def tone(self) -> Tone:
        """`ok` success, `warning` interrupted, `failed` anything else."""
        if self.status == "success":
            return "ok"
        return "warning" if self.status == "interrupted" else "failed"

    def __str__(self) -> str:
        return " · ".join((self.headline, *self.facts))


def result_facts(result: Result, *, turn_noun: str = "turn") -> tuple[str, ...]:
    """What a run used: its turns (`turn_noun` names them), tokens, cached share (if any prompt
    tokens), cost, duration, fix rounds (goal mode only) and refused calls (when there were any)."""
    usage = usage_line(result.usage)
    facts = [plural(result.turns, turn_noun), *usage.parts, duration_label(result.duration_s)]
    if result.rounds is not None:
        facts.append(plural(result.rounds, "fix round"))
    if result.refused_calls:
        facts.append(plural(result.refused_calls, "refused call"))
    return tuple(facts)


def result_line(result: Result) -> ResultLine:
    """The `ResultLine` of a `result` event."""
    summary = "" if result.status == "success" else printable(result.summary).strip()
    return ResultLine(result.status, result.exit_code, result_facts(result), summary, one_line(result.report_path or ""))


def run_outcome(result: Result, scope: str = "this prompt") -> str:
    """`this prompt: 3 requests · 12.3k tokens · 80% cached · $0.0123 · 4.2s`: what one run in a
    longer session used, saying what it counts (the session's totals are elsewhere)."""
    return f"{scope}: " + " · ".join(result_facts(result, turn_noun="request"))

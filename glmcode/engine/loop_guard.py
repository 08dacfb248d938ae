"""The loop guard: a model repeating the same tool calls for the same results is told, then stopped.

Small models (and large ones, at times) get stuck calling one tool with the same arguments,
reading the same answer, and calling it again — `read_file calc.py` 25 times until `--max-turns`
ended the run — or going round a small circle (`read_file a.txt`, `read_file b.txt`, again and
again). A repetition counts only when *both* the call and its result are the same:

- the call is its name and its arguments as the registry validated them (`call_key`): key order
  and spacing aside, an argument left at its default is the same as one not given
  (`offset=1`, `limit=2000`), a path is the workspace-relative path however it is spelled
  (`./a.txt`, `/abs/root/a.txt`, `a.txt`), and a pure size bound (`SIZE_ARGUMENTS`, e.g.
  `limit=1999` on a short file) is left out: with the same result it read the same thing;
- the result is the text the model read back, with what changes on every run masked
  (`comparable`): ISO timestamps and clock times, and durations in test-runner summaries
  (`1 failed in 1.83s`, `Ran 3 tests in 0.001s`, `--- FAIL: TestX (0.00s)`).

Polling a file that changes, re-running tests after an edit, or retrying a command whose output
moved on never counts: a different result breaks the streak or the cycle.

Three counts are kept, so neither a one-call loop, a small circle, nor a loop of a whole turn escapes:
- calls in a row (across turns): the same (call, result) `WARN_AT` times running;
- cycles: a block of `CYCLE_LENGTHS` (2 or 3) different (call, result) pairs repeated back to
  back; the count is the number of whole blocks (`a b a b a b` is 3);
- turns in a row: a turn whose calls and results are all the same as the previous turn's.

At `WARN_AT` repetitions the result gets a note (`prompts/loop_note.md`: it names the repetition
and asks for another approach); if the model goes on to `STOP_AT`, that result gets
`prompts/loop_stop.md` and the guard says stop: the agent ends the run with status `failed`
(exit 1), its summary saying the model was looping.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from glmcode import prompts
from glmcode.wording import plural

WARN_AT = 3
"""The repetition that gets a note in its result: the third identical call (or cycle) for the same result."""
STOP_AT = 5
"""The repetition that stops the run: two more after the note went unheeded."""
CYCLE_LENGTHS = (2, 3)
"""Lengths of the circles of calls counted as cycles (a circle of one is the call streak)."""
PATH_ARGUMENTS = frozenset({"path", "paths"})
"""Arguments holding workspace paths (a string or a list of strings): compared as normalised
workspace-relative paths."""
SIZE_ARGUMENTS = frozenset({"limit", "timeout"})
"""Arguments that only bound how much is returned or how long a call may take: two calls that
differ only in them and return the same result did the same thing, so they are left out of the key."""

_SUMMARY_DURATIONS = (
    # pytest `1 failed in 1.83s`, unittest `Ran 3 tests in 0.001s`, cargo `finished in 0.00s`
    re.compile(r"(?<=\bin )\d+(?:\.\d+)?\s?(?:ms|s|sec|secs|seconds)\b"),
    # go `--- FAIL: TestX (0.00s)`, mocha `2 passing (12ms)`
    re.compile(r"(?<=\()\d+(?:\.\d+)?\s?(?:ms|s)(?=\))"),
    # go `ok  example.com/pkg  0.012s`, `FAIL  example.com/pkg  0.003s`
    re.compile(r"(?m)^((?:ok|FAIL)\s+\S+\s+)\d+(?:\.\d+)?s\b"),
    # jest `Time:        1.234 s`, vitest `Duration  1.23s`
    re.compile(r"(?m)^(\s*(?:Time|Duration):?\s+)\d+(?:\.\d+)?\s?(?:ms|s)\b"),
    # pytest --durations `0.01s call     test_x.py::test_a`
    re.compile(r"(?m)^\d+(?:\.\d+)?s(?=\s+(?:call|setup|teardown)\b)"),
)
_TIMESTAMP = re.compile(r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?")
_CLOCK = re.compile(r"\b\d{1,2}:\d{2}:\d{2}(?:[.,]\d+)?\b")


@dataclass(frozen=True)
class Verdict:
    """What the guard says about one tool result: a note to append (or ""), and whether to stop."""

    note: str = ""
    stop: bool = False
    repeats: int = 1
    """How many times in a row this call, this cycle (whole cycles) or this turn has now come back the same."""


def comparable(result: str) -> str:
    """`result` with what differs between two identical runs masked: ISO timestamps and clock
    times become `<time>`, durations in test-runner summary lines become `<n>s`. Anything else —
    a count of failures, a line number, a value — is kept, so a result that really changed differs."""
    text = _TIMESTAMP.sub("<time>", result)
    text = _CLOCK.sub("<time>", text)
    for pattern in _SUMMARY_DURATIONS:
        text = pattern.sub(lambda m: (m.group(1) if m.re.groups else "") + "<n>s", text)
    return text


def _workspace_path(value: str, root: Path | None) -> str:
    """`value` as a normalised path, relative to `root` when it is an absolute path inside it."""
    path = os.path.normpath(value) if value else "."
    if root is not None and os.path.isabs(path):
        relative = os.path.relpath(path, root)
        if relative != ".." and not relative.startswith(".." + os.sep):
            path = relative
    return path


def _normalised(arguments: Mapping[str, Any], root: Path | None) -> dict[str, Any]:
    """Bound arguments without size bounds, their paths normalised (see `call_key`)."""
    out: dict[str, Any] = {}
    for name, value in arguments.items():
        if name in SIZE_ARGUMENTS:
            continue
        if name in PATH_ARGUMENTS and isinstance(value, str):
            value = _workspace_path(value, root)
        elif name in PATH_ARGUMENTS and isinstance(value, list):
            value = [_workspace_path(v, root) if isinstance(v, str) else v for v in value]
        out[name] = value
    return out


def call_key(name: str, arguments: str | Mapping[str, Any], root: Path | None = None) -> str:
    """The call's identity: its name and its arguments in canonical JSON (sorted keys).

    `arguments` is either the raw text the model sent (canonicalised if it is JSON, else taken
    stripped) or, better, the arguments the registry validated with defaults filled in
    (`model_dump()`, so a default given explicitly and one left out are the same): then `PATH_ARGUMENTS` are normalised (relative to
    `root` when absolute inside it) and `SIZE_ARGUMENTS` dropped.
    """
    if isinstance(arguments, Mapping):
        canonical = json.dumps(_normalised(arguments, root), sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    else:
        try:
            canonical = json.dumps(json.loads(arguments), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        except (ValueError, RecursionError):
            canonical = arguments.strip()
    return f"{name}\x00{canonical}"


def _cycles(history: list[str], length: int) -> int:
    """Whole repetitions of the last `length` entries of `history` running back to back at its end,
    counted only when that block is not one entry repeated (the call streak counts those)."""
    if len(history) < 2 * length or len(set(history[-length:])) < 2:
        return 0
    run = length
    while run < len(history) and history[-run - 1] == history[-run - 1 + length]:
        run += 1
    return run // length


class LoopGuard:
    """Counts identical (call, result) repetitions; one per agent, reset for each run."""

    def __init__(self, warn_at: int = WARN_AT, stop_at: int = STOP_AT, root: Path | None = None) -> None:
        """`warn_at` ≥ 2 and `stop_at` > `warn_at` repetitions (ValueError otherwise); `root` is
        the workspace root absolute paths in arguments are made relative to."""
        if warn_at < 2 or stop_at <= warn_at:
            raise ValueError(f"the loop guard needs 2 <= warn_at < stop_at (got {warn_at}, {stop_at})")
        self.warn_at = warn_at
        self.stop_at = stop_at
        self.root = root
        self.reset()

    def reset(self) -> None:
        """Forget every streak (a new run, a new instruction from the user)."""
        self._last_call: str | None = None
        self._call_repeats = 0
        self._history: list[str] = []
        self._names: list[str] = []
        self._turn: list[str] = []
        self._last_turn: tuple[str, ...] | None = None
        self._turn_repeats = 0
        self.stopped_on = ""
        """The call (or the calls of a cycle, ` / `-separated) that made the guard stop the run,
        as `name arguments` (empty until then)."""

    def observe(
        self, name: str, arguments: str | Mapping[str, Any], result: str, *, last_in_turn: bool, raw: str | None = None
    ) -> Verdict:
        """Count one call and the result text the model will read; `last_in_turn` closes the turn.

        `arguments` as `call_key` takes them (the validated arguments when the call bound); `raw`
        is the arguments' text as the model wrote them, for `stopped_on` (else `arguments` shown).
        Returns the note to append to this result (at `warn_at` repetitions and after) and
        whether the run should stop once this turn's results are in (at `stop_at`).
        """
        digest = hashlib.sha256(comparable(result).encode("utf-8", "surrogatepass")).hexdigest()
        key = call_key(name, arguments, self.root) + "\x00" + digest
        shown = f"{name} {_shown(arguments if raw is None else raw)}"[:300]
        self._call_repeats = self._call_repeats + 1 if key == self._last_call else 1
        self._last_call = key
        self._history.append(key)
        self._names.append(shown)
        keep = max(CYCLE_LENGTHS) * (self.stop_at + 1)
        del self._history[:-keep], self._names[:-keep]
        self._turn.append(key)
        repeats, what, calls = self._call_repeats, f"this call ({name}, the same arguments)", [shown]
        for length in CYCLE_LENGTHS:
            cycles = _cycles(self._history, length)
            if cycles > repeats:
                repeats, calls = cycles, self._names[-length:]
                what = f"this circle of {length} tool calls ({', '.join(c.split(' ', 1)[0] for c in calls)}, the same arguments)"
        if last_in_turn:
            turn = tuple(self._turn)
            self._turn = []
            self._turn_repeats = self._turn_repeats + 1 if turn == self._last_turn else 1
            self._last_turn = turn
            if len(turn) > 1 and self._turn_repeats > repeats:  # a turn of one call is the call streak already
                repeats, calls = self._turn_repeats, self._names[-len(turn):]
                what = f"this turn's {len(turn)} tool calls (the same arguments)"
        if repeats < self.warn_at:
            return Verdict(repeats=repeats)
        stop = repeats >= self.stop_at
        if stop:
            self.stopped_on = " / ".join(calls)[:300]
            note = prompts.render("loop_stop.md", what=what, times=repeats)
        else:
            note = prompts.render("loop_note.md", what=what, times=repeats, more=plural(self.stop_at - repeats, "more time"))
        return Verdict(note=note, stop=stop, repeats=repeats)


def _shown(arguments: str | Mapping[str, Any]) -> str:
    """Arguments as the stop summary shows them: the raw text stripped, or compact JSON."""
    if isinstance(arguments, Mapping):
        return json.dumps(dict(arguments), separators=(",", ":"), ensure_ascii=False, default=str)
    return arguments.strip()

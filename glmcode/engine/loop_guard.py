"""The loop guard: a model repeating the same tool call for the same result is told, then stopped.

Small models (and large ones, at times) get stuck calling one tool with the same arguments,
reading the same answer, and calling it again — `read_file calc.py` 25 times until `--max-turns`
ended the run. A repetition counts only when *both* the call and its result are the same: the
call's name and its arguments in canonical form (JSON with sorted keys, so `{"a":1,"b":2}` and
`{"b": 2, "a": 1}` are one call), and the exact text the model read back. Polling a file that
changes, re-running tests after an edit, or retrying a command whose output moved on never
counts: a different result resets the streak.

Two streaks are kept, so neither a one-call loop nor a loop of a whole turn escapes:
- calls in a row (across turns): the same (call, result) `WARN_AT` times running;
- turns in a row: a turn whose calls and results are all the same as the previous turn's.

At `WARN_AT` repetitions the result gets a note (`prompts/loop_note.md`: it names the repetition
and asks for another approach); if the model goes on to `STOP_AT`, that result gets
`prompts/loop_stop.md` and the guard says stop: the agent ends the run with status `failed`
(exit 1), its summary saying the model was looping.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from glmcode import prompts

WARN_AT = 3
"""The repetition that gets a note in its result: the third identical call for the same result."""
STOP_AT = 5
"""The repetition that stops the run: two more after the note went unheeded."""


@dataclass(frozen=True)
class Verdict:
    """What the guard says about one tool result: a note to append (or ""), and whether to stop."""

    note: str = ""
    stop: bool = False
    repeats: int = 1
    """How many times in a row this call (or turn) has now come back the same."""


def call_key(name: str, arguments: str) -> str:
    """The call's identity: its name and its arguments in canonical JSON (the raw text, stripped,
    if they are not JSON)."""
    try:
        canonical = json.dumps(json.loads(arguments), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    except (ValueError, RecursionError):
        canonical = arguments.strip()
    return f"{name}\x00{canonical}"


class LoopGuard:
    """Counts identical (call, result) repetitions in a row; one per agent, reset for each run."""

    def __init__(self, warn_at: int = WARN_AT, stop_at: int = STOP_AT) -> None:
        """`warn_at` ≥ 2 and `stop_at` > `warn_at` repetitions (ValueError otherwise)."""
        if warn_at < 2 or stop_at <= warn_at:
            raise ValueError(f"the loop guard needs 2 <= warn_at < stop_at (got {warn_at}, {stop_at})")
        self.warn_at = warn_at
        self.stop_at = stop_at
        self.reset()

    def reset(self) -> None:
        """Forget every streak (a new run, a new instruction from the user)."""
        self._last_call: str | None = None
        self._call_repeats = 0
        self._turn: list[str] = []
        self._last_turn: tuple[str, ...] | None = None
        self._turn_repeats = 0
        self.stopped_on = ""
        """The call that made the guard stop the run, as `name arguments` (empty until then)."""

    def observe(self, name: str, arguments: str, result: str, *, last_in_turn: bool) -> Verdict:
        """Count one call and the result text the model will read; `last_in_turn` closes the turn.

        Returns the note to append to this result (at `warn_at` repetitions and after) and
        whether the run should stop once this turn's results are in (at `stop_at`).
        """
        key = call_key(name, arguments) + "\x00" + hashlib.sha256(result.encode("utf-8", "surrogatepass")).hexdigest()
        self._call_repeats = self._call_repeats + 1 if key == self._last_call else 1
        self._last_call = key
        self._turn.append(key)
        repeats = self._call_repeats
        if last_in_turn:
            turn = tuple(self._turn)
            self._turn = []
            self._turn_repeats = self._turn_repeats + 1 if turn == self._last_turn else 1
            self._last_turn = turn
            if len(turn) > 1:  # a turn of one call is the call streak already
                repeats = max(repeats, self._turn_repeats)
        if repeats < self.warn_at:
            return Verdict(repeats=repeats)
        stop = repeats >= self.stop_at
        if stop:
            self.stopped_on = f"{name} {arguments.strip()}"[:300]
        if self._call_repeats == repeats:
            what = f"this call ({name}, the same arguments)"
        else:
            what = f"this turn's {len(self._last_turn or ())} tool calls (the same arguments)"
        if stop:
            note = prompts.render("loop_stop.md", what=what, times=repeats)
        else:
            note = prompts.render("loop_note.md", what=what, times=repeats, left=self.stop_at - repeats)
        return Verdict(note=note, stop=stop, repeats=repeats)

"""Whole tool outputs kept on disk when the model is shown only their head and tail.

When a tool result is cut to the output budget, the whole output is written to
`.glmcode/sessions/<session-id>/outputs/<call-id>.txt` (secrets redacted like everything else
glmcode writes), and the cut's note tells the model where it is and which `read_file` offset and
limit show the part left out. `read_file` may read that folder (read-only) although it is under
`.glmcode/`: `workspace.resolve` lets a read through there and nowhere else in `.glmcode/`.

The registry says which call is running (`saving_for`); the code that cuts — the registry for
results built in memory, the shell runner for command output it streams — asks `hint_for` for the
note's hint, which saves the whole text the first time it is asked. Outside a call (an approval's
preview, `Session.diff`), nothing is saved and the hint is empty.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

from glmcode import prompts
from glmcode.output_budget import Hint
from glmcode.redaction import RedactingStream, Redactor

MAX_NAME_CHARS = 64
"""Longest file name stem made from a call id (the id's safe characters, then a digest if changed)."""
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def safe_name(call_id: str) -> str:
    """A file name stem for `call_id` that is safe whatever the id holds (`../`, NUL, 10 KB).

    Letters, digits, `_` and `-` are kept, at most `MAX_NAME_CHARS` of them; an id that had to be
    changed (or was empty) gets 12 hex digits of its SHA-256 appended, so two ids never share a stem.
    """
    stem = _UNSAFE.sub("", call_id)[:MAX_NAME_CHARS]
    if stem == call_id and stem:
        return stem
    digest = hashlib.sha256(call_id.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    return f"{stem[: MAX_NAME_CHARS - 13]}-{digest}" if stem else f"call-{digest}"


@dataclass
class OutputStore:
    """One session's folder of saved outputs.

    `folder` is the absolute path (created on the first save), `shown` the same folder as the
    model names it (relative to the workspace root, POSIX), `redactor` the session's redaction,
    applied to the whole output as one stream (a secret split between two pieces is still
    caught); None writes the output as it is.
    """

    folder: Path
    shown: str
    redactor: Redactor | None = None

    def save(self, call_id: str, pieces: Iterable[str]) -> str:
        """Write `pieces` (the whole output, in order) to a new file for `call_id`; its shown path.

        A call id already used in this session (providers reuse `call_0`-style ids across turns)
        gets `-2`, `-3`, ... appended: a saved output is never overwritten. Raises OSError if the
        folder or file cannot be written.
        """
        self.folder.mkdir(parents=True, exist_ok=True)
        stem = safe_name(call_id)
        name, n = f"{stem}.txt", 1
        while True:
            try:
                out = open(self.folder / name, "x", encoding="utf-8", newline="")
                break
            except FileExistsError:
                n += 1
                name = f"{stem}-{n}.txt"
        with out:
            if self.redactor is None:
                out.writelines(pieces)
            else:
                stream = RedactingStream(self.redactor)  # holds back a piece's end that may begin a secret
                for piece in pieces:
                    out.writelines(text for _, text in stream.feed("output", piece))
                out.writelines(text for _, text in stream.flush())
        return f"{self.shown}/{name}"


@dataclass
class _Call:
    store: OutputStore
    call_id: str
    saved: str | None = None


_current: ContextVar[_Call | None] = ContextVar("glmcode_saved_output_call", default=None)


@contextmanager
def saving_for(store: OutputStore | None, call_id: str | None) -> Iterator[None]:
    """Within this block, a cut output is saved as the output of `call_id` in `store` (nothing
    happens when either is None). Per thread: a call run elsewhere at the same time is unaffected."""
    token = _current.set(_Call(store, call_id) if store is not None and call_id is not None else None)
    try:
        yield
    finally:
        _current.reset(token)


def save_current(pieces: Callable[[], Iterable[str]]) -> str | None:
    """Save `pieces()` as the running call's whole output (once; later calls give the same path).

    Returns the path as the model names it, or None when no call is running or writing failed.
    """
    call = _current.get()
    if call is None:
        return None
    if call.saved is None:
        try:
            call.saved = call.store.save(call.call_id, pieces())
        except OSError:
            call.saved = ""
    return call.saved or None


def hint_for(pieces: Callable[[], Iterable[str]], also: str = "") -> Hint:
    """The hint for a cut of the running call's output; `pieces()` gives the whole output.

    `also` is the tool's own hint (how to narrow the call), put first. Returns `also` when no
    call is running, else a function of the cut's first and last line (see
    `output_budget.Hint`) that saves the whole output the first time it is called — only a cut
    calls it, so an output that fits is never written — and gives the note's hint: the saved path
    and the `read_file` offset and limit that show what was cut ("" if the file could not be
    written: the note then only says what was left out).
    """
    call = _current.get()
    if call is None:
        return also

    def hint(first: int, last: int) -> str:
        path = save_current(pieces)
        if path is None:
            return also
        saved = prompts.render("saved_output.md", path=path, offset=first, limit=last - first + 1)
        return f"{also}; {saved}" if also else saved

    return hint

"""The one budget for what a tool hands the model: characters of decoded text, head and tail kept.

Every tool result passes through `cut` (the registry does it; tools that read big streams use
`HeadTail` directly, so they never hold more than the budget). A text longer than the limit keeps
its first `HEAD_SHARE` and last `TAIL_SHARE` of the room, with one note between them that says
what was left out:

    [... 20,000 characters (312 lines) cut ...]

The note stands on a line of its own: a line break is put on each side of it, always, so the
kept head is everything before `"\n[... "` and the kept tail everything after `" ...]\n"`.
The limit counts everything returned, note included: `len(cut(text, limit)) <= limit`. The unit
is the character (a Python `str` code point), never bytes or lines; "lines" in the note is the
number of line breaks that were cut, and is left out of the note when there were none.
"""

from __future__ import annotations

import tempfile
from collections import deque
from collections.abc import Callable, Iterator
from typing import IO

from glmcode.wording import plural

Hint = str | Callable[[int, int], str]
"""What a cut's note says besides the counts: a fixed text, or a function of the cut's first and
last line (1-based lines of the added text, `before` not counted) returning it, e.g. where the
whole text was saved and which `read_file` offset and limit show the part left out."""

DEFAULT_LIMIT = 50_000
"""Characters of one tool result the model reads at most: the budget's cap (settings:
`tool_output_chars`); a small context window lowers it (`budget_chars`)."""
DEFAULT_WINDOW_SHARE = 0.1
"""Share of the context window one tool result may fill (settings: `tool_output_share`)."""
CHARS_PER_TOKEN = 3
"""Characters counted per token when a share of the window (tokens) becomes a budget (characters):
a low ratio (code and logs run 3-4 characters a token), so the budget errs on the small side."""
SAVED_MAX_CHARS = 20_000_000
"""Characters of one whole output kept for saving at most (`HeadTail(keep_full=True)`); a flood
past this is saved up to here with a note that the rest was not kept."""
MIN_LIMIT = 200
"""The smallest limit accepted: room for the note and some text on each side of it."""
HEAD_SHARE = 0.4
"""Share of the room kept from the start of a text: what a command printed first, a file's top."""
TAIL_SHARE = 1 - HEAD_SHARE
"""Share of the room kept from the end: errors, summaries and final results come last."""


def note(chars: int, lines: int = 0, hint: str = "") -> str:
    """The note put where text was cut: `[... 1,234 characters (56 lines) cut; <hint> ...]`.

    `chars` is how many characters were left out, `lines` how many line breaks (omitted when 0),
    `hint` an optional short instruction (how to see the rest).
    """
    what = plural(chars, "character", number=f"{chars:,}")
    if lines:
        what += f" ({plural(lines, 'line', number=f'{lines:,}')})"
    return f"[... {what} cut{'; ' + hint if hint else ''} ...]"


def budget_chars(context_window: int, share: float = DEFAULT_WINDOW_SHARE, cap: int = DEFAULT_LIMIT) -> int:
    """The output budget in characters: `share` of a `context_window` of tokens, at most `cap`.

    Tokens become characters at `CHARS_PER_TOKEN`; the result is never below `MIN_LIMIT` nor
    above `cap` (e.g. a 1,000,000-token window and the defaults: 50,000; a 16,000-token window:
    4,800).
    """
    return max(MIN_LIMIT, min(cap, int(context_window * share * CHARS_PER_TOKEN)))


def cut(text: str, limit: int = DEFAULT_LIMIT, hint: Hint = "") -> str:
    """`text` if it fits in `limit` characters, else its head and tail with one `note` between.

    The result is at most `limit` characters long (unless `hint` alone is longer than that).
    Raises ValueError if `limit` is below `MIN_LIMIT`.
    """
    kept = HeadTail(limit)
    if len(text) <= limit:
        return text
    kept.add(text)
    return kept.text(hint)


class HeadTail:
    """A text built piece by piece of which only what `cut` would keep is held in memory.

    `add` pieces in order (e.g. decoded chunks of a command's output); `text()` gives what
    `cut(whole_text, limit)` would give, without ever holding more than about `limit`
    characters. Raises ValueError if `limit` is below `MIN_LIMIT`.
    """

    def __init__(self, limit: int = DEFAULT_LIMIT, *, keep_full: bool = False) -> None:
        """`keep_full`: also keep the whole text (up to `SAVED_MAX_CHARS`) for `full_pieces`, in a
        temporary file once it passes half the limit, so memory stays bounded either way."""
        if limit < MIN_LIMIT:
            raise ValueError(f"an output limit of {limit} characters is below the minimum of {MIN_LIMIT}")
        self.limit = limit
        """Characters of the result at most."""
        self.total_chars = 0
        """Characters added so far."""
        self._head_room = int(limit * HEAD_SHARE)
        self._tail_room = limit - self._head_room
        self._head: list[str] = []
        self._head_len = 0
        self._tail: deque[str] = deque()
        self._tail_len = 0
        self._dropped_chars = 0
        self._dropped_lines = 0
        self._keep_full = keep_full
        self._spool: IO[str] | None = None
        self._spooled = 0

    @property
    def cut_any(self) -> bool:
        """Whether text was already left out (more was added than the limit holds)."""
        return self._dropped_chars > 0

    def full_pieces(self) -> Iterator[str]:
        """The whole text added, in pieces of at most about 1 MB, each ending at a line break when
        it can (a longer line is cut anywhere: whoever redacts the pieces must carry a possible
        secret's start into the next, as `saved_outputs.OutputStore` does); with `keep_full` only
        (else what is held). A text past `SAVED_MAX_CHARS` ends with a note of how much was not kept."""
        if self._spool is None:
            yield "".join(self._head) + "".join(self._tail)
            return
        self._spool.flush()
        self._spool.seek(0)
        while piece := self._spool.readline(1 << 20):
            yield piece
        self._spool.seek(0, 2)
        if self.total_chars > self._spooled:
            yield "\n" + note(self.total_chars - self._spooled) + " (not kept: past the saved output's limit)\n"

    def _spill(self, piece: str) -> None:
        """Keep `piece` of the whole text in the temporary file (opened once the text passes half the limit)."""
        if self._spool is None:
            if self.total_chars <= self.limit // 2:
                return
            self._spool = tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace", newline="")
            held = "".join(self._head) + "".join(self._tail)
            self._spool.write(held)
            self._spooled = len(held)
        room = SAVED_MAX_CHARS - self._spooled
        if room > 0:
            self._spool.write(piece[:room])
            self._spooled += min(room, len(piece))

    def close(self) -> None:
        """Delete the temporary file of the whole text, if any (garbage collection does it too)."""
        if self._spool is not None:
            self._spool.close()
            self._spool = None

    def add(self, piece: str) -> None:
        """Append `piece` to the text."""
        if not piece:
            return
        self.total_chars += len(piece)
        if self._keep_full:
            self._spill(piece)
        room = self._head_room - self._head_len
        if room > 0:
            self._head.append(piece[:room])
            self._head_len += min(room, len(piece))
            piece = piece[room:]
            if not piece:
                return
        self._tail.append(piece)
        self._tail_len += len(piece)
        excess = self._tail_len - self._tail_room
        while excess > 0:
            first = self._tail[0]
            dropped = first if len(first) <= excess else first[:excess]
            if dropped is first:
                self._tail.popleft()
            else:
                self._tail[0] = first[excess:]
            self._dropped_chars += len(dropped)
            self._dropped_lines += dropped.count("\n")
            self._tail_len -= len(dropped)
            excess -= len(dropped)

    def text(self, hint: Hint = "", *, before: str = "", after: str = "") -> str:
        """The text within the limit: `before` + the added text (cut if needed) + `after`.

        `before` and `after` (a status line, a trailing remark) are kept whole and count against
        the limit; only the added text is cut, with one `note` carrying `hint` (see `Hint`).
        """
        head = "".join(self._head)
        tail = "".join(self._tail)
        frame = len(before) + len(after)
        if not self._dropped_chars and frame + len(head) + len(tail) <= self.limit:
            return before + head + tail + after
        note_len = 0
        while True:
            room = max(0, self.limit - frame - note_len - 2)
            keep_head = min(len(head), int(room * HEAD_SHARE))
            keep_tail = min(len(tail), room - keep_head)
            cut_head, cut_tail = head[keep_head:], tail[: len(tail) - keep_tail]
            chars = self._dropped_chars + len(cut_head) + len(cut_tail)
            lines = self._dropped_lines + cut_head.count("\n") + cut_tail.count("\n")
            first_line = head[:keep_head].count("\n") + 1
            marker = note(chars, lines, hint if isinstance(hint, str) else hint(first_line, first_line + lines))
            if len(marker) <= note_len:
                break
            note_len = len(marker)
        return f"{before}{head[:keep_head]}\n{marker}\n{tail[len(tail) - keep_tail :]}{after}"

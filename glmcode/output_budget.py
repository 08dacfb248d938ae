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

from collections import deque

from glmcode.wording import plural

DEFAULT_LIMIT = 50_000
"""Characters of one tool result the model reads at most (settings: `tool_output_chars`)."""
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


def cut(text: str, limit: int = DEFAULT_LIMIT, hint: str = "") -> str:
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

    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
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

    def add(self, piece: str) -> None:
        """Append `piece` to the text."""
        if not piece:
            return
        self.total_chars += len(piece)
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

    def text(self, hint: str = "", *, before: str = "", after: str = "") -> str:
        """The text within the limit: `before` + the added text (cut if needed) + `after`.

        `before` and `after` (a status line, a trailing remark) are kept whole and count against
        the limit; only the added text is cut, with one `note` carrying `hint`.
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
            marker = note(chars, lines, hint)
            if len(marker) <= note_len:
                break
            note_len = len(marker)
        return f"{before}{head[:keep_head]}\n{marker}\n{tail[len(tail) - keep_tail :]}{after}"

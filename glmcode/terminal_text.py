"""Command output made plain text before it is cut and shown to the model.

A command that believes it writes to a terminal (or ignores that it does not) prints colours,
cursor moves and window titles, and redraws progress bars in place with `\\r`. None of it means
anything to the model, and a progress bar of 30 KB that a terminal shows as one line would fill
the output budget. `clean` removes every escape sequence — CSI (`ESC [ ... final`, colours and
cursor moves), OSC (`ESC ] ... BEL` or `ESC ] ... ESC \\`, titles and hyperlinks), DCS/SOS/PM/APC
strings, two- and three-byte escapes (`ESC (B`, `ESC =`), their 8-bit C1 forms — and the other
control characters but tab and newline; each line redrawn with `\\r` is collapsed to its last
state (the text after the last `\\r` that has any); a backspace erases the character before it.
`\\r\\n` is a line break.

`Cleaner` does the same on a stream of decoded pieces (a command's output as it arrives): it
holds back only the line being written (at most `MAX_PENDING_CHARS`), so its memory stays small
whatever the command prints.
"""

from __future__ import annotations

import re

MAX_PENDING_CHARS = 64 * 1024
"""Characters of an unfinished line the `Cleaner` holds back waiting for its end; past this, the
line so far (collapsed at its last `\\r`) is let through."""

_ESCAPES = re.compile(
    r"""
    (?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]                    # CSI: colours, cursor moves, erases
    | (?:\x1b\]|\x9d)[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)  # OSC: window titles, hyperlinks
    | (?:\x1b[PX^_]|[\x90\x98\x9e\x9f])[^\x1b\x9c]*(?:\x1b\\|\x9c)  # DCS, SOS, PM, APC strings
    | \x1b[ -/]*[0-~]                                   # other escapes: ESC (B, ESC =, ESC 7
    """,
    re.VERBOSE,
)
_UNFINISHED_ESCAPE = re.compile(r"(?:\x1b[\[\]PX^_]?[^\x07\x1b]*|\x9b[^@-~]*)\Z")
"""An escape sequence that began but has not ended yet at the end of the held text."""
_CONTROLS = dict.fromkeys([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F, *range(0x80, 0xA0)])
"""Control characters other than tab and newline, as a `str.translate` table deleting them (faster
than a regular expression on megabytes of output); `\\r` and backspace are applied before."""


def clean(text: str) -> str:
    """`text` without escape sequences and control characters, `\\r`-redrawn lines collapsed.

    Line breaks (`\\n`, `\\r\\n` as `\\n`) and tabs are kept; the result never holds `\\x1b` or `\\r`.
    """
    if "\x1b" in text or not text.isascii():  # the fast check first: most output has no escape
        text = _ESCAPES.sub("", text)
        if "\x1b" in text:  # an escape cut short (or unknown): drop the introducer alone
            text = text.replace("\x1b", "")
    text = text.replace("\r\n", "\n")
    if "\r" in text or "\b" in text:
        text = "\n".join(_last_state(line) for line in text.split("\n"))
    return text.translate(_CONTROLS)


def _last_state(line: str) -> str:
    """What a terminal shows of one line redrawn with `\\r`: its last non-empty state; backspaces applied."""
    if "\r" in line:
        states = [state for state in line.split("\r") if state]
        line = states[-1] if states else ""
    if "\b" in line:
        kept: list[str] = []
        for char in line:
            if char == "\b":
                if kept:
                    kept.pop()
            else:
                kept.append(char)
        line = "".join(kept)
    return line


class Cleaner:
    """`clean` applied to a text that arrives in pieces: `feed` each piece, then `finish`.

    What `feed` and `finish` return, joined, is `clean(whole text)` — except for a line longer
    than `MAX_PENDING_CHARS`, which is let through in parts (each part cleaned on its own).
    """

    def __init__(self) -> None:
        self._pending = ""

    def feed(self, piece: str) -> str:
        """Clean text up to the last line break seen; hold the rest (the line being written)."""
        text = self._pending + piece
        end = text.rfind("\n")
        if end < 0:
            self._pending = text
            return self._overflow()
        done, self._pending = text[: end + 1], text[end + 1 :]
        return clean(done) + self._overflow()

    def finish(self) -> str:
        """The held line, cleaned: call once at the end of the text."""
        text, self._pending = self._pending, ""
        return clean(text)

    def _overflow(self) -> str:
        """Let a line longer than `MAX_PENDING_CHARS` through: its last `\\r` state so far, or all of it."""
        if len(self._pending) <= MAX_PENDING_CHARS:
            return ""
        pending = self._pending
        cr = pending.rstrip("\r").rfind("\r")
        if cr >= 0:  # a progress bar: only what follows the last redraw matters
            self._pending = pending[cr:]
            if len(self._pending) <= MAX_PENDING_CHARS:
                return ""
            pending = self._pending
        unfinished = _UNFINISHED_ESCAPE.search(pending[-256:])
        keep = len(pending[-256:]) - unfinished.start() if unfinished else 0
        self._pending = pending[len(pending) - keep :] if keep else ""
        return clean(pending[: len(pending) - keep])

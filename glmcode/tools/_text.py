"""The bytes of a text file as the file tools see them: encoding, byte-order mark, line endings.

A file's bytes are decoded once (`decode`) into a `TextFile`: the encoding (UTF-8 unless a
byte-order mark names UTF-16 or UTF-32), the mark itself, and the text with its line endings
exactly as they are (`\\r\\n`, `\\n` and a lone `\\r` are all line endings). A file is *faithful*
when that text, encoded back, gives the very same bytes; only faithful files are edited or
written over, so whatever a tool was not asked to change stays byte-identical (DESIGN.md §4).

Tools match and show text in a *normalised* view where every line ending is `\\n`
(`LineMap`), and put the file's own endings back when they write (`LineMap.original_offset`
maps a place in the view back to the text, `carry_endings` gives new lines their ending).
"""

from __future__ import annotations

import codecs
import difflib
import re
from bisect import bisect_left
from dataclasses import dataclass
from itertools import accumulate

LINE_BREAK = re.compile(r"\r\n|\r|\n")
"""A line ending: CRLF, a lone CR or LF (CRLF first, so it is one ending, not two)."""

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE: its mark starts with the same two bytes
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_NAMES = {"utf-8": "UTF-8", "utf-16-le": "UTF-16 LE", "utf-16-be": "UTF-16 BE", "utf-32-le": "UTF-32 LE", "utf-32-be": "UTF-32 BE"}
ENDING_NAMES = {"\r\n": "CRLF", "\n": "LF", "\r": "CR"}
MAX_MATCHED_LINES = 20_000
"""Above this many lines (old + new), endings are carried over by position, not by a line diff."""


def sniff(head: bytes) -> tuple[str, bytes]:
    """The encoding a file's first bytes declare and its byte-order mark: (`"utf-8"`, b"") without one."""
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            return encoding, bom
    return "utf-8", b""


def encoding_name(encoding: str, bom: bytes) -> str:
    """`UTF-8`, `UTF-8 with BOM`, `UTF-16 LE with BOM`, ... for messages."""
    return _NAMES.get(encoding, encoding) + (" with BOM" if bom else "")


@dataclass(frozen=True)
class TextFile:
    """A file's bytes decoded: `bom + text.encode(encoding)` gives them back when `problem` is None."""

    encoding: str
    """A Python codec name: `utf-8`, `utf-16-le`, `utf-16-be`, `utf-32-le` or `utf-32-be`."""
    bom: bytes
    """The byte-order mark the file starts with (b"" when none)."""
    text: str
    """The decoded text without the mark, line endings as in the file; undecodable bytes as U+FFFD."""
    problem: str | None
    """Why the file cannot be written back faithfully (undecodable bytes, NUL characters), or None."""

    @property
    def label(self) -> str:
        """The encoding for messages, e.g. `UTF-16 LE with BOM`."""
        return encoding_name(self.encoding, self.bom)

    def encode(self, text: str) -> bytes:
        """`text` as this file's bytes (mark included); `UnicodeEncodeError` when a character cannot be encoded."""
        return self.bom + text.encode(self.encoding)


def decode(data: bytes) -> TextFile:
    """Decode a file's bytes, noting in `problem` anything that would keep them from round-tripping."""
    encoding, bom = sniff(data)
    body = data[len(bom) :]
    problem = None
    try:
        text = body.decode(encoding)
    except UnicodeDecodeError as e:
        text = body.decode(encoding, errors="replace")
        problem = f"byte {e.start + len(bom):,} is not valid {_NAMES[encoding]}"
    if problem is None and "\x00" in text:
        problem = f"it contains a NUL character (at character {text.index(chr(0)):,})"
    if problem is None and bom + text.encode(encoding) != data:  # pragma: no cover - strict codecs round-trip
        problem = f"its bytes do not survive decoding and encoding as {_NAMES[encoding]}"
    return TextFile(encoding=encoding, bom=bom, text=text, problem=problem)


_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def lines_with_endings(text: str) -> list[str]:
    """`text` cut after each line ending (CRLF, CR or LF): `"".join` gives it back. Unlike `str.splitlines`,
    form feeds and Unicode separators do not end a line."""
    return _LINE.findall(text)


def normalise(text: str) -> str:
    """`text` with every line ending (CRLF, CR or LF) made `\\n`."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


@dataclass(frozen=True)
class Endings:
    """The line endings of a text: how many of each kind, and whether the text ends with one."""

    counts: dict[str, int]
    """"\\r\\n", "\\n" and "\\r" to how many lines end with it (kinds that occur only)."""
    final: bool
    """Whether the last line has an ending (a text without lines has none)."""

    @classmethod
    def of(cls, text: str) -> Endings:
        crlf = text.count("\r\n")
        counts = {"\r\n": crlf, "\n": text.count("\n") - crlf, "\r": text.count("\r") - crlf}
        return cls(counts={e: n for e, n in counts.items() if n}, final=bool(text) and text[-1] in "\r\n")

    @property
    def dominant(self) -> str:
        """The most common ending (LF on a tie with it, or when there is none)."""
        if not self.counts:
            return "\n"
        return max(self.counts, key=lambda e: (self.counts[e], e == "\n"))

    @property
    def uniform(self) -> str | None:
        """The one ending every line break uses, or None when mixed or when there is no line break."""
        return next(iter(self.counts)) if len(self.counts) == 1 else None

    def describe(self) -> str:
        """`CRLF`, `LF`, `CR`, `no` or `mixed (3 CRLF, 1 LF)` (+ ` line endings` makes a phrase)."""
        if not self.counts:
            return "no"
        if len(self.counts) == 1:
            return ENDING_NAMES[next(iter(self.counts))]
        kinds = sorted(self.counts.items(), key=lambda item: -item[1])
        return "mixed (" + ", ".join(f"{n:,} {ENDING_NAMES[e]}" for e, n in kinds) + ")"


class LineMap:
    """A text and its normalised view (every ending `\\n`), with offsets mapped between them.

    Only a CRLF changes the length (two characters become one), so an offset maps back by adding
    the number of CRLFs before it; built with C-speed string operations, for 10 MB files.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.endings = Endings.of(text)
        self.normalised = normalise(text)
        """`text` with every ending `\\n`: what `old_string` is matched against."""
        parts = text.split("\r\n")
        self._crlf_at = [end + index for index, end in enumerate(accumulate(map(len, parts[:-1])))]
        """The normalised offset of each CRLF's `\\n`, ascending."""

    def original_offset(self, offset: int) -> int:
        """The offset in `text` of a normalised offset; a line ending is never split."""
        return offset + bisect_left(self._crlf_at, offset)

    def ending_at(self, offset: int) -> str:
        """The ending of the line a normalised offset is on, or the text's dominant ending for an unended one."""
        end = self.normalised.find("\n", offset)
        if end == -1:
            return self.endings.dominant
        at = self.original_offset(end)
        return "\n" if self.text[at] == "\n" else self.text[at : at + 2] if self.text.startswith("\r\n", at) else "\r"

    def line_endings(self) -> list[str]:
        """The ending of each line break of `text`, in order (one per `\\n` of `normalised`)."""
        return LINE_BREAK.findall(self.text)


def carry_endings(old: str, old_endings: list[str], new: str, fallback: str) -> str:
    """`new` (normalised) with each `\\n` given an ending: a line that stays keeps its own, others get `fallback`.

    `old` is the normalised text `new` replaces and `old_endings` the real ending of each of its
    `\\n`s, in order. New lines are matched to old ones by a line diff (a replaced block line by
    line); a new line with no old counterpart (or one whose counterpart had no ending) gets
    `fallback`. Raises `ValueError` when `old_endings` does not have one ending per `\\n` of `old`.
    """
    old_lines, new_lines = old.split("\n"), new.split("\n")
    if len(old_endings) != len(old_lines) - 1:
        raise ValueError(f"{len(old_endings)} endings for {len(old_lines) - 1} line breaks")
    given = [fallback] * (len(new_lines) - 1)
    if len(old_lines) + len(new_lines) > MAX_MATCHED_LINES:
        pairs = [(0, len(old_lines), 0, len(new_lines))]
    else:
        matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
        pairs = [(i1, i2, j1, j2) for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag in ("equal", "replace")]
    for i1, i2, j1, j2 in pairs:
        for step in range(min(i2 - i1, j2 - j1)):
            i, j = i1 + step, j1 + step
            if i < len(old_endings) and j < len(given):
                given[j] = old_endings[i]
    out = [new_lines[0]]
    for ending, line in zip(given, new_lines[1:], strict=True):
        out += [ending, line]
    return "".join(out)

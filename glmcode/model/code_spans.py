"""Whether streamed answer text is inside Markdown code, fed as it arrives.

An answer that shows GLM's raw tool-call format in a code block or an inline code span is
talking about the format: the markup filter (`glmcode.model.turn`) asks `CodeTracker.in_code`
before it reads a tag, and text inside code is shown as written, never run.

The rules follow CommonMark, cut down to what a stream can decide without looking ahead:

- a fenced block opens at a run of three or more backticks or tildes at the start of a line
  (after at most three spaces) and closes at a run of the same character, at least as long, at
  the start of a line with nothing but spaces or tabs after it on that line;
- outside a fence, a run of N backticks opens an inline code span, closed by the next run of
  exactly N backticks. Unlike CommonMark, a span also ends at the end of its line: a stray
  backtick never hides a tool call on a later line. Tildes never open an inline span.
"""

from __future__ import annotations

_FENCE_CHARS = "`~"
_MAX_INDENT = 3


class CodeTracker:
    """Follows fences and inline code spans over text fed in pieces cut anywhere."""

    def __init__(self) -> None:
        self._fence: tuple[str, int] | None = None
        """The open fence: its character and the length of its opening run."""
        self._closing = False
        """A run that may close the fence came at the start of this line; it closes at the line's
        end unless something other than spaces or tabs follows on the line."""
        self._span = 0
        """The backtick count of the open inline span (0: none)."""
        self._line_start = True
        """Only up to `_MAX_INDENT` spaces since the last line break (a fence may begin here)."""
        self._indent = 0
        self._run_char = ""
        self._run_len = 0
        self._run_at_line_start = False

    def feed(self, text: str) -> None:
        """Take the next piece of the answer (any length; a backtick run may go on in the next)."""
        for char in text:
            if self._run_len and char != self._run_char:
                self._end_run()
            if char in _FENCE_CHARS:
                if not self._run_len:
                    self._run_char, self._run_at_line_start = char, self._line_start
                self._run_len += 1
                continue
            if char == "\n":
                if self._closing:
                    self._fence, self._closing = None, False
                self._span = 0
                self._line_start, self._indent = True, 0
            elif char == " " and self._line_start and self._indent < _MAX_INDENT:
                self._indent += 1
            else:
                self._line_start = False
                if self._closing and char not in " \t\r":
                    self._closing = False  # text after the run: it was not a closing fence

    def in_code(self) -> bool:
        """Whether text that comes next, if it is not a backtick or tilde, is inside code.

        Called just before a tag: a backtick run fed last ends there. Inside a fence whose closing
        run came on this line, the answer is still in code (what follows the run on its line would
        make it no closing fence)."""
        if self._run_len:
            self._end_run()
        return self._fence is not None or self._span > 0

    def _end_run(self) -> None:
        """A run of backticks or tildes has ended: it may open or close a fence or a span."""
        char, length, at_line_start = self._run_char, self._run_len, self._run_at_line_start
        self._run_char, self._run_len = "", 0
        self._line_start = False
        if self._fence is not None:  # only a line's first run may close it; a later one undoes that
            self._closing = at_line_start and char == self._fence[0] and length >= self._fence[1]
        elif self._span:
            if char == "`" and length == self._span:
                self._span = 0
        elif at_line_start and length >= 3:
            self._fence = (char, length)
        elif char == "`":
            self._span = length

"""Where a streamed Markdown answer can be cut: finished top-level blocks versus the open one.

A Markdown document that grows at its end only ever changes its last top-level block: every
block before it is final (a later line cannot turn an earlier paragraph into something else once
another block has started after it). The answer pane keeps finished blocks as fixed widgets and
re-renders only the open block, so the cost of a delta does not grow with the answer.

Block boundaries come from the same parser the answer is rendered with (markdown-it as Rich's
`Markdown` configures it: CommonMark plus tables and strikethrough), so fences, lists with blank
lines between items, and tables stay whole.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from markdown_it import MarkdownIt


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    from markdown_it import MarkdownIt

    return MarkdownIt().enable("strikethrough").enable("table")


def _block_starts(text: str) -> list[int]:
    """The line numbers where the top-level blocks of `text` begin."""
    return [token.map[0] for token in _parser().parse(text) if token.level == 0 and token.nesting >= 0 and token.map]


def split_finished(text: str) -> tuple[list[str], str]:
    """`text` as its finished top-level blocks (each with the blank lines after it) and the open rest.

    Only complete lines are considered: a partial last line belongs to the open block. One parse
    of `text`, which the caller keeps short (it is the open block plus what just arrived).
    """
    end = text.rfind("\n") + 1
    if end == 0:
        return [], text
    starts = [line for line in _block_starts(text[:end]) if line > 0]
    if not starts:
        return [], text
    offsets = _line_offsets(text, starts)
    pieces = [text[a:b] for a, b in zip([0, *offsets[:-1]], offsets, strict=True)]
    return [piece for piece in pieces if piece], text[offsets[-1] :]


def _line_offsets(text: str, lines: list[int]) -> list[int]:
    """The character offsets where the (ascending, 0-based) line numbers `lines` of `text` begin."""
    offsets: list[int] = []
    offset = line_number = 0
    for wanted in lines:
        while line_number < wanted:
            offset = text.index("\n", offset) + 1
            line_number += 1
        offsets.append(offset)
    return offsets

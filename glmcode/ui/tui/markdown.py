"""How answers look: Rich's Markdown with left-aligned headings, code in the terminal's palette.

An answer block is one `Static` holding this renderable — one widget per block instead of the
several a Textual `Markdown` widget mounts per paragraph, list item and bullet — which is what
lets a long answer stream at thousands of deltas a second (see benchmarks/tui_stream.py).
Colours are named ANSI colours and code uses Rich's `ansi_dark`/`ansi_light` syntax themes, so
the terminal's own palette decides how it looks, on dark and light backgrounds alike.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, ClassVar

from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.markdown import CodeBlock, Heading, Markdown, MarkdownElement
from rich.segment import Segment
from rich.syntax import Syntax
from rich.theme import Theme

if TYPE_CHECKING:
    from pygments.lexer import Lexer

MARKDOWN_THEME = Theme(
    {
        "markdown.code": "bold cyan",
        "markdown.code_block": "",
        "markdown.block_quote": "italic",
        "markdown.h1": "bold underline",
        "markdown.h2": "bold underline",
        "markdown.h3": "bold",
        "markdown.h4": "bold italic",
        "markdown.h5": "italic",
        "markdown.h6": "dim",
        "markdown.link": "blue",
        "markdown.link_url": "blue underline",
        "markdown.item.bullet": "bold",
        "markdown.item.number": "bold",
        "markdown.table.border": "dim",
        "markdown.table.header": "bold",
        "markdown.hr": "dim",
    }
)
"""Rich's markdown styles without fixed backgrounds (`on black` reads badly on light terminals)."""


class LeftHeading(Heading):
    """Headings aligned left, like the rest of a chat."""

    LEVEL_ALIGN: ClassVar[dict] = dict.fromkeys(("h1", "h2", "h3", "h4", "h5", "h6"), "left")


@lru_cache(maxsize=64)
def lexer_for(name: str) -> Lexer | str:
    """The Pygments lexer for a fence's language, looked up once (a lookup costs milliseconds)."""
    from pygments.lexers import get_lexer_by_name
    from pygments.util import ClassNotFound

    try:
        return get_lexer_by_name(name or "text", stripnl=False, ensurenl=True, tabsize=4)
    except ClassNotFound:
        return get_lexer_by_name("text", stripnl=False, ensurenl=True, tabsize=4)


class PlainCodeBlock(CodeBlock):
    """A code block indented by two columns instead of boxed in a padded background."""

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        code = str(self.text).rstrip()
        yield Syntax(
            code, lexer_for(self.lexer_name), theme=self.theme, word_wrap=True, padding=(0, 0, 0, 2), background_color="default"
        )


class RenderedOnce:
    """A renderable whose lines are kept per width: measuring its height and drawing it cost one render.

    Blank lines at the start and end are dropped (Rich puts one above a list); the spacing
    between blocks comes from the widgets' margins.
    """

    def __init__(self, renderable: RenderableType) -> None:
        self.renderable = renderable
        self._width = -1
        self._segments: list[Segment] = []

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if options.max_width != self._width:
            lines = console.render_lines(self.renderable, options.update(height=None), pad=False)
            while lines and _blank(lines[0]):
                lines.pop(0)
            while lines and _blank(lines[-1]):
                lines.pop()
            newline = Segment.line()
            self._segments = [segment for line in lines for segment in (*line, newline)]
            self._width = options.max_width
        yield from self._segments


def _blank(line: list[Segment]) -> bool:
    return all(not segment.text.strip() for segment in line)


class AnswerMarkdown(Markdown):
    """Markdown as the answer pane renders it."""

    elements: ClassVar[dict[str, type[MarkdownElement]]] = {
        **Markdown.elements,
        "heading_open": LeftHeading,
        "fence": PlainCodeBlock,
        "code_block": PlainCodeBlock,
    }

    def __init__(self, markup: str, *, dark: bool = True) -> None:
        theme = "ansi_dark" if dark else "ansi_light"
        super().__init__(markup, code_theme=theme, inline_code_theme=theme, hyperlinks=False)

"""`read_files`: every text file under some files, folders or globs, in one result.

For reading a project whole (an audit, a refactor across modules) in one call instead of one
call per file; the reading, ordering and budget rules are `glmcode.tools._reader`'s, shared with
`@path` mentions in prompts.
"""

from __future__ import annotations

from pydantic import Field

from glmcode import prompts
from glmcode.tools import _reader, saved_outputs
from glmcode.tools.base import Tool, ToolArgs, ToolContext, ToolError, ToolResult, one_line
from glmcode.wording import plural

MAX_PATHS = 200
"""Paths one call may name."""


class ReadFilesArgs(ToolArgs):
    paths: list[str] = Field(
        min_length=1,
        max_length=MAX_PATHS,
        description="Files, folders or gitignore-style globs relative to the workspace root, e.g. "
        '["src/", "README.md", "tests/**/*.py"]. Folders are read recursively.',
    )


class ReadFiles(Tool[ReadFilesArgs]):
    """Read many text files at once, each headed by its path and line count, within the output budget."""

    name = "read_files"
    kind = "read"
    Args = ReadFilesArgs
    left_out_hint: str = _reader.LEFT_OUT_HINT
    """What the note says to do about files that did not fit; when the session saves outputs
    (`glmcode.tools.saved_outputs`), the whole text of every file is saved too and the note
    says where."""

    def describe(self, args: ReadFilesArgs) -> str:
        """`read_files src/ README.md`."""
        return one_line(" ".join([self.name, *args.paths]))

    def run(self, args: ReadFilesArgs, ctx: ToolContext) -> ToolResult:
        selection = _reader.collect(ctx.root, args.paths)
        if not selection.files:
            found = "; ".join(selection.missing) or "no text files in the given paths"
            skipped = f" (skipped: {', '.join(f'{s.rel} ({s.reason})' for s in selection.skipped[:20])})" if selection.skipped else ""
            raise ToolError(f"nothing to read: {found}{skipped}")
        def hint() -> str:
            path = saved_outputs.save_current(lambda: _reader.whole(selection))
            return self.left_out_hint + (prompts.render("saved_output_whole.md", path=path) if path else "")

        rendered = _reader.render(selection, ctx.output_chars, hint)
        summary = plural(len(rendered.read), "file")
        if rendered.left_out:
            summary += f", {len(rendered.left_out):,} left out"
        return ToolResult(output=rendered.text, summary=summary)

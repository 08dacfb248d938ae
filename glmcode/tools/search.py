"""`search`: a Python regex over the workspace's text files, line by line, honouring .gitignore."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import Field

from glmcode import output_budget
from glmcode.tools import saved_outputs, workspace
from glmcode.tools._reader import is_secret_name
from glmcode.tools._text import decode, normalise, sniff
from glmcode.tools._walk import Entry, glob_matcher, walk
from glmcode.tools.base import (
    Tool,
    ToolArgs,
    ToolContext,
    ToolError,
    ToolResult,
    one_line,
)
from glmcode.wording import plural

MAX_FILE_BYTES = 2 * 1024 * 1024
"""Larger files are skipped (generated data, bundles) and counted in the note."""
MAX_LINE_CHARS = 300
"""A matching line is shown up to here, then the output budget's note of what was left out."""
NARROW_HINT = "narrow the pattern, path or glob"
"""Said in the note when the matches did not fit in the output budget."""
_CONTEXT_SENSITIVE = re.compile(r"\\[AZ]|\(\?<?[=!]")
"""Constructs that can match a lone line but not the same line inside the whole file
(anchors to the string, lookarounds): with them the whole-file prefilter is skipped."""


class SearchArgs(ToolArgs):
    pattern: str = Field(
        min_length=1,
        max_length=10_000,
        description="Python regular expression, matched against each line (e.g. `def \\w+_handler`, `(?i)todo`).",
    )
    path: str = Field(
        default=".",
        max_length=4096,
        description="File or folder to search, relative to the workspace root (default: the root).",
    )
    glob: str | None = Field(
        default=None,
        max_length=1000,
        description="Only search files whose path (relative to `path`) matches this gitignore-style glob, e.g. `*.py`.",
    )


def _compile(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except (re.error, OverflowError, RecursionError) as e:
        raise ToolError(f"invalid regular expression {pattern!r}: {e}") from None


def _text(path: Path) -> str | None:
    """The file's text, decoded as read_file decodes it, every line ending `\\n`; None if binary,
    unreadable or not a regular file (a FIFO is never opened for reading: it would block).

    Lines are numbered as read_file and edit_file number them (LF, CRLF and a lone CR end a line);
    UTF-16 and UTF-32 files with a byte-order mark are searched too.
    """
    try:
        with workspace.open_regular(path) as f:
            data = f.read()
    except OSError:
        return None
    if sniff(data)[0] == "utf-8" and workspace.is_binary(data):
        return None
    return normalise(decode(data).text)


def _files(root: Path, start: Path, glob: str | None) -> tuple[list[Entry], int]:
    """The regular files to search under `start` (or `start` itself, a file), and how many
    secret-looking files (`.env`, keys) were left out: only a file named as the path is searched."""
    if start.is_file():
        return [Entry(path=start, rel=workspace.rel(root, start), is_dir=False, is_symlink=False, is_regular=True)], 0
    prefix = "" if start == root else workspace.rel(root, start) + "/"
    matcher = glob_matcher(glob) if glob and glob.strip() else None
    entries = [
        entry
        for entry in walk(root, start)
        if entry.is_regular
        and (matcher is None or matcher.match_file(entry.rel[len(prefix) :]))
    ]
    kept = [entry for entry in entries if not is_secret_name(entry.path.name)]
    return kept, len(entries) - len(kept)


class Search(Tool[SearchArgs]):
    """Search file contents with a regular expression."""

    name = "search"
    kind = "read"
    Args = SearchArgs

    def describe(self, args: SearchArgs) -> str:
        """`search def main`, then ` in <path>` and ` (<glob>)` when given."""
        where = f" in {args.path}" if args.path != "." else ""
        only = f" ({args.glob})" if args.glob else ""
        return one_line(f"{self.name} {args.pattern}{where}{only}")

    def run(self, args: SearchArgs, ctx: ToolContext) -> ToolResult:
        regex = _compile(args.pattern)
        prefilter = None if _CONTEXT_SENSITIVE.search(args.pattern) else re.compile(args.pattern, re.MULTILINE)
        start = workspace.resolve(ctx.root, args.path, write=False)
        place = workspace.rel(ctx.root, start)
        if not start.exists():
            raise ToolError(f"{place} does not exist; use list_files to find the right path")
        shown = output_budget.HeadTail(ctx.output_chars, keep_full=True)
        total = files_matched = files_searched = too_big = 0
        entries, secrets = _files(ctx.root, start, args.glob)
        for entry in entries:
            try:
                if entry.path.stat().st_size > MAX_FILE_BYTES:
                    too_big += 1
                    continue
            except OSError:
                continue
            text = _text(entry.path)
            if text is None:
                continue
            files_searched += 1
            if prefilter is not None and not prefilter.search(text):
                continue
            before = total
            for number, line in enumerate(text.split("\n"), 1):
                if regex.search(line):
                    if len(line) > MAX_LINE_CHARS:
                        line = f"{line[:MAX_LINE_CHARS]} {output_budget.note(len(line) - MAX_LINE_CHARS)}"
                    separator = "\n" if total else ""
                    shown.add(f"{separator}{entry.rel}:{number}: {line}")
                    total += 1
            files_matched += total > before
        notes = []
        if too_big:
            limit = f"{MAX_FILE_BYTES / 2**20:g} MB" if MAX_FILE_BYTES >= 2**20 else f"{MAX_FILE_BYTES:,} bytes"
            files = "1 file" if too_big == 1 else f"{too_big:,} files"
            notes.append(f"[{files} over {limit} not searched]")
        if secrets:
            notes.append(f"[{plural(secrets, 'secret-looking file')} (.env, keys) not searched: give one as the path to search it]")
        if not total:
            where = f" in files matching {args.glob!r}" if args.glob else ""
            head = f"No matches for {args.pattern!r} in {place}{where} ({files_searched:,} text files searched)."
            return ToolResult(output="\n".join([head, *notes]), summary="0 matches")
        summary = f"{_count(total, 'match', 'matches')} in {_count(files_matched, 'file', 'files')}"
        after = "".join(f"\n{note}" for note in notes)
        return ToolResult(output=shown.text(saved_outputs.hint_for(shown.full_pieces, NARROW_HINT), after=after), summary=summary)


def _count(n: int, one: str, many: str) -> str:
    return f"{n:,} {one if n == 1 else many}"

"""`@path` mentions in a prompt: the files they name are attached to it, read like `read_files`.

`@src/`, `@README.md`, `@**/*.py` and `@"a name with spaces.txt"` attach those files' text after
the prompt (the prompt itself is kept as written), within the same output budget as one tool
result. An `@` that is not a mention is left alone: one inside a word (`a@b.com`), inside code
(fenced blocks and `inline code`, where `@decorator` lives), or a bare word that names nothing
in the workspace (`@property`, `@alice`). A mention that looks like a path (it has a `/`, a `.`
or a glob character) but names nothing is reported in `Expanded.missing`, never an error.
Shared by `glmcode run`, goal mode and the TUI through `Session`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from glmcode import prompts
from glmcode.tools import _reader, workspace
from glmcode.tools.base import ToolError

_CODE = re.compile(r"^[ \t]*(```|~~~).*?(?:^[ \t]*\1[^\n]*$|\Z)|`[^`\n]+`", re.MULTILINE | re.DOTALL)
"""Fenced code blocks (to their closing fence or the end) and inline code spans."""
_MENTION = re.compile(r"(?<![\w@`])@(?:\"([^\"\n]+)\"|([^\s\"'`<>()\[\]{},;]+))")
"""`@` at a word start, then a quoted path or a run of path characters."""
_TRAILING = ".,:;!?"
"""Sentence punctuation stripped from the end of an unquoted mention (`see @README.md.`)."""


@dataclass
class Expanded:
    """A prompt with its mentions attached."""

    text: str
    """What the model gets: the prompt, then the attached files (unchanged if nothing was attached)."""
    paths: list[str] = field(default_factory=list)
    """The mentions that named something, as written (without `@`), in order."""
    missing: list[str] = field(default_factory=list)
    """One line per mention that looked like a path but named nothing, or could not be read."""


def find(prompt: str) -> list[str]:
    """The mentions in `prompt` (without `@`), in order, duplicates dropped; code is skipped."""
    code = [match.span() for match in _CODE.finditer(prompt)]
    found: list[str] = []
    for match in _MENTION.finditer(prompt):
        if any(start <= match.start() < end for start, end in code):
            continue
        path = match.group(1) or match.group(2).rstrip(_TRAILING)
        if path and path not in found:
            found.append(path)
    return found


def _looks_like_path(text: str) -> bool:
    return "/" in text or "." in text or _reader.is_glob(text)


def expand(prompt: str, root: Path, limit: int) -> Expanded:
    """`prompt` with the files its mentions name attached, within `limit` characters of attachment.

    `root` is the resolved workspace root; confinement is the tools' (nothing outside the root
    is read). Never raises for a bad mention: it goes to `missing`.
    """
    wanted: list[str] = []
    missing: list[str] = []
    for mention in find(prompt):
        if _reader.is_pattern(root, mention):
            wanted.append(mention)
            continue
        try:
            path = workspace.resolve(root, mention, write=False)
        except ToolError as e:
            if _looks_like_path(mention):
                missing.append(f"@{mention}: {e}")
            continue
        if path.exists():
            wanted.append(mention)
        elif _looks_like_path(mention):
            missing.append(f"@{mention}: no such file or folder")
    if not wanted:
        return Expanded(prompt, [], missing)
    selection = _reader.collect(root, wanted)
    missing += [f"@{line}" for line in selection.missing]
    if not selection.files:
        return Expanded(prompt, [], missing)
    rendered = _reader.render(selection, limit)
    attached = prompts.render("mentions.md", mentions=", ".join(f"@{m}" for m in wanted), files=rendered.text)
    return Expanded(f"{prompt}\n\n{attached}", wanted, missing)

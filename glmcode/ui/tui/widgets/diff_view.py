"""Unified diffs coloured with the terminal's own palette (green additions, red removals)."""

from __future__ import annotations

from rich.text import Text

MAX_DIFF_LINES = 400


def diff_text(diff: str, max_lines: int = MAX_DIFF_LINES) -> Text:
    """`diff` as Rich text: headers bold, hunks cyan, `+` green, `-` red; long diffs are cut."""
    lines = diff.rstrip("\n").split("\n")
    text = Text(no_wrap=False)
    for line in lines[:max_lines]:
        if line.startswith(("+++", "---", "diff --git", "index ")):
            style = "bold"
        elif line.startswith("@@"):
            style = "cyan"
        elif line.startswith("+"):
            style = "green"
        elif line.startswith("-"):
            style = "red"
        else:
            style = ""
        text.append(line + "\n", style=style)
    if len(lines) > max_lines:
        text.append(f"… {len(lines) - max_lines} more lines\n", style="dim")
    text.rstrip()
    return text


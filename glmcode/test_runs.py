"""Test-runner output condensed to what a fix needs: the failing parts first.

A test run that prints more than the output budget would otherwise reach the model as its first
and last few thousand characters — dots and `PASSED` lines, with the one failure that matters
cut out of the middle. `condense` keeps:

- pytest (recognised by its `=== ... ===` section rules): the `ERRORS` and `FAILURES` sections,
  the `short test summary info` and the final `N failed, M passed in 1.2s` line, in pytest's
  order; the progress lines, warnings and passing output go;
- any other runner: every line that names an error or a failure (`error`, `fail`, `Traceback`,
  `exception`, `panic`, ...) with `CONTEXT_BEFORE` lines before and `CONTEXT_AFTER` after, each
  excerpt headed by its line numbers in the whole output, then the last `TAIL_LINES` lines.

What it returns is still cut to the budget by the caller; the whole output is saved
(`glmcode.tools.saved_outputs`), so nothing is lost, only ordered for reading.
"""

from __future__ import annotations

import re

from glmcode import prompts

CONTEXT_BEFORE = 2
"""Lines kept before a line that names an error (generic runners)."""
CONTEXT_AFTER = 6
"""Lines kept after a line that names an error (generic runners): a traceback's next frames."""
TAIL_LINES = 30
"""Last lines always kept (generic runners): the summary most runners end with."""
MAX_CHARS = 4_000_000
"""Longer outputs are not condensed (only cut): reading them whole would cost too much memory."""

_RULE = re.compile(r"^={3,} ?(.*?) ?={3,}$")
_PYTEST_SECTIONS = ("ERRORS", "FAILURES", "short test summary info")
_FINAL = re.compile(r"^=+ .*\b(passed|failed|error|errors|skipped|deselected|no tests ran)\b.* in [\d.]+s.* =+$")
_TROUBLE = re.compile(
    r"\b(error|errors|fail|failed|failing|failure|failures|traceback|exception|panic|panicked|fatal|assert\w*)\b"
    r"|\bFAIL\b|\bERR!|✗|✘",
    re.IGNORECASE,
)


def condense(text: str) -> str | None:
    """The failing parts of a test run's output, or None when there is nothing to condense to
    (no pytest failure sections and no line naming an error) or the text is over `MAX_CHARS`."""
    if len(text) > MAX_CHARS:
        return None
    lines = text.split("\n")
    return _pytest(lines) or _generic(lines)


def header(total_chars: int, saved: str | None) -> str:
    """The line put before a condensed output: that it was condensed, how long the whole output
    was, and the path it is saved at (`read_file` reads it) when it was saved."""
    where = prompts.render("saved_output_whole.md", path=saved) if saved else ""
    return prompts.render("condensed_test_output.md", chars=f"{total_chars:,}", saved=where)


def _pytest(lines: list[str]) -> str | None:
    """pytest's failure sections, its short summary and its final line; None if not pytest-like."""
    kept: list[str] = []
    keeping = False
    final = ""
    for line in lines:
        rule = _RULE.match(line.strip())
        if rule:
            if _FINAL.match(line.strip()):
                final, keeping = line, False
                continue
            keeping = rule.group(1) in _PYTEST_SECTIONS
        if keeping:
            kept.append(line)
    if not kept:
        return None
    return "\n".join([*kept, final] if final else kept)


def _generic(lines: list[str]) -> str | None:
    """Lines naming an error, with context, headed by their line numbers; then the tail."""
    tail_start = max(0, len(lines) - TAIL_LINES)
    ranges: list[list[int]] = []
    for number, line in enumerate(lines[:tail_start]):
        if _TROUBLE.search(line):
            start, end = max(0, number - CONTEXT_BEFORE), min(tail_start, number + CONTEXT_AFTER + 1)
            if ranges and start <= ranges[-1][1]:
                ranges[-1][1] = max(ranges[-1][1], end)
            else:
                ranges.append([start, end])
    if not ranges:
        return None
    parts = [f"[lines {start + 1}-{end}]\n" + "\n".join(lines[start:end]) for start, end in ranges]
    parts.append(f"[last lines, {tail_start + 1}-{len(lines)}]\n" + "\n".join(lines[tail_start:]))
    return "\n".join(parts)

"""The verify stage's checks, run by the harness, not the model.

Commands: every verify command runs in the workspace; it passes when it exits 0. Constraints:
the AGENT.md rules are checked over everything that changed since the goal began — the two
snapshots' diff, so a protected file changed through `run_shell` is caught too — and over the
commits made since then.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from glmcode import output_budget
from glmcode.rules.agent_md import Rules, is_dependency_manifest
from glmcode.tools import saved_outputs, snapshot
from glmcode.tools.base import ToolError
from glmcode.tools.saved_outputs import OutputStore
from glmcode.tools.shell_runner import condensed_text, run_command

OUTPUT_CHARS = 4_000
"""Characters of a check's output kept in events, the goal state and the model's feedback (head and
tail, cut by `glmcode.output_budget`)."""


class Check(BaseModel):
    """The outcome of one verify command or one constraint."""

    kind: Literal["command", "constraint"]
    """`command` or `constraint`."""
    name: str
    """The command line, or the rule's text."""
    passed: bool
    exit_code: int | None = None
    output: str = ""


def run_commands(
    commands: list[str], root: Path, timeout: float, cancel: threading.Event, outputs: OutputStore | None = None,
    scope: str | None = None,
) -> list[Check]:
    """Run each verify command; stop early if `cancel` is set.

    A check's output is cleaned like a command's (`glmcode.terminal_text`); past `OUTPUT_CHARS`,
    a test run's failing parts come first (`glmcode.test_runs`) and the whole output is saved in
    `outputs` as `verify-<n>` (n: the command's place in `commands`, from 1). `scope`: the
    session's process mark (`BackgroundProcesses.scope`), so what a command leaves running ends
    with the session.
    """
    checks = []
    for index, command in enumerate(commands, 1):
        if cancel.is_set():
            break
        try:
            outcome = run_command(command, root, timeout, cancel, OUTPUT_CHARS, scope=scope)
        except ToolError as exc:
            checks.append(Check(kind="command", name=command, passed=False, output=output_budget.cut(str(exc), OUTPUT_CHARS)))
            continue
        stopped = f"\n[timed out after {timeout:.0f} s]" if outcome.timed_out else ""
        with saved_outputs.saving_for(outputs, f"verify-{index}"):
            output = condensed_text(outcome, OUTPUT_CHARS) or outcome.captured.text(
                saved_outputs.hint_for(outcome.captured.full_pieces), after=outcome.note + stopped
            )
        checks.append(Check(kind="command", name=command, passed=outcome.exit_code == 0, exit_code=outcome.exit_code, output=output))
    return checks


def check_constraints(rules: Rules, root: Path, start: snapshot.Snapshot | None) -> list[Check]:
    """Check each enforced AGENT.md constraint over the changes since `start`."""
    declared = [p.rule for p in rules.protected] + [r for r in (rules.no_dependencies_rule, rules.no_commit_rule) if r]
    if not declared:
        return []
    now = snapshot.take(root) if start is not None else None
    if start is None or now is None:
        return [Check(kind="constraint", name=rule, passed=True, output="not a git repository: enforced on each tool call only") for rule in declared]
    changed = snapshot.changed_paths(root, start, now)
    checks = []
    for protected in rules.protected:
        hits = [p for p in changed if protected.matches(p)]
        checks.append(_constraint(protected.rule, hits, root, "protected files changed"))
    if rules.no_dependencies_rule:
        hits = [p for p in changed if is_dependency_manifest(p, root)]
        checks.append(_constraint(rules.no_dependencies_rule, hits, root, "dependency manifests changed"))
    if rules.no_commit_rule:
        commits = snapshot.commits_since(root, start)
        output = "commits made during the goal:\n" + "\n".join(commits) if commits else ""
        checks.append(Check(kind="constraint", name=rules.no_commit_rule, passed=not commits, output=output))
    return checks


def _constraint(rule: str, hits: list[Path], root: Path, what: str) -> Check:
    if not hits:
        return Check(kind="constraint", name=rule, passed=True)
    listed = "\n".join(_rel(p, root) for p in hits)
    return Check(kind="constraint", name=rule, passed=False, output=f"{what}:\n{listed}")


def _rel(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)

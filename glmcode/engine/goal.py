"""Goal mode: plan → implement → verify → report, in one conversation (DESIGN.md §5).

The stages share one system prompt and one tool list, so the provider's cache carries
everything read while planning into implementation; a stage opens with a `user` message once
the model has stopped calling tools. The plan stage is read-only (enforced by the
permissions), the verify stage is run by the harness itself, failures go back to the model as
fix rounds, and the report is saved with the real verification results appended.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from glmcode import prompts
from glmcode.engine import goal_state, verify
from glmcode.engine.events import Event, ResultStatus, Stage, Verify
from glmcode.engine.goal_state import NEXT_STAGE, GoalState
from glmcode.tools import snapshot

if TYPE_CHECKING:
    from glmcode.engine.agent import Agent
    from glmcode.redaction import Redactor
    from glmcode.rules.agent_md import Rules
    from glmcode.rules.permissions import Permissions
    from glmcode.tools.base import ToolContext

VERIFY_TIMEOUT_S = 1800.0


class GoalHost(Protocol):
    """What a goal runs inside: a started `Session` is one.

    Declared here, so the goal runner needs no import of the session (which imports it).
    """

    id: str
    """The session id: the goal's state and report live in `.glmcode/runs/<id>/`."""
    root: Path
    agent: Agent
    ctx: ToolContext
    permissions: Permissions
    rules: Rules
    redactor: Redactor
    """Hides secrets in what the goal writes (report, state)."""

    def emit(self, event: Event) -> None:
        """Send an event to the transcript and the front end."""

    def task_text(self, text: str) -> str:
        """`text` with its `@path` mentions attached and any change to the project map noted."""


class GoalRunner:
    """Moves one goal through its stages, saving the state after every step."""

    def __init__(self, session: GoalHost, state: GoalState) -> None:
        self.session = session
        self.agent = session.agent
        self.state = state
        self.root = session.root
        if state.start_tree is None and state.stage == "plan" and not state.stage_started:
            start = snapshot.take(self.root)
            if start is not None:
                state.start_tree, state.start_head = start.tree, start.head

    def run(self) -> tuple[ResultStatus, str, dict[str, Any]]:
        """Run the remaining stages; return (status, summary, extra result fields)."""
        try:
            while self.state.stage != "done":
                stage = self.state.stage
                self.session.emit(Stage(name=stage, round=self.state.round))
                getattr(self, f"_{stage}")()
        finally:
            self.session.permissions.read_only_reason = None
            self._save()
        return self._outcome()

    def _plan(self) -> None:
        self.session.permissions.read_only_reason = prompts.load("goal/plan_read_only.md")
        commands = "\n".join(f"- `{c}`" for c in self.state.verify_commands) or "- (none declared: say how you would check it)"
        goal = self.state.goal if self.state.stage_started else self.session.task_text(self.state.goal)
        self._open_stage("goal/plan.md", goal=goal, verify=commands)
        self.agent.run_until_idle()
        if not self.session.ctx.plan and not self.state.plan_nudged:
            self.state.plan_nudged = True
            self._save()
            self.agent.say(prompts.load("goal/plan_nudge.md"))
            self.agent.run_until_idle()
        self.state.plan = list(self.session.ctx.plan)
        self.state.plan_explanation = self.session.ctx.plan_explanation
        self.session.permissions.read_only_reason = None
        self._advance()

    def _implement(self) -> None:
        self.session.ctx.plan = list(self.state.plan)
        self.session.ctx.plan_explanation = self.state.plan_explanation
        self._open_stage("goal/implement.md")
        self.agent.run_until_idle()
        self.state.plan = list(self.session.ctx.plan)
        self._advance()

    def _verify(self) -> None:
        checks = verify.run_commands(
            self.state.verify_commands, self.root, VERIFY_TIMEOUT_S, self.session.ctx.cancel, self.session.ctx.outputs,
            scope=self.session.ctx.processes.scope,
        )
        self.agent.check_stopped()  # a command killed by an interrupt or the time budget did not fail: verify again on resume
        start = snapshot.Snapshot(self.state.start_tree, self.state.start_head) if self.state.start_tree else None
        checks += verify.check_constraints(self.session.rules, self.root, start)
        for check in checks:
            self.session.emit(
                Verify(
                    kind=check.kind, command=check.name if check.kind == "command" else None,
                    rule=check.name if check.kind == "constraint" else None,
                    exit_code=check.exit_code, passed=check.passed, output=check.output,
                )
            )
        self.state.history.append(checks)
        if all(check.passed for check in checks) or self.state.round >= self.state.max_fix_rounds:
            self._advance()
            return
        self.state.round += 1
        failures = "\n\n".join(_describe(check) for check in checks if not check.passed)
        self.agent.say(prompts.render("goal/fix.md", round=self.state.round, max_rounds=self.state.max_fix_rounds, failures=failures))
        self.state.stage, self.state.stage_started = "implement", True
        self._save()

    def _report(self) -> None:
        self.session.permissions.read_only_reason = prompts.load("goal/report_read_only.md")
        diff_stat = self._diff_stat()
        self._open_stage(
            "goal/report.md",
            outcome=self._outcome_sentence(),
            checks="\n".join(_check_line(c) for c in self.state.last_checks) or "(no checks ran)",
            diff_stat=diff_stat or "(no changes)",
        )
        report = self.agent.run_until_idle().content.strip()
        path = goal_state.run_dir(self.root, self.session.id) / "report.md"
        document = self.session.redactor.text(self._report_document(report, diff_stat))
        path.write_text(document, encoding="utf-8")
        self.state.report_path = str(path)
        _append_step_summary(document)
        self.session.permissions.read_only_reason = None
        self._advance()

    def _open_stage(self, prompt: str, **values: object) -> None:
        if not self.state.stage_started:
            self.agent.say(prompts.render(prompt, **values))
            self.state.stage_started = True
            self._save()

    def _advance(self) -> None:
        self.state.stage = NEXT_STAGE[self.state.stage]
        self.state.stage_started = False
        self._save()

    def save_for_compaction(self) -> GoalState:
        """Save the state with the plan as it is now (the model may have updated it since the
        stage began) and return it as `goal.json` holds it: what a compaction re-injects."""
        if self.session.ctx.plan:
            self.state.plan = list(self.session.ctx.plan)
            self.state.plan_explanation = self.session.ctx.plan_explanation or self.state.plan_explanation
        self._save()
        return goal_state.load(self.root, self.session.id) or self.state

    def _save(self) -> None:
        """Save the state, secrets redacted (the goal text is the user's and may hold one)."""
        goal_state.save(self.session.redactor.value(self.state), self.root, self.session.id)

    def _diff_stat(self) -> str:
        if not self.state.start_tree:
            return ""
        now = snapshot.take(self.root)
        start = snapshot.Snapshot(self.state.start_tree, self.state.start_head)
        return snapshot.diff_stat(self.root, start, now) if now else ""

    def _outcome_sentence(self) -> str:
        commands = [c for c in self.state.last_checks if c.kind == "command"]
        if not self.state.verify_commands:
            return "No verify command was declared, so nothing was verified by running checks; say so plainly."
        if self.state.passed:
            return f"All {len(commands)} verify commands and all constraints passed."
        return f"Verification still failed after {_rounds(self.state.round)} (the limit is {self.state.max_fix_rounds})."

    def _report_document(self, report: str, diff_stat: str) -> str:
        checks = "\n".join(f"- {_check_line(c)}" for c in self.state.last_checks) or "- nothing was verified: no verify command was declared"
        marks = {"completed": "x", "in_progress": "~", "pending": " "}
        plan = "\n".join(f"- [{marks[step.status]}] {step.step}" for step in self.state.plan)
        return (
            f"# Goal report\n\n**Goal:** {self.state.goal}\n\n{report}\n\n---\n\n"
            f"## Verification recorded by glmcode (round {self.state.round})\n\n{checks}\n"
            + (f"\n## Plan as last updated\n\n{plan}\n" if plan else "")
            + (f"\n## Diff stat since the goal began\n\n```\n{diff_stat}\n```\n" if diff_stat else "")
        )

    def _outcome(self) -> tuple[ResultStatus, str, dict[str, Any]]:
        commands = [c for c in self.state.last_checks if c.kind == "command"]
        verified = bool(commands) and self.state.passed
        extra = {"report_path": self.state.report_path, "verified": verified, "rounds": self.state.round}
        failed = [c for c in self.state.last_checks if not c.passed]
        if failed:
            names = ", ".join(f"`{c.name}`" + (f" (exit {c.exit_code})" if c.exit_code is not None else "") for c in failed)
            return "failed", f"verification failed after {_rounds(self.state.round)}: {names}", extra
        refused = self.agent.edits_all_refused()
        if not commands and refused:
            return "failed", f"not verified (no verify command) and {refused}", extra
        if not commands:
            return "success", "not verified: no verify command was declared (AGENT.md Commands, config `verify` or --verify)", extra
        passed = "the verify command passed" if len(commands) == 1 else f"all {len(commands)} verify commands passed"
        return "success", passed + (f" after {_rounds(self.state.round)}" if self.state.round else ""), extra


def _rounds(count: int) -> str:
    """`0 fix rounds`, `1 fix round`, `2 fix rounds`: the result's summary is read by people and scripts."""
    return f"{count} fix round" + ("" if count == 1 else "s")


def _check_line(check: verify.Check) -> str:
    mark = "PASS" if check.passed else "FAIL"
    what = f"`{check.name}`" + (f" exited {check.exit_code}" if check.exit_code is not None else "")
    return f"{mark} {check.kind} {what}" if check.kind == "command" else f"{mark} constraint “{check.name}”"


def _describe(check: verify.Check) -> str:
    output = check.output.strip() or "(no output)"
    return f"{_check_line(check)}\n```\n{output}\n```"


def _append_step_summary(report: str) -> None:
    """In GitHub Actions, add the report (already redacted) to the job's summary page."""
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as handle:
            handle.write(report + "\n")

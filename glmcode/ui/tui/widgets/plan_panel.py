"""The plan panel: `update_plan` steps with their status, and in goal mode the stage and checks.

The words and marks are `glmcode.ui.present`'s, as in the other front ends.
"""

from __future__ import annotations

from rich.text import Text
from textual.containers import Vertical
from textual.widgets import Static

from glmcode.engine.events import PlanStep, Verify
from glmcode.ui import present
from glmcode.ui.present import StageLine

STEP_STYLES = {"completed": "green", "in_progress": "yellow", "pending": ""}
"""The style of a step's mark, by its status."""


class PlanPanel(Vertical):
    """Hidden until there is a plan or a goal stage to show."""

    def __init__(self) -> None:
        super().__init__(id="plan-panel")
        self.steps: list[PlanStep] = []
        self.stage: tuple[str, int] | None = None
        """The goal stage now running: (name, fix round)."""
        self.checks: list[Verify] = []
        """The verify results of the current round."""
        self._stage = Static(classes="plan-stage")
        self._steps = Static(classes="plan-steps")
        self._checks = Static(classes="plan-checks")

    def compose(self):
        yield self._stage
        yield self._steps
        yield self._checks

    def on_mount(self) -> None:
        self._refresh_all()

    def reset(self) -> None:
        """Forget plan, stage and checks (a new session)."""
        self.steps, self.stage, self.checks = [], None, []
        self._refresh_all()

    def show_plan(self, steps: list[PlanStep]) -> None:
        self.steps = list(steps)
        self._refresh_all()

    def show_stage(self, name: str, round_: int) -> None:
        """A goal stage began; planning and each verify stage start a fresh list of checks."""
        if name in ("plan", "verify"):
            self.checks = []
        self.stage = (name, round_)
        self._refresh_all()

    def add_check(self, event: Verify) -> None:
        self.checks = [*self.checks, event]
        self._refresh_all()

    def _refresh_all(self) -> None:
        self.display = bool(self.steps or self.stage)
        self._stage.display = self.stage is not None
        if self.stage is not None:
            self._stage.update(stage_text(StageLine(*self.stage)))
        self._steps.display = bool(self.steps)
        self._steps.update(steps_text(self.steps))
        self._checks.display = bool(self.checks)
        self._checks.update(checks_text(self.checks))


def stage_text(stage: StageLine) -> Text:
    """`Goal · implement (2/4) · fix round 1`: the stage of plan → implement → verify → report."""
    text = Text.assemble(("Goal · ", "bold"), (stage.name, "bold reverse"))
    if stage.position:
        text.append(f" ({stage.position})", style="dim")
    if stage.round:
        text.append(f" · fix round {stage.round}", style="yellow")
    return text


def steps_text(steps: list[PlanStep]) -> Text:
    """`Plan 1/3` over one line a step, each with its mark."""
    text = Text(f"Plan {present.plan_progress(steps)}\n", style="bold")
    for step in steps:
        text.append(present.plan_mark(step.status) + " ", style=STEP_STYLES.get(step.status, ""))
        text.append(present.one_line(step.step) + "\n", style="dim" if step.status == "completed" else "")
    text.rstrip()
    return text


def checks_text(checks: list[Verify]) -> Text:
    """`Checks` over one line a check: its mark and what was checked (`pytest -q (exit 1)`)."""
    text = Text("Checks\n", style="bold")
    for check in map(present.verify_line, checks):
        text.append(check.mark + " ", style="green" if check.passed else "red")
        text.append(check.label + "\n")
    text.rstrip()
    return text

"""The plan panel: `update_plan` steps with their status, and in goal mode the stage and checks."""

from __future__ import annotations

from rich.text import Text
from textual.containers import Vertical
from textual.widgets import Static

from glmcode.engine.events import Verify
from glmcode.tools.base import PlanStep

STAGES = ("plan", "implement", "verify", "report")
ICONS = {"completed": ("✓", "green"), "in_progress": ("▶", "yellow"), "pending": ("·", "")}


class PlanPanel(Vertical):
    """Hidden until there is a plan or a goal stage to show."""

    def __init__(self) -> None:
        super().__init__(id="plan-panel")
        self.steps: list[PlanStep] = []
        self.stage: tuple[str, int] | None = None
        self.checks: list[Verify] = []
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
        """A goal stage began; a new implement round starts a fresh list of checks."""
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
            self._stage.update(stage_line(*self.stage))
        self._steps.display = bool(self.steps)
        self._steps.update(steps_text(self.steps))
        self._checks.display = bool(self.checks)
        self._checks.update(checks_text(self.checks))


def stage_line(name: str, round_: int) -> Text:
    """`Goal · implement (2/4) · round 1`: the stage of plan → implement → verify → report."""
    text = Text.assemble(("Goal · ", "bold"), (name, "bold reverse"))
    if name in STAGES:
        text.append(f" ({STAGES.index(name) + 1}/{len(STAGES)})", style="dim")
    if round_:
        text.append(f" · round {round_}", style="yellow")
    return text


def steps_text(steps: list[PlanStep]) -> Text:
    done = sum(1 for step in steps if step.status == "completed")
    text = Text(f"Plan {done}/{len(steps)}\n", style="bold")
    for step in steps:
        icon, style = ICONS.get(step.status, ("·", ""))
        text.append(icon + " ", style=style)
        text.append(step.step + "\n", style="dim" if step.status == "completed" else "")
    text.rstrip()
    return text


def checks_text(checks: list[Verify]) -> Text:
    text = Text("Checks\n", style="bold")
    for check in checks:
        text.append("✓ " if check.passed else "✗ ", style="green" if check.passed else "red")
        label = check.command or check.rule or ""
        exit_code = f" (exit {check.exit_code})" if check.exit_code is not None else ""
        text.append(label + exit_code + "\n")
    text.rstrip()
    return text

"""What a goal run remembers: goal text, plan, stage, round, verify history; saved after each step.

Kept in `.glmcode/runs/<session>/goal.json` so `glmcode run --resume ID` continues from the
stage it stopped in (after a budget stop, an interrupt or a crash).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from glmcode.engine.transcript import glmcode_dir
from glmcode.engine.verify import Check
from glmcode.tools.base import PlanStep

GoalStage = Literal["plan", "implement", "verify", "report", "done"]
NEXT_STAGE: dict[str, GoalStage] = {"plan": "implement", "implement": "verify", "verify": "report", "report": "done"}


class GoalState(BaseModel):
    """The state of one goal run."""

    goal: str
    stage: GoalStage = "plan"
    stage_started: bool = False
    """Whether the current stage's opening message is already in the conversation."""
    round: int = 0
    """0 for the first implementation; n for the n-th fix round."""
    max_fix_rounds: int = 3
    verify_commands: list[str] = Field(default_factory=list)
    plan: list[PlanStep] = Field(default_factory=list)
    plan_explanation: str | None = None
    """How the model said the result will be verified."""
    plan_nudged: bool = False
    history: list[list[Check]] = Field(default_factory=list)
    """The checks of each verify round, oldest first."""
    start_tree: str | None = None
    start_head: str | None = None
    report_path: str | None = None

    @property
    def last_checks(self) -> list[Check]:
        return self.history[-1] if self.history else []

    @property
    def passed(self) -> bool:
        """Every check of the last verify round passed (vacuously true with no checks)."""
        return bool(self.history) and all(check.passed for check in self.last_checks)


def run_dir(root: Path, session_id: str) -> Path:
    folder = glmcode_dir(root) / "runs" / session_id
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def state_path(root: Path, session_id: str) -> Path:
    return root / ".glmcode" / "runs" / session_id / "goal.json"


def save(state: GoalState, root: Path, session_id: str) -> None:
    """Write the state atomically (a crash leaves the previous state, never half a file)."""
    path = run_dir(root, session_id) / "goal.json"
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(state.model_dump_json(indent=2), encoding="utf-8")
    os.replace(temporary, path)


def load(root: Path, session_id: str) -> GoalState | None:
    """The saved state of a session's goal, or None if the session ran no goal."""
    path = state_path(root, session_id)
    if not path.is_file():
        return None
    return GoalState.model_validate_json(path.read_text(encoding="utf-8"))

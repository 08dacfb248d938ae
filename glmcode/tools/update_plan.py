"""`update_plan`: replace the plan shown in the UI and kept in the goal state."""

from __future__ import annotations

from pydantic import Field

from glmcode.tools.base import (
    PlanStatus,
    PlanStep,
    Tool,
    ToolArgs,
    ToolContext,
    ToolError,
    ToolResult,
)

MAX_STEPS = 50


class PlanStepArg(ToolArgs):
    step: str = Field(min_length=1, max_length=500, description="What this step does, in a short sentence.")
    status: PlanStatus = Field(description="pending, in_progress (at most one step) or completed.")


class UpdatePlanArgs(ToolArgs):
    steps: list[PlanStepArg] = Field(
        min_length=1, max_length=MAX_STEPS, description="The whole plan, in order; it replaces the previous one."
    )
    explanation: str | None = Field(default=None, max_length=2000, description="How the result will be verified, or why the plan changed; kept until replaced.")


class UpdatePlan(Tool[UpdatePlanArgs]):
    """Set the plan: ordered steps, each pending, in progress or completed."""

    name = "update_plan"
    kind = "plan"
    Args = UpdatePlanArgs

    def describe(self, args: UpdatePlanArgs) -> str:
        """`update_plan 4 steps`."""
        return f"{self.name} {len(args.steps)} step{'' if len(args.steps) == 1 else 's'}"

    def run(self, args: UpdatePlanArgs, ctx: ToolContext) -> ToolResult:
        active = [s.step for s in args.steps if s.status == "in_progress"]
        if len(active) > 1:
            raise ToolError(
                f"{len(active)} steps are in_progress; at most one step may be in_progress at a time "
                "(mark finished ones completed and later ones pending)"
            )
        if any(not s.step.strip() for s in args.steps):
            raise ToolError("every step needs a description; one is blank")
        steps = [PlanStep(step=s.step.strip(), status=s.status) for s in args.steps]
        ctx.plan = steps
        if args.explanation and args.explanation.strip():
            ctx.plan_explanation = args.explanation.strip()
        done = sum(s.status == "completed" for s in steps)
        text = f"Plan updated: {done} of {len(steps)} steps completed"
        text += f"; in progress: {active[0].strip()}." if active else "."
        return ToolResult(output=text, summary=f"{done}/{len(steps)} done", plan=list(steps))

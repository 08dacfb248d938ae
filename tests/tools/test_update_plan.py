"""update_plan: validation and the plan it leaves in the context."""

from __future__ import annotations

import pytest

from glmcode.tools.base import PlanStep


def test_sets_the_plan_and_reports_progress(call, ctx) -> None:
    steps = [
        {"step": "Read the CLI", "status": "completed"},
        {"step": "Add --verbose", "status": "completed"},
        {"step": "Write tests", "status": "in_progress"},
        {"step": "Run lint", "status": "pending"},
        {"step": "Report", "status": "pending"},
    ]
    result = call("update_plan", {"steps": steps, "explanation": "tests before lint"})
    assert result.ok
    assert result.output == "Plan updated: 2 of 5 steps completed; in progress: Write tests."
    assert result.summary == "2/5 done"
    assert result.plan == [PlanStep(**s) for s in steps]
    assert ctx.plan == result.plan


def test_replaces_the_previous_plan(call, ctx) -> None:
    call("update_plan", {"steps": [{"step": "a", "status": "pending"}, {"step": "b", "status": "pending"}]})
    result = call("update_plan", '{"steps": [{"step": "a", "status": "completed"}]}')
    assert result.output == "Plan updated: 1 of 1 steps completed."
    assert ctx.plan == [PlanStep(step="a", status="completed")]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"steps": []}, "steps: List should have at least 1 item"),
        ({}, "steps: Field required"),
        (
            {"steps": [{"step": "a", "status": "in_progress"}, {"step": "b", "status": "in_progress"}]},
            "2 steps are in_progress",
        ),
        (
            {"steps": [{"step": "a", "status": "done"}]},
            "steps.0.status: Input should be 'pending', 'in_progress' or 'completed'",
        ),
        ({"steps": [{"step": "a"}]}, "steps.0.status: Field required"),
        ({"steps": [{"step": "", "status": "pending"}]}, "steps.0.step: String should have at least 1 character"),
        ({"steps": [{"step": "   ", "status": "pending"}]}, "one is blank"),
        (
            {"steps": [{"step": "a", "status": "pending", "owner": "me"}]},
            "steps.0.owner: Extra inputs are not permitted",
        ),
        ({"steps": "do it all"}, "steps: Input should be a valid list"),
        (
            {"steps": [{"step": f"s{i}", "status": "pending"} for i in range(51)]},
            "steps: List should have at most 50 items",
        ),
        (
            {"steps": [{"step": "a", "status": "pending"}], "explanation": "x" * 2001},
            "explanation: String should have at most 2000",
        ),
    ],
)
def test_invalid_plans_are_refused_and_keep_the_old_plan(call, ctx, arguments: dict, message: str) -> None:
    ctx.plan = [PlanStep(step="keep me", status="pending")]
    result = call("update_plan", arguments)
    assert not result.ok
    assert message in result.output
    assert ctx.plan == [PlanStep(step="keep me", status="pending")]

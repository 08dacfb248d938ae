"""Snapshots of the main screens (pytest-textual-snapshot).

Content is made deterministic: a fixed session id, the repo under a fake home (shown as
`~/repo`), durations carried by the events themselves, and engine events fed through the app's bridge
exactly as a session emits them (no model, no timing). Update with `--snapshot-update` only
after looking at the new SVGs (`tests/tui/__snapshots__/`).
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from tui_support import make_app, make_repo, settle, tui_env, until, wait_idle  # noqa: F401

from glmcode.engine.events import (
    Plan,
    ReasoningDelta,
    Result,
    Stage,
    TextDelta,
    ToolCall,
    ToolResultEvent,
    Usage,
    UsageTotals,
    Verify,
)
from glmcode.tools.base import PlanStep
from glmcode.ui.tui.screens.approval import ApprovalScreen

SESSION_ID = "20260101-120000-abc123"
DIFF = "--- a/calc.py\n+++ b/calc.py\n@@ -1,2 +1,2 @@\n def add(a, b):\n-    return a - b\n+    return a + b\n"
ANSWER = (
    "Fixed **add** in `calc.py`: it subtracted instead of adding.\n\n"
    "- `python check.py` passes\n- nothing else changed\n\n"
    "```python\ndef add(a, b):\n    return a + b\n```\n"
)


@pytest.fixture
def app(tui_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # noqa: F811 -- pytest injects the imported fixture by name
    monkeypatch.setattr("glmcode.engine.session.new_session_id", lambda: SESSION_ID)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("COLORFGBG", raising=False)
    repo = make_repo(tmp_path / "repo", {"calc.py": "def add(a, b):\n    return a - b\n"})
    return make_app(repo, "http://127.0.0.1:9/v1")


async def ready(pilot) -> None:
    """The session is open, its welcome shown, and the cursor does not blink."""
    app = pilot.app
    app.prompt_input.cursor_blink = False
    await until(pilot, lambda: app.session is not None, what="the session")
    await wait_idle(pilot)


def feed(app, *events) -> None:
    for event in events:
        app.bridge.put(event)


def usage(requests: int) -> UsageTotals:
    return UsageTotals(requests=requests, prompt_tokens=3000 * requests, completion_tokens=150 * requests, cached_tokens=2500 * (requests - 1))


def test_welcome_screen(app, snap_compare):
    assert snap_compare(app, terminal_size=(100, 30), run_before=ready)


def test_finished_turn_with_reasoning_answer_and_a_diff_card(app, snap_compare):
    async def run_before(pilot) -> None:
        await ready(pilot)
        turn = app.start_exchange("fix the add function in calc.py")
        feed(
            app,
            ReasoningDelta(text="The add function subtracts.\nI will fix the operator, then run the check."),
            TextDelta(text="Fixing the operator in `calc.py`.\n"),
            Usage(prompt_tokens=3000, completion_tokens=150),
            ToolCall(id="call_1", name="edit_file", arguments={"path": "calc.py", "old_string": "return a - b", "new_string": "return a + b"}),
            ToolResultEvent(id="call_1", name="edit_file", ok=True, output="edited calc.py", summary="updated, +1 -1", duration_ms=12, diff=DIFF),
            ToolCall(id="call_2", name="run_shell", arguments={"command": "python check.py"}),
            ToolResultEvent(id="call_2", name="run_shell", ok=True, output="exit code 0\n", summary="exit 0", duration_ms=230),
            Usage(prompt_tokens=3100, completion_tokens=20, cached_tokens=2500),
            ReasoningDelta(text="The check passes; report."),
            TextDelta(text=ANSWER),
            Usage(prompt_tokens=3200, completion_tokens=90, cached_tokens=3000),
            Result(status="success", exit_code=0, summary="Fixed add.", usage=usage(3), cached_share=0.56, turns=3, duration_s=4.2),
        )
        await until(pilot, lambda: turn.result is not None)
        await wait_idle(pilot)

    assert snap_compare(app, terminal_size=(100, 30), run_before=run_before)


def test_approval_modal_shows_the_edit_as_a_diff(app, snap_compare):
    async def run_before(pilot) -> None:
        await ready(pilot)
        app.start_exchange("fix add")
        feed(app, ToolCall(id="call_1", name="edit_file", arguments={"path": "calc.py", "old_string": "return a - b", "new_string": "return a + b"}))
        tools, ctx = app.session.tools, app.session.ctx  # the preview the session's own edit_file makes
        preview = tools.preview(tools.bind("edit_file", {"path": "calc.py", "old_string": "    return a - b", "new_string": "    return a + b"}), ctx)
        threading.Thread(target=app.approve, args=("edit_file", "edit_file calc.py", preview), daemon=True).start()
        await until(pilot, lambda: isinstance(app.screen, ApprovalScreen), what="the modal")
        await settle(pilot)
        assert app.focused is app.screen.query_one("#once"), "the modal focuses 'Allow once'"

    assert snap_compare(app, terminal_size=(100, 30), run_before=run_before)


def goal_events() -> list:
    steps = [PlanStep(step="Read calc.py", status="completed"), PlanStep(step="Fix add", status="completed"), PlanStep(step="Run the check", status="in_progress")]
    return [
        Stage(name="plan", round=0),
        ToolCall(id="c1", name="read_file", arguments={"path": "calc.py"}),
        ToolResultEvent(id="c1", name="read_file", ok=True, output="1\tdef add(a, b):", summary="2 lines", duration_ms=3),
        Plan(steps=[PlanStep(step=s.step, status="pending") for s in steps]),
        TextDelta(text="Plan: fix `add`, then run `python check.py`.\n"),
        Stage(name="implement", round=0),
        ToolCall(id="c2", name="edit_file", arguments={"path": "calc.py"}),
        ToolResultEvent(id="c2", name="edit_file", ok=True, output="edited", summary="updated, +1 -1", duration_ms=9, diff=DIFF),
        Plan(steps=steps),
        Stage(name="verify", round=0),
        Verify(kind="command", command="python check.py", exit_code=0, passed=True),
        Stage(name="report", round=0),
        TextDelta(text="## What changed\n- calc.py: `add` adds.\n"),
    ]


@pytest.mark.parametrize("size", [(100, 30), (80, 24)], ids=["100x30", "80x24"])
def test_goal_view_with_plan_panel(app, snap_compare, size):
    async def run_before(pilot) -> None:
        await ready(pilot)
        turn = app.start_exchange("make add correct", "goal")
        feed(app, *goal_events())
        await until(pilot, lambda: turn.answer_panes and "What changed" in turn.answer_text)
        await wait_idle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)

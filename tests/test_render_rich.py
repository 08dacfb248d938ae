"""The terminal progress view of goals (Rich), rendered into a string."""

from __future__ import annotations

import io

from rich.console import Console

from glmcode.engine.events import Error, Plan, Result, Stage, TextDelta, Verify
from glmcode.tools.base import PlanStep
from glmcode.ui.rich_text import RichTextRenderer


def render(events) -> str:
    buffer = io.StringIO()
    renderer = RichTextRenderer(out=buffer, err=buffer, console=Console(file=buffer, width=80, color_system=None, force_terminal=False))
    for event in events:
        renderer(event)
    return buffer.getvalue()


def test_stages_plan_and_verify_are_shown_as_progress():
    steps = [PlanStep(step="Read calc.py", status="completed"), PlanStep(step="Fix add", status="in_progress"), PlanStep(step="Run tests", status="pending")]
    output = render([
        Stage(name="plan"),
        Plan(steps=steps),
        TextDelta(text="working"),
        Stage(name="verify", round=1),
        Verify(kind="command", command="pytest -q", exit_code=1, passed=False, output="collected 3\nFAILED test_add\n1 failed"),
        Verify(kind="constraint", rule="Do not commit", passed=True),
    ])
    lines = output.splitlines()
    assert "plan › implement › verify › report" in lines[0]
    assert any("✓" in line and "1." in line and "Read calc.py" in line for line in lines)
    assert any("▶" in line and "Fix add" in line for line in lines)
    assert "working\n" in output, "streamed text ends its line before the next block"
    assert any("fix round 1" in line and "plan 1/3" in line for line in lines)
    assert "✗ verify pytest -q (exit 1)" in output and "FAILED test_add" in output
    assert "✓ constraint Do not commit" in output


def test_result_is_a_panel_with_the_outcome():
    output = render([Result(status="failed", exit_code=1, summary="verification failed", report_path="/r/report.md")])
    assert "glmcode · failed" in output and "failed (exit 1)" in output and "report: /r/report.md" in output


def test_result_panel_counts_in_the_singular_and_reads_no_markup_from_the_summary():
    output = render([Result(status="failed", exit_code=1, summary="the model said [bold]no[/bold] [/oops]", turns=1, rounds=1)])
    assert "failed (exit 1) · 1 turn · 0 tokens · cost — · 0ms · 1 fix round" in output
    assert "the model said [bold]no[/bold] [/oops]" in output


def test_a_failed_verify_shows_the_tail_of_its_output():
    output = render([Verify(kind="command", command="pytest", exit_code=1, passed=False, output="\n".join(f"line {i}" for i in range(40)))])
    assert "line 39" in output and "line 30" in output and "line 29" not in output


def test_a_fatal_error_is_printed_once_not_again_in_the_panel():
    cause = "cannot reach http://127.0.0.1:9/v1: connection refused"
    output = render([Error(kind="connection", message=cause), Result(status="error", exit_code=3, summary=cause)])
    assert output.count("connection refused") == 1 and "glmcode · error" in output


def test_streamed_text_and_verify_output_carry_no_control_characters():
    output = render([
        TextDelta(text="a\x1b]0;pwned\x07b\u202e"),
        Verify(kind="command", command="make\x1b[31m", exit_code=2, passed=False, output="boom\x1b[2J\r\n"),
    ])
    assert "\x1b" not in output and "\x07" not in output and "\u202e" not in output
    assert "a␛]0;pwned␇b⟨U+202E⟩" in output and "boom␛[2J" in output

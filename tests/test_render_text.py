"""`--output-format text`: what a person reads, and where errors go."""

from __future__ import annotations

import io
import os

import pytest

from glmcode.engine.events import (
    Compaction,
    Error,
    Plan,
    ReasoningDelta,
    Result,
    Retry,
    SessionStart,
    Stage,
    TextDelta,
    ToolCall,
    ToolResultEvent,
    UsageTotals,
    Verify,
)
from glmcode.tools.base import PlanStep
from glmcode.ui.text import TextRenderer, use_color


def renderer(color: bool = False) -> tuple[TextRenderer, io.StringIO, io.StringIO]:
    out, err = io.StringIO(), io.StringIO()
    return TextRenderer(out, err, color=color), out, err


def test_a_whole_run_without_color() -> None:
    render, out, err = renderer()
    for event in [
        SessionStart(session_id="20261122-013000-a1b2c3", model="glm-5.2", provider="zai", cwd="/r"),
        ReasoningDelta(text="Let me "),
        ReasoningDelta(text="look."),
        ToolCall(id="c1", name="read_file", arguments={"path": "src/a.py"}),
        ToolResultEvent(id="c1", name="read_file", ok=True, output="1\tx", summary="12 lines"),
        TextDelta(text="The bug "),
        TextDelta(text="is fixed."),
        Result(
            status="success", exit_code=0, summary="done", turns=3, duration_s=2.345, cached_share=0.4,
            usage=UsageTotals(requests=3, prompt_tokens=1000, completion_tokens=500, cached_tokens=400, cost_usd=0.01234),
        ),
    ]:
        render(event)
    assert out.getvalue() == (
        "glmcode · zai · glm-5.2 · session 20261122-013000-a1b2c3\n"
        "│ Let me look.\n"
        "→ read_file src/a.py\n"
        "  ✓ 12 lines\n"
        "The bug is fixed.\n"
        "— success (exit 0) · 3 turns · 1.5k tokens · 40% cached · $0.0123 · 2.3s\n"
    )
    assert err.getvalue() == ""
    assert "\x1b" not in out.getvalue()


def test_reasoning_then_text_are_separated_by_a_newline() -> None:
    render, out, _ = renderer()
    render(ReasoningDelta(text="think"))
    render(TextDelta(text="answer"))
    render(TextDelta(text=" more"))
    render(ReasoningDelta(text="again"))
    assert out.getvalue() == "│ think\nanswer more\n│ again"


def test_every_reasoning_line_is_marked_so_plain_logs_tell_it_from_the_answer() -> None:
    render, out, _ = renderer()
    for text in ("first li", "ne\nsecond\n", "\nthird", "\n"):
        render(ReasoningDelta(text=text))
    render(TextDelta(text="The answer\nhas two lines."))
    render(ReasoningDelta(text="after"))
    assert out.getvalue() == "│ first line\n│ second\n\n│ third\n\nThe answer\nhas two lines.\n│ after"


def test_streamed_text_cannot_drive_the_terminal() -> None:
    render, out, _ = renderer()
    for text in ("clear\x1b", "[2J done\r", "\nnext\r", "over", " rm -rf \u202e/ fdp\u202c ok"):
        render(TextDelta(text=text))
    render(ReasoningDelta(text="bell\x07\x9b"))
    shown = out.getvalue()
    assert shown == "clear␛[2J done\nnext\nover rm -rf ⟨U+202E⟩/ fdp⟨U+202C⟩ ok\n│ bell␇�"
    assert not any(ord(c) < 32 and c not in "\n" for c in shown)


def test_a_fatal_error_is_printed_once() -> None:
    render, out, err = renderer()
    cause = "cannot reach http://127.0.0.1:9/v1: connection refused"
    render(Error(kind="connection", message=cause))
    render(Result(status="error", exit_code=3, summary=cause))
    assert err.getvalue() == f"error: {cause}\n"
    assert cause not in out.getvalue() and out.getvalue().startswith("— error (exit 3)")
    render(Result(status="failed", exit_code=1, summary="the model gave up: empty answers"))
    assert "\nthe model gave up: empty answers\n" in out.getvalue(), "a summary no error line said is shown"


@pytest.mark.parametrize(
    ("name", "arguments", "line"),
    [
        ("read_file", {"path": "src/a.py", "offset": 10}, "→ read_file src/a.py"),
        ("run_shell", {"command": "pytest -q\necho done"}, "→ run_shell pytest -q⏎echo done"),
        ("search", {"pattern": "TODO"}, "→ search TODO"),
        ("update_plan", {"steps": []}, "→ update_plan 0 steps"),
        ("git_status", {}, "→ git_status"),
        ("run_shell", {"command": "x" * 150}, "→ run_shell " + "x" * 79 + "…"),
        ("run_shell", {"command": "echo \x1b[2J"}, "→ run_shell echo ␛[2J"),  # no escape reaches the terminal
        ("write_file", 'not json {"path":\n"a"', '→ write_file not json {"path":⏎"a"'),  # raw text stays on one line
    ],
)
def test_a_tool_call_is_one_line(name: str, arguments: object, line: str) -> None:
    render, out, _ = renderer()
    render(ToolCall(id="c", name=name, arguments=arguments))
    assert out.getvalue() == line + "\n"


def test_a_failing_tool_result_shows_the_first_line_of_its_output() -> None:
    render, out, _ = renderer()
    render(ToolResultEvent(id="c", name="edit_file", ok=False, output="\nold_string not found in a.py\nhint: read it first", summary="error"))
    render(ToolResultEvent(id="c", name="edit_file", ok=False, output="   ", summary="refused"))
    render(ToolResultEvent(id="c", name="git_status", ok=True, output="clean"))
    assert out.getvalue() == "  ✗ old_string not found in a.py\n  ✗ refused\n  ✓ done\n"


def test_a_command_that_exited_non_zero_shows_its_exit_code_not_a_tick() -> None:
    render, out, _ = renderer()
    render(ToolResultEvent(id="c", name="run_shell", ok=True, output="exit code: 1\nboom", summary="exit 1", duration_ms=230))
    render(ToolResultEvent(id="c", name="run_tests", ok=True, output="$ pytest\nexit code: 2", summary="failed (exit 2)", duration_ms=1500))
    render(ToolResultEvent(id="c", name="run_shell", ok=True, output="exit code: 0", summary="exit 0", duration_ms=3))
    assert out.getvalue() == "  ! exit 1 · 230ms\n  ! failed (exit 2) · 1.5s\n  ✓ exit 0 · 3ms\n"


def test_compaction_is_one_line() -> None:
    render, out, _ = renderer()
    render(Compaction(tokens_before=900_000, tokens_after=40_000, dropped_turns=1))
    assert out.getvalue() == "compacted 900.0k → 40.0k tokens · 1 turn summarised\n"


def test_result_line_for_a_failure_shows_summary_and_report() -> None:
    render, out, _ = renderer()
    render(Result(status="failed", exit_code=1, summary="verify failed: pytest", turns=1, rounds=2, report_path=".glmcode/runs/x/report.md"))
    assert out.getvalue() == (
        "— failed (exit 1) · 1 turn · 0 tokens · cost — · 0ms · 2 fix rounds\nverify failed: pytest\nreport: .glmcode/runs/x/report.md\n"
    )


def test_errors_and_retries_go_to_the_err_stream_and_close_the_open_line() -> None:
    render, out, err = renderer()
    render(TextDelta(text="partial answer"))
    render(Retry(attempt=2, reason="zai API error 1302 (HTTP 429): busy", wait_s=1.25))
    render(Error(kind="api", message="zai API error 1113 (HTTP 429): Insufficient balance"))
    assert out.getvalue() == "partial answer\n"
    assert err.getvalue() == (
        "! retry 2 in 1.2s: zai API error 1302 (HTTP 429): busy\n"
        "error: zai API error 1113 (HTTP 429): Insufficient balance\n"
    )


def test_plan_stage_and_verify_lines() -> None:
    render, out, _ = renderer()
    render(Stage(name="implement", round=2))
    render(Plan(steps=[PlanStep(step="read", status="completed"), PlanStep(step="edit", status="in_progress"), PlanStep(step="test", status="pending")]))
    render(Verify(kind="command", command="pytest -q", exit_code=1, passed=False, output="collected 3\n1 failed\n"))
    render(Verify(kind="constraint", rule="Do not commit", passed=True, output="ignored when it passed"))
    assert out.getvalue() == (
        "== implement · fix round 2\n"
        "plan 1/3:\n  ✓ read\n  ▶ edit\n  · test\n"
        "✗ verify pytest -q (exit 1)\n    collected 3\n    1 failed\n"
        "✓ constraint Do not commit\n"
    )


def test_with_color_reasoning_is_dim_and_marks_are_coloured() -> None:
    render, out, err = renderer(color=True)
    render(ReasoningDelta(text="hmm"))
    render(TextDelta(text="ok"))
    render(ToolResultEvent(id="c", name="x", ok=False, output="bad"))
    render(ToolResultEvent(id="c", name="run_shell", ok=True, output="exit code: 1", summary="exit 1"))
    render(ToolResultEvent(id="c", name="run_shell", ok=True, output="exit code: 0", summary="exit 0"))
    render(Error(kind="api", message="boom"))
    assert out.getvalue() == (
        "\x1b[2m│ hmm\x1b[0m\nok\n  \x1b[31m✗\x1b[0m bad\n  \x1b[33m!\x1b[0m exit 1\n  \x1b[32m✓\x1b[0m exit 0\n"
    )
    assert err.getvalue() == "\x1b[31merror: boom\x1b[0m\n"


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("env", "tty", "expected"),
    [
        ({}, False, False),
        ({}, True, True),
        ({"NO_COLOR": "1"}, True, False),
        ({"NO_COLOR": ""}, True, True),  # an empty NO_COLOR does not count (no-color.org)
        ({"FORCE_COLOR": "1"}, False, True),
        ({"NO_COLOR": "1", "FORCE_COLOR": "1"}, False, False),
    ],
)
def test_use_color(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], tty: bool, expected: bool) -> None:
    for name in ("NO_COLOR", "FORCE_COLOR"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    stream = FakeTTY() if tty else io.StringIO()
    assert use_color(stream) is expected
    assert TextRenderer(stream, io.StringIO()).color is expected


def test_use_color_with_a_stream_without_isatty(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NO_COLOR", "FORCE_COLOR"):
        monkeypatch.delenv(name, raising=False)
    assert use_color(object()) is False  # type: ignore[arg-type]
    assert os.environ.get("NO_COLOR") is None

"""The one presentation of events (`glmcode.ui.present`): words, marks and numbers."""

from __future__ import annotations

import pytest

from glmcode.engine.events import (
    Compaction,
    Error,
    PlanStep,
    Result,
    Retry,
    Stage,
    ToolCall,
    ToolResultEvent,
    Usage,
    UsageTotals,
    Verify,
)
from glmcode.ui import present


@pytest.mark.parametrize(
    ("count", "noun", "expected"),
    [(0, "turn", "0 turns"), (1, "turn", "1 turn"), (2, "turn", "2 turns"), (1, "fix round", "1 fix round"),
     (3, "fix round", "3 fix rounds"), (1, "request", "1 request"), (-1, "turn", "-1 turns")],
)
def test_plural_is_singular_only_for_exactly_one(count: int, noun: str, expected: str) -> None:
    assert present.plural(count, noun) == expected


def test_plural_with_an_irregular_form_and_a_shown_number() -> None:
    assert present.plural(2, "match", "matches") == "2 matches"
    assert present.plural(1200, "token", number="1.2k") == "1.2k tokens"


@pytest.mark.parametrize(
    ("count", "expected"),
    [(0, "0"), (1, "1"), (999, "999"), (1000, "1.0k"), (1234, "1.2k"), (12_345, "12.3k"), (999_949, "999.9k"),
     (999_950, "1.0M"), (3_400_000, "3.4M"), (1_234_567_890, "1234.6M")],
)
def test_count_label_uses_k_and_m_and_never_shows_1000k(count: int, expected: str) -> None:
    assert present.count_label(count) == expected


@pytest.mark.parametrize(("count", "expected"), [(0, "0 tokens"), (1, "1 token"), (2, "2 tokens"), (1200, "1.2k tokens"), (3_400_000, "3.4M tokens")])
def test_tokens_label(count: int, expected: str) -> None:
    assert present.tokens_label(count) == expected


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [(0, "0ms"), (-1, "0ms"), (0.003, "3ms"), (0.23, "230ms"), (0.9994, "999ms"), (0.9995, "1.0s"), (2.345, "2.3s"),
     (59.94, "59.9s"), (59.95, "1m 00s"), (65, "1m 05s"), (3599, "59m 59s"), (3600, "1h 00m"), (7385, "2h 03m")],
)
def test_duration_label(seconds: float, expected: str) -> None:
    assert present.duration_label(seconds) == expected


def test_cost_and_share() -> None:
    assert present.cost_label(None) == "—"
    assert present.cost_label(0.0) == "$0.0000"
    assert present.cost_label(0.01234) == "$0.0123"
    assert present.share_label(0.4) == "40%"


def test_untrusted_text_cannot_drive_the_terminal() -> None:
    hostile = "ok\x1b[2J\x1b]0;title\x07 done\x7f\x9b\r\nnext\tline"
    shown = present.printable(hostile)
    assert "\x1b" not in shown and "\x07" not in shown and "\x7f" not in shown and "\x9b" not in shown
    assert shown == "ok␛[2J␛]0;title␇ done␡�\nnext\tline"
    assert present.one_line(hostile) == "ok␛[2J␛]0;title␇ done␡�⏎next line"
    assert present.printable("10%\r50%\r\n") == "10%\n50%\n", "a progress bar's CR starts a line"


def test_bidi_controls_and_line_separators_are_shown_not_obeyed() -> None:
    trojan = "if ok:\u202e } \u2066 # \u2069\u2028next"
    assert present.printable(trojan) == "if ok:⟨U+202E⟩ } ⟨U+2066⟩ # ⟨U+2069⟩⟨U+2028⟩next"
    assert present.one_line("rm \u200f-rf") == "rm ⟨U+200F⟩-rf"
    assert present.printable("naïve café — 中文 ✓") == "naïve café — 中文 ✓", "ordinary text is left alone"


def test_the_stream_cleaner_joins_a_crlf_split_across_fragments() -> None:
    cleaner = present.StreamCleaner()
    assert [cleaner.feed(t) for t in ("a\r", "\nb\r", "c\x1b", "[0m\r")] == ["a", "\nb", "\nc␛", "[0m"]
    assert cleaner.flush() == "\n" and cleaner.flush() == ""


def test_one_line_collapses_spaces_and_cuts_with_an_ellipsis() -> None:
    assert present.one_line("  a \t  b\n\nc  ") == "a b⏎⏎c"
    assert present.one_line("x" * 10, 10) == "x" * 10
    assert present.one_line("x" * 11, 10) == "x" * 9 + "…"


# -- tool calls -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "arguments", "expected"),
    [
        ("read_file", {"path": "src/a.py", "offset": 10}, "read_file src/a.py"),
        ("run_shell", {"command": "pytest -q\necho done"}, "run_shell pytest -q⏎echo done"),
        ("search", {"pattern": "TODO", "path": "src"}, "search src"),
        ("read_files", {"paths": ["a.py", "b/*.md"]}, "read_files a.py b/*.md"),
        ("update_plan", {"steps": [{"step": "a", "status": "pending"}]}, "update_plan 1 step"),
        ("update_plan", {"steps": []}, "update_plan 0 steps"),
        ("git_status", {}, "git_status"),
        ("write_file", 'not json {"path":\n"a"', 'write_file not json {"path":⏎"a"'),
        ("run_shell", {"command": "x" * 150}, "run_shell " + "x" * 79 + "…"),
    ],
)
def test_a_call_without_a_title_is_its_name_and_key_argument(name: str, arguments: object, expected: str) -> None:
    line = present.tool_call_line(ToolCall(id="c", name=name, arguments=arguments))
    assert str(line) == expected
    assert line.name == name
    assert len(str(line)) <= present.TITLE_CHARS


def test_a_calls_own_title_is_preferred_and_split_at_its_name() -> None:
    line = present.call_line("read_file", {"path": "ignored.py"}, title="read_file src/a.py (lines 10-40)")
    assert (line.name, line.detail) == ("read_file", "src/a.py (lines 10-40)")
    other = present.call_line("edit_file", {"path": "a.py"}, title="edit a.py\x1b[31m")
    assert (other.name, other.detail) == ("", "edit a.py␛[31m")
    assert str(present.call_line("edit_file", {"path": "a.py"}, title="   ")) == "edit_file a.py", "a blank title falls back"


def test_a_tool_call_event_title_is_used_when_the_event_has_one() -> None:
    event = ToolCall(id="c", name="read_file", arguments={"path": "x.py"}, title="read_file src/a.py")
    assert str(present.tool_call_line(event)) == "read_file src/a.py"


# -- tool results -----------------------------------------------------------------------------


def result(ok: bool = True, output: str = "", summary: str = "", duration_ms: float = 0.0, name: str = "run_shell") -> ToolResultEvent:
    return ToolResultEvent(id="c", name=name, ok=ok, output=output, summary=summary, duration_ms=duration_ms)


def test_an_ok_result_shows_its_summary_and_duration() -> None:
    line = present.tool_result_line(result(summary="12 lines", duration_ms=3, name="read_file"))
    assert (line.outcome, line.mark, line.tone, str(line)) == ("ok", "✓", "ok", "✓ 12 lines · 3ms")
    assert str(present.tool_result_line(result(output="clean"))) == "✓ done", "no summary, no duration"


@pytest.mark.parametrize("summary", ["exit 1", "exit 127", "exit -9", "failed (exit 2)"])
def test_a_command_that_exited_non_zero_is_not_a_success(summary: str) -> None:
    line = present.tool_result_line(result(output=f"exit code: {summary}\nboom", summary=summary, duration_ms=1500))
    assert line.outcome == "exited" and line.mark == "!" and line.tone == "exited"
    assert str(line) == f"! {summary} · 1.5s", "the exit code is shown"


@pytest.mark.parametrize("summary", ["exit 0", "passed", "12 lines"])
def test_a_command_that_exited_zero_is_ok(summary: str) -> None:
    assert present.tool_result_line(result(summary=summary)).outcome == "ok"


def test_a_failed_result_shows_the_first_line_of_its_output_or_its_summary() -> None:
    line = present.tool_result_line(result(ok=False, output="\n  old_string not found in a.py\nhint", summary="error"))
    assert (line.outcome, line.mark, line.tone, str(line)) == ("failed", "✗", "failed", "✗ old_string not found in a.py")
    assert str(present.tool_result_line(result(ok=False, output="   ", summary="refused"))) == "✗ refused"
    assert str(present.tool_result_line(result(ok=False))) == "✗ failed"
    long = present.tool_result_line(result(ok=False, output="y" * 500))
    assert len(long.text) == present.DETAIL_CHARS and long.text.endswith("…")


def test_a_timed_out_command_is_a_failure_even_with_an_exit_code_in_its_output() -> None:
    line = present.tool_result_line(result(ok=False, output="timed out after 5 s", summary="timed out"))
    assert line.outcome == "failed"


# -- goal mode --------------------------------------------------------------------------------


def test_stage_lines() -> None:
    first = present.stage_line(Stage(name="plan"))
    assert (first.label, first.position, str(first)) == ("plan", "1/4", "plan")
    fix = present.stage_line(Stage(name="implement", round=2))
    assert (fix.label, fix.position) == ("implement · fix round 2", "2/4")
    assert present.stage_line(Stage(name="review")).position == ""


def test_plan_marks_progress_and_lines() -> None:
    steps = [PlanStep(step="read", status="completed"), PlanStep(step="edit\nnow", status="in_progress"), PlanStep(step="test", status="pending")]
    assert [present.plan_mark(step.status) for step in steps] == ["✓", "▶", "·"]
    assert present.plan_mark("unknown") == "·"
    assert present.plan_progress(steps) == "1/3"
    assert present.plan_progress([]) == "0/0"
    assert present.plan_lines(steps) == ["✓ read", "▶ edit⏎now", "· test"]


def test_verify_lines() -> None:
    failed = present.verify_line(Verify(kind="command", command="pytest -q", exit_code=1, passed=False, output="\n".join(f"l{i}" for i in range(30))))
    assert str(failed) == "✗ verify pytest -q (exit 1)" and failed.tone == "failed"
    assert failed.label == "pytest -q (exit 1)"
    assert failed.tail.split("\n") == [f"l{i}" for i in range(20, 30)]
    passed = present.verify_line(Verify(kind="command", command="ruff check", exit_code=0, passed=True, output="All good"))
    assert str(passed) == "✓ verify ruff check (exit 0)" and passed.tail == "" and passed.tone == "ok"
    rule = present.verify_line(Verify(kind="constraint", rule="Do not commit", passed=False, output="   "))
    assert str(rule) == "✗ constraint Do not commit" and rule.tail == ""


# -- usage, retries, compaction, errors --------------------------------------------------------


def test_usage_lines() -> None:
    totals = UsageTotals(requests=3, prompt_tokens=10_000, completion_tokens=2_345, cached_tokens=8_000, cost_usd=0.01234)
    assert str(present.usage_line(totals)) == "12.3k tokens · 80% cached · $0.0123"
    assert str(present.usage_line(UsageTotals())) == "0 tokens · cost —", "no prompt tokens: no cached share"
    line = present.usage_line(Usage(prompt_tokens=3_000_000, completion_tokens=400_000, cached_tokens=0))
    assert line.parts == ["3.4M tokens", "0% cached", "cost —"]
    assert str(present.usage_line(Usage(prompt_tokens=0, completion_tokens=1))) == "1 token · cost —"


def test_estimated_usage_is_said_in_the_run_summary() -> None:
    totals = UsageTotals()
    totals.add(Usage(prompt_tokens=1000, completion_tokens=10, cost_usd=0.001))
    assert not totals.estimated
    totals.add(Usage(prompt_tokens=2000, completion_tokens=20, cost_usd=0.002, estimated=True))
    totals.add(Usage(prompt_tokens=1000, completion_tokens=10, cost_usd=0.001))
    assert totals.estimated, "one estimated request makes the totals an estimate"
    assert str(present.usage_line(totals)) == "4.0k tokens (estimated) · 0% cached · $0.0040"
    facts = present.result_facts(Result(status="success", exit_code=0, summary="ok", usage=totals, turns=3))
    assert "4.0k tokens (estimated)" in facts


def test_cost_is_rounded_to_a_millionth_of_a_dollar() -> None:
    from glmcode.providers import cost_usd

    assert cost_usd((0.6, 2.2, 0.11), 15_000, 2_000, 300) == 0.00868
    cost = cost_usd((0.6, 2.2, 0.11), 12_345, 6_789, 321)
    assert cost == round(cost, 6) and len(repr(cost)) <= 10


def test_retry_compaction_and_error_lines() -> None:
    assert present.retry_line(Retry(attempt=2, reason="HTTP 429:\nbusy", wait_s=1.25)) == "retry 2 in 1.2s: HTTP 429:⏎busy"
    assert present.retry_line(Retry(attempt=1, reason="x", wait_s=0.5), reason=False) == "retry 1 in 500ms"
    assert present.compaction_line(Compaction(tokens_before=900_000, tokens_after=40_000, dropped_turns=120)) == (
        "compacted 900.0k → 40.0k tokens · 120 turns summarised"
    )
    assert present.compaction_line(Compaction(tokens_before=9000, tokens_after=4000, dropped_turns=12, turns_kept=3)) == (
        "compacted 9.0k → 4.0k tokens · 12 turns summarised, 3 kept"
    )
    assert present.compaction_line(Compaction(tokens_before=1200, tokens_after=1, dropped_turns=1)) == (
        "compacted 1.2k → 1 token · 1 turn summarised"
    )
    assert present.error_line(Error(kind="api", message="HTTP 500\x1b[0m\nbody")) == "error: HTTP 500␛[0m⏎body"
    assert present.error_line(Error(kind="length", message="  ")) == "error: length"


# -- results ----------------------------------------------------------------------------------


def run_result(**fields: object) -> Result:
    values: dict = {"status": "success", "exit_code": 0, "summary": "done"}
    values.update(fields)
    return Result(**values)


def test_a_successful_result_line() -> None:
    line = present.result_line(run_result(
        turns=3, duration_s=2.345, cached_share=0.4,
        usage=UsageTotals(requests=3, prompt_tokens=1000, completion_tokens=500, cached_tokens=400, cost_usd=0.01234),
    ))
    assert str(line) == "success (exit 0) · 3 turns · 1.5k tokens · 40% cached · $0.0123 · 2.3s"
    assert (line.mark, line.tone, line.summary, line.report_path) == ("✓", "ok", "", "")


def test_a_failed_goal_result_line_counts_in_the_singular_and_keeps_its_summary() -> None:
    line = present.result_line(run_result(
        status="failed", exit_code=1, summary="verify failed:\npytest", turns=1, rounds=1, report_path="/r/report.md",
        usage=UsageTotals(requests=1, completion_tokens=1),
    ))
    assert str(line) == "failed (exit 1) · 1 turn · 1 token · cost — · 0ms · 1 fix round"
    assert (line.mark, line.tone, line.summary, line.report_path) == ("✗", "failed", "verify failed:\npytest", "/r/report.md")
    assert present.result_line(run_result(rounds=0)).facts[-1] == "0 fix rounds"
    assert present.result_line(run_result(status="interrupted", exit_code=130)).tone == "warning"


def test_run_outcome_says_what_it_counts() -> None:
    result = run_result(turns=1, duration_s=4.2, usage=UsageTotals(requests=1, prompt_tokens=12_000, completion_tokens=300, cached_tokens=9_600, cost_usd=0.0123))
    assert present.run_outcome(result) == "this prompt: 1 request · 12.3k tokens · 80% cached · $0.0123 · 4.2s"
    assert present.run_outcome(run_result(turns=2), "this goal").startswith("this goal: 2 requests · 0 tokens")


def test_a_refusal_is_shown_whole_because_its_end_says_how_to_allow_the_call() -> None:
    message = (
        "refused: run_shell needs the user's approval in auto-edit mode and nobody can be asked in this run "
        "(the user can allow it with --permission-mode full-auto, or --yes)"
    )
    refused = ToolResultEvent(id="c", name="run_shell", ok=False, output=message, summary="refused")
    assert present.tool_result_line(refused).text == message
    failed = ToolResultEvent(id="c", name="run_shell", ok=False, output=message, summary="error")
    assert len(present.tool_result_line(failed).text) <= present.DETAIL_CHARS


def test_the_result_line_says_how_many_calls_were_refused_only_when_some_were() -> None:
    assert "1 refused call" in present.result_facts(run_result(refused_calls=1))
    assert "2 refused calls" in present.result_facts(run_result(refused_calls=2))
    assert not any("refused" in fact for fact in present.result_facts(run_result()))

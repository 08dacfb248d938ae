"""The verify stage's commands, run for real: pass/fail by exit code, output cut by the one budget."""

from __future__ import annotations

import threading
from pathlib import Path

from glmcode import output_budget
from glmcode.engine.verify import OUTPUT_CHARS, run_commands


def test_verify_commands_pass_by_exit_code_and_their_output_is_cut_by_the_budget(tmp_path: Path) -> None:
    long, failing = run_commands(["seq 1 3000", "echo broken; exit 2"], tmp_path, 30, threading.Event())
    assert long.passed and long.exit_code == 0 and long.kind == "command" and long.name == "seq 1 3000"
    assert long.output == output_budget.cut("".join(f"{n}\n" for n in range(1, 3001)), OUTPUT_CHARS)
    assert long.output.startswith("1\n2\n") and long.output.endswith("\n2999\n3000\n") and "characters (" in long.output
    assert not failing.passed and failing.exit_code == 2 and failing.output == "broken\n"


def test_a_timed_out_verify_command_says_so_after_its_output(tmp_path: Path) -> None:
    (check,) = run_commands(["echo started; sleep 30"], tmp_path, 1, threading.Event())
    assert not check.passed and check.exit_code is None
    assert check.output == "started\n\n[timed out after 1 s]"


def test_a_cancelled_stage_runs_no_more_commands(tmp_path: Path) -> None:
    cancel = threading.Event()
    cancel.set()
    assert run_commands(["touch ran"], tmp_path, 10, cancel) == []
    assert not (tmp_path / "ran").exists()


def test_a_long_failing_test_run_is_condensed_and_saved_whole(tmp_path: Path) -> None:
    from glmcode.tools.saved_outputs import OutputStore

    lines = [f"tests/test_{i}.py ......................................... [{i % 100:3d}%]" for i in range(200)]
    lines += ["=================================== FAILURES ===================================",
              "E       AssertionError: expected 3, got 4",
              "========================= 1 failed, 999 passed in 9.87s ========================="]
    (tmp_path / "out.txt").write_text("\x1b[31m" + "\n".join(lines) + "\x1b[0m\n")
    store = OutputStore(tmp_path / ".glmcode" / "sessions" / "s" / "outputs", ".glmcode/sessions/s/outputs")
    (check,) = run_commands(["cat out.txt; exit 1"], tmp_path, 30, threading.Event(), store)
    assert not check.passed and len(check.output) <= OUTPUT_CHARS
    assert "AssertionError: expected 3, got 4" in check.output and "1 failed, 999 passed" in check.output
    assert "[ 42%]" not in check.output and "\x1b" not in check.output
    saved = (tmp_path / ".glmcode/sessions/s/outputs/verify-1.txt").read_text()
    assert saved == "\n".join(lines) + "\n"

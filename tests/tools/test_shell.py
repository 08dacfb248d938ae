"""shell_runner and run_shell, run for real: hangs, floods, stdin, stray children, interrupts."""

from __future__ import annotations

import os
import signal
import threading
import time
import tracemalloc
from pathlib import Path

import pytest

from glmcode import output_budget
from glmcode.rules.agent_md import Rules
from glmcode.testing.processes import alive, wait_dead
from glmcode.tools import shell_runner, spawn
from glmcode.tools.base import ToolContext, ToolError
from glmcode.tools.shell_runner import run_command


def test_exit_code_and_merged_output(tmp_path: Path) -> None:
    outcome = run_command("echo out; echo err >&2; exit 3", tmp_path, 10, None)
    assert outcome.exit_code == 3
    assert outcome.output == "out\nerr\n"
    assert not outcome.timed_out and not outcome.cancelled
    assert outcome.chars_total == 8


def test_runs_in_the_given_directory_with_bash(tmp_path: Path) -> None:
    outcome = run_command('pwd; [[ -n "$BASH_VERSION" ]] && echo bash', tmp_path, 10, None)
    assert outcome.output.split() == [str(tmp_path), "bash"]


def test_falls_back_to_sh_without_bash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_which = spawn.shutil.which
    monkeypatch.setattr(spawn.shutil, "which", lambda name: None if name == "bash" else real_which(name))
    outcome = run_command("echo $((1 + 2))", tmp_path, 10, None)
    assert outcome.exit_code == 0 and outcome.output == "3\n"


def test_missing_directory_is_a_tool_error(tmp_path: Path) -> None:
    with pytest.raises(ToolError, match="could not start"):
        run_command("true", tmp_path / "nope", 10, None)


def test_stdin_is_empty_so_readers_do_not_hang(tmp_path: Path) -> None:
    started = time.monotonic()
    outcome = run_command('cat; read -r line; echo "got:[$line] rc=$?"', tmp_path, 10, None)
    assert time.monotonic() - started < 3
    assert outcome.exit_code == 0
    assert outcome.output == "got:[] rc=1\n"


def test_invalid_utf8_output_is_replaced(tmp_path: Path) -> None:
    outcome = run_command(r"printf 'a\xffb\n'", tmp_path, 10, None)
    assert outcome.output == "a\ufffdb\n"


@pytest.mark.slow
def test_timeout_kills_the_command_and_its_children(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    started = time.monotonic()
    outcome = run_command(f"sleep 300 & echo $! > {pid_file}; echo waiting; wait", tmp_path, 0.7, None)
    assert time.monotonic() - started < 4
    assert outcome.timed_out and outcome.exit_code is None
    assert "waiting" in outcome.output
    assert wait_dead(int(pid_file.read_text()))


@pytest.mark.slow
def test_sigterm_ignoring_group_gets_sigkill(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shell_runner, "KILL_GRACE_S", 0.3)
    pid_file = tmp_path / "child.pid"
    outcome = run_command(f"trap '' TERM; sleep 300 & echo $! > {pid_file}; wait", tmp_path, 0.5, None)
    assert outcome.timed_out
    assert wait_dead(int(pid_file.read_text()))


@pytest.mark.slow
def test_background_child_holding_the_pipe_does_not_hang(tmp_path: Path) -> None:
    pid_file = tmp_path / "bg.pid"
    started = time.monotonic()
    outcome = run_command(f"sleep 300 & echo $! > {pid_file}; echo started", tmp_path, 60, None)
    assert time.monotonic() - started < 4
    assert outcome.exit_code == 0 and not outcome.timed_out
    assert outcome.output.startswith("started\n")
    assert "background processes" in outcome.output
    assert wait_dead(int(pid_file.read_text()))


def test_background_child_with_redirected_output_is_left_alone(tmp_path: Path) -> None:
    pid_file = tmp_path / "bg.pid"
    outcome = run_command(f"sleep 300 > /dev/null 2>&1 & echo $! > {pid_file}; echo ok", tmp_path, 60, None)
    pid = int(pid_file.read_text())
    try:
        assert outcome.output == "ok\n"
        assert alive(pid)
    finally:
        os.kill(pid, signal.SIGKILL)


def test_huge_output_is_bounded_and_fast(tmp_path: Path) -> None:
    tracemalloc.start()
    started = time.monotonic()
    try:
        outcome = run_command("yes 0123456789 | head -c 100000000; echo; echo THE-END", tmp_path, 60, None)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.monotonic() - started < 15
    assert peak < 5_000_000
    assert outcome.exit_code == 0
    assert outcome.chars_total == 100_000_009
    output = outcome.output
    assert len(output) == output_budget.DEFAULT_LIMIT
    head, tail = output.split("\n[... ")
    note, tail = tail.split(" ...]\n")
    cut = 100_000_009 - len(head) - len(tail)
    assert note == f"{cut:,} characters ({cut // 11:,} lines) cut"
    assert head.startswith("0123456789\n0123456789\n")
    assert output.endswith("THE-END\n")


def test_output_is_cut_in_characters_never_splitting_multibyte_ones(tmp_path: Path) -> None:
    outcome = run_command("printf x; for i in $(seq 20000); do printf 'é'; done; printf y", tmp_path, 30, None, limit=1000)
    assert outcome.chars_total == 20_002
    text = outcome.output
    assert "\ufffd" not in text and len(text) == 1000
    note = "[... 19,035 characters cut ...]"
    head, tail = text.split(f"\n{note}\n")
    assert head == "x" + "é" * 385 and tail == "é" * 580 + "y"
    assert len(head) + 19_035 + len(tail) == 20_002


def test_cancel_event_stops_the_command(tmp_path: Path) -> None:
    cancel = threading.Event()
    timer = threading.Timer(0.3, cancel.set)
    timer.start()
    started = time.monotonic()
    outcome = run_command("echo begun; sleep 300", tmp_path, 60, cancel)
    assert time.monotonic() - started < 4
    assert outcome.cancelled and not outcome.timed_out and outcome.exit_code is None
    assert outcome.output == "begun\n"


@pytest.mark.slow
def test_keyboard_interrupt_kills_the_group_and_propagates(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            run_command(f"sleep 300 & echo $! > {pid_file}; wait", tmp_path, 60, None)
    finally:
        timer.cancel()
    assert wait_dead(int(pid_file.read_text()))


def test_describe_formats_status_lines(tmp_path: Path) -> None:
    assert shell_runner.describe(run_command("exit 0", tmp_path, 10, None), 10) == "exit code: 0\n(no output)"
    killed = shell_runner.describe(run_command("kill -9 $$", tmp_path, 10, None), 10)
    assert killed.startswith("exit code: -9 (killed by SIGKILL)")


# run_shell, through the registry


def test_run_shell_reports_exit_code_first(call) -> None:
    result = call("run_shell", {"command": "echo hello; exit 4"})
    assert result.ok
    assert result.output == "exit code: 4\nhello"
    assert result.summary == "exit 4"


def test_run_shell_output_is_cut_once_by_the_output_budget(call, repo: Path, split_cut) -> None:
    small = ToolContext(root=repo, rules=Rules(), output_chars=500)
    result = call("run_shell", {"command": "seq 1 2000"}, ctx=small)
    full = "".join(f"{n}\n" for n in range(1, 2001))
    head, chars, lines, hint, tail = split_cut(result.output)
    assert head.startswith("exit code: 0\n1\n2\n3\n") and tail.endswith("\n1999\n2000")
    body_head = head.removeprefix("exit code: 0\n")
    assert full.startswith(body_head) and full.endswith(tail + "\n")
    assert chars == len(full) - len(body_head) - len(tail) - 1
    assert lines == full[len(body_head) : len(body_head) + chars].count("\n")
    assert hint == "" and len(result.output) <= 500
    roomy = ToolContext(root=repo, rules=Rules(), output_chars=100_000)
    whole = call("run_shell", {"command": "seq 1 12000"}, ctx=roomy).output  # 63,894 characters: over the default
    assert whole == "exit code: 0\n" + "\n".join(str(n) for n in range(1, 12_001))


def test_run_shell_runs_in_the_workspace_root(call, repo: Path) -> None:
    result = call("run_shell", '{"command": "pwd && ls"}')
    assert result.output.split("\n")[1] == str(repo)
    assert "README.md" in result.output


@pytest.mark.slow
def test_run_shell_timeout_is_a_failed_result(call) -> None:
    result = call("run_shell", {"command": "echo partial; sleep 30", "timeout": 0.5})
    assert not result.ok
    assert result.output.startswith("timed out after 0.5s")
    assert "partial" in result.output
    assert result.summary == "timed out"


def test_run_shell_uses_the_context_default_timeout(call, ctx) -> None:
    ctx.shell_timeout = 0.4
    result = call("run_shell", {"command": "sleep 30"})
    assert not result.ok and result.output.startswith("timed out after 0.4s")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({}, "command: Field required"),
        ({"command": ""}, "command: String should have at least 1 character"),
        ({"command": 42}, "command: Input should be a valid string"),
        ({"command": "ls", "timeout": "soon"}, "timeout: Input should be a valid number"),
        ({"command": "ls", "timeout": 0}, "timeout: Input should be greater than 0"),
        ({"command": "ls", "timeout": 5000}, "timeout: Input should be less than or equal to 1800"),
        ({"command": "x" * 100_001}, "command: String should have at most 100000 characters"),
        ({"command": "ls", "cwd": "/"}, "cwd: Extra inputs are not permitted"),
        ({"command": "   "}, "the command is blank"),
    ],
)
def test_run_shell_bad_arguments(call, arguments: dict, message: str) -> None:
    result = call("run_shell", arguments)
    assert not result.ok
    assert message in result.output


def test_run_shell_cancelled_by_context(call, ctx) -> None:
    threading.Timer(0.3, ctx.cancel.set).start()
    result = call("run_shell", {"command": "sleep 30"})
    assert not result.ok and result.summary == "cancelled"
    assert result.output.startswith("cancelled by the user")

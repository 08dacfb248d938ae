"""Background commands and the non-interactive environment, run for real: real processes, real git.

Every wait is on a condition (a file written, a process gone, output arrived), never a bare sleep.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest

from glmcode.redaction import looks_secret_name
from glmcode.rules.agent_md import load_rules
from glmcode.rules.permissions import Permissions
from glmcode.testing.processes import alive, read_pid, wait_for
from glmcode.tools import processes as processes_module
from glmcode.tools import run_shell, shell_runner, spawn
from glmcode.tools.base import ToolContext, ToolResult
from glmcode.tools.processes import BackgroundProcesses
from glmcode.tools.registry import ToolRegistry


@pytest.fixture(autouse=True)
def _short_first_wait(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Starts wait 0.2 s for first output instead of 1 s (except where that wait is what is tested)."""
    if "first_output" not in request.node.name:
        monkeypatch.setattr(run_shell, "FIRST_OUTPUT_S", 0.2)


@pytest.fixture
def bg_ctx(repo: Path):
    """A context whose background registry is closed after the test (whatever it left running)."""
    context = ToolContext(root=repo, rules=load_rules(repo), shell_timeout=30.0)
    yield context
    context.processes.close()


@pytest.fixture
def bcall(bg_ctx: ToolContext, registry: ToolRegistry) -> Callable[..., ToolResult]:
    def call_tool(name: str, arguments: dict | None = None) -> ToolResult:
        return registry.call(name, arguments, bg_ctx)

    return call_tool


TICKS = "i=0; while :; do i=$((i+1)); echo tick $i; sleep 0.05; done"
"""A command that prints a numbered line every 50 ms, forever."""


def ticks(output: str) -> list[int]:
    return [int(n) for n in re.findall(r"^tick (\d+)$", output, re.M)]


# -- run_shell background, shell_output, shell_stop ----------------------------------------------


def test_background_start_returns_at_once_with_an_id_and_first_output(bcall) -> None:
    started = time.monotonic()
    result = bcall("run_shell", {"command": TICKS, "background": True})
    assert time.monotonic() - started < 5
    assert result.ok and result.summary == "bg1 started"
    first_line = result.output.splitlines()[0]
    assert re.fullmatch(r"started in the background as bg1: running for [\d.]+ s \(pid \d+\)", first_line)
    assert 'shell_output {"id": "bg1"}' in result.output and 'shell_stop {"id": "bg1"}' in result.output
    assert ticks(result.output)[:1] == [1]


def test_a_command_that_ends_at_once_says_so_with_its_exit_code(bcall, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(run_shell, "FIRST_OUTPUT_S", 30.0)  # the start returns as soon as it has ended
    result = bcall("run_shell", {"command": "echo no such server >&2; exit 127", "background": True})
    assert result.summary == "bg1 exit 127"
    assert result.output.startswith("started in the background as bg1, and already exited with code 127 after ")
    assert result.output.endswith("\nOutput:\nno such server\n") and "shell_stop" not in result.output


def test_reads_return_only_new_output_then_stop_ends_the_group(bcall, repo: Path) -> None:
    start = bcall("run_shell", {"command": f"sleep 300 & echo $! > child.pid; {TICKS}", "background": True})
    seen = ticks(start.output)
    child = read_pid(repo / "child.pid")

    first = bcall("shell_output", {"id": "bg1", "wait": 10})
    assert first.ok and first.output.startswith("bg1 running for ")
    first_ticks = ticks(first.output)
    assert first_ticks and first_ticks[0] == (seen[-1] + 1 if seen else 1)
    assert first_ticks == list(range(first_ticks[0], first_ticks[-1] + 1))

    second = bcall("shell_output", {"id": "bg1", "wait": 10})
    second_ticks = ticks(second.output)
    assert second_ticks and second_ticks[0] == first_ticks[-1] + 1, "the second read repeated old output"

    pid = bcall("shell_output").output.split("(pid ")[1].split(")")[0]
    stopped = bcall("shell_stop", {"id": "bg1"})
    assert stopped.ok and stopped.output.startswith("bg1 stopped after ") and stopped.summary == "bg1 stopped"
    assert not alive(int(pid)) and not alive(child)
    assert spawn.group_members(int(pid)) == []
    after = bcall("shell_output", {"id": "bg1"})
    assert after.output.splitlines()[0].startswith("bg1 stopped after ")
    assert after.output.endswith("(no new output)")


def test_exit_code_of_a_finished_command_and_the_listing(bcall, bg_ctx, repo: Path) -> None:
    bcall("run_shell", {"command": "while [ ! -e go ]; do sleep 0.02; done; echo one; exit 3", "background": True})
    bcall("run_shell", {"command": "sleep 300", "background": True})
    (repo / "go").touch()
    assert wait_for(lambda: not bg_ctx.processes.get("bg1").running)
    result = bcall("shell_output", {"id": "bg1"})
    assert result.output.startswith("bg1 exited with code 3 after ") and result.output.endswith("\none\n")
    assert result.summary == "bg1 exit 3, 4 new characters"
    listing = bcall("shell_output").output.splitlines()
    assert listing[0].startswith("bg1 exited with code 3") and listing[0].endswith("echo one; exit 3")
    assert listing[1].startswith("bg2 running for ") and listing[1].endswith("$ sleep 300")


def test_wait_returns_as_soon_as_output_arrives(bcall, repo: Path) -> None:
    bcall("run_shell", {"command": "while [ ! -e go ]; do sleep 0.02; done; echo arrived; sleep 300", "background": True})
    threading.Timer(0.3, (repo / "go").touch).start()
    started = time.monotonic()
    result = bcall("shell_output", {"id": "bg1", "wait": 30})
    assert "arrived" in result.output
    assert time.monotonic() - started < 10, "wait did not return when output arrived"


def test_unknown_id_and_bad_arguments_are_results(bcall) -> None:
    assert bcall("shell_output", {"id": "bg9"}).output.startswith("there is no background command 'bg9' (known: none); ")
    assert not bcall("shell_stop", {"id": "bg9"}).ok
    assert "wait: Input should be less than or equal to 60" in bcall("shell_output", {"id": "bg1", "wait": 999}).output
    assert bcall("shell_output").output == "no background commands in this session"


@pytest.mark.slow
def test_a_process_ignoring_term_is_killed(bcall, repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(processes_module, "KILL_GRACE_S", 0.5)
    bcall("run_shell", {"command": "trap '' TERM; echo $$ > me.pid; while :; do sleep 0.05; done", "background": True})
    pid = read_pid(repo / "me.pid")
    stopped = bcall("shell_stop", {"id": "bg1"})
    assert "(killed by SIGKILL)" in stopped.output.splitlines()[0]
    assert not alive(pid)


def test_unread_output_is_bounded_whatever_is_printed(repo: Path) -> None:
    registry = BackgroundProcesses()
    tracemalloc.start()
    try:
        process = registry.start("yes 0123456789 | head -c 30000000; echo THE-END", repo, limit=2_000)
        process.settle(30)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        registry.close()
    assert peak < 3_000_000
    text, total = process.read()
    assert total == 30_000_008 and len(text) <= 2_000
    assert text.startswith("0123456789\n") and text.endswith("THE-END\n") and "characters (" in text


def test_the_limit_is_the_output_budget(repo: Path, registry: ToolRegistry) -> None:
    small = ToolContext(root=repo, rules=load_rules(repo), output_chars=600)
    command = "seq 1 5000; while [ ! -e go ]; do sleep 0.02; done; seq 5001 10000; sleep 300"
    second_part = "".join(f"{n}\n" for n in range(5001, 10001))
    try:
        start = registry.call("run_shell", {"command": command, "background": True}, small)
        (repo / "go").touch()
        assert wait_for(lambda: small.processes.get("bg1").output.pending() == len(second_part))
        result = registry.call("shell_output", {"id": "bg1"}, small)
    finally:
        small.processes.close()
    for output, last in ((start.output, "5000"), (result.output, "10000")):
        assert len(output) <= 600
        assert output.rstrip("\n").endswith(f"\n{last}") and output.count(" cut ...]") == 1
    assert result.output.split("\n")[1] == "5001" and f"{len(second_part) :,}" in result.summary


# -- permissions and rules ---------------------------------------------------------------------


def test_background_commands_need_permission_even_when_they_only_read(registry: ToolRegistry, bg_ctx) -> None:
    read_only = Permissions(mode="read-only")
    refused = registry.call("run_shell", {"command": "ls", "background": True}, bg_ctx, gate=read_only.check)
    assert refused.summary == "refused" and bg_ctx.processes.all() == []
    assert registry.call("run_shell", {"command": "ls"}, bg_ctx, gate=read_only.check).ok

    allowed = Permissions(mode="full-auto")
    registry.call("run_shell", {"command": "sleep 300", "background": True}, bg_ctx, gate=allowed.check)
    listed = registry.call("shell_output", {}, bg_ctx, gate=read_only.check)
    stopped = registry.call("shell_stop", {"id": "bg1"}, bg_ctx, gate=read_only.check)
    assert listed.ok and stopped.ok and stopped.output.startswith("bg1 stopped")


def test_background_commands_keep_the_repos_rules(repo: Path, registry: ToolRegistry) -> None:
    (repo / "AGENT.md").write_text("# Rules\n\n## Constraints\n\n- Do not commit\n")
    ctx = ToolContext(root=repo, rules=load_rules(repo))
    try:
        result = registry.call("run_shell", {"command": "git commit -am wip", "background": True}, ctx)
    finally:
        ctx.processes.close()
    assert not result.ok and result.summary == "refused" and ctx.processes.all() == []


def test_background_call_description_and_preview(registry: ToolRegistry, bg_ctx) -> None:
    bound = registry.bind("run_shell", {"command": "npm run dev", "background": True})
    assert bound.info.description == "run_shell --background npm run dev" and bound.info.mutates
    assert registry.preview(bound, bg_ctx) == "$ npm run dev\nin the background, until stopped or the session ends"
    assert registry.bind("shell_stop", {"id": "bg1"}).info.mutates is False
    assert registry.bind("shell_output", {"id": "bg1"}).info.mutates is False


def test_too_many_running_commands_are_refused(bg_ctx, monkeypatch: pytest.MonkeyPatch, registry: ToolRegistry) -> None:
    monkeypatch.setattr(processes_module, "MAX_RUNNING", 2)
    for _ in range(2):
        assert registry.call("run_shell", {"command": "sleep 300", "background": True}, bg_ctx).ok
    third = registry.call("run_shell", {"command": "sleep 300", "background": True}, bg_ctx)
    assert not third.ok and "2 background commands are running already (bg1, bg2)" in third.output


# -- nothing outlives its owner ----------------------------------------------------------------


def test_close_stops_every_group_and_refuses_new_commands(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(processes_module, "KILL_GRACE_S", 0.5)
    registry = BackgroundProcesses()
    first = registry.start(f"sleep 300 & echo $! > a.pid; {TICKS}", repo)
    second = registry.start("trap '' TERM; sleep 300 & echo $! > b.pid; wait", repo)
    children = [read_pid(repo / "a.pid"), read_pid(repo / "b.pid")]
    registry.close()
    for pid in [first.pid, second.pid, *children]:
        assert not alive(pid), f"{pid} outlived close()"
    assert spawn.group_members(first.pid) == [] and spawn.group_members(second.pid) == []
    with pytest.raises(processes_module.ProcessError, match="the session is ending"):
        registry.start("true", repo)
    registry.close()


def test_the_launcher_thread_outlives_the_caller_so_the_death_signal_does_not_fire_early(repo: Path) -> None:
    """PR_SET_PDEATHSIG fires when the forking *thread* ends: a command started from a thread that
    then finishes must keep running."""
    registry = BackgroundProcesses()
    started: list[processes_module.BackgroundProcess] = []
    worker = threading.Thread(target=lambda: started.append(registry.start("echo $$ > me.pid; exec sleep 300", repo)))
    worker.start()
    worker.join()
    try:
        pid = read_pid(repo / "me.pid")
        assert not wait_for(lambda: not alive(pid), within=0.5), "the command died with the thread that started it"
    finally:
        registry.close()
    assert not alive(pid)


DETACHED = {
    "setsid": "setsid sh -c 'echo $$ > d.pid; exec sleep 300' >/dev/null 2>&1 &",
    "double fork": "(setsid sh -c 'echo $$ > d.pid; exec sleep 300' >/dev/null 2>&1 &)",
    "nohup": "nohup sh -c 'echo $$ > d.pid; exec sleep 300' >/dev/null 2>&1 & disown",
}
"""Ways a command leaves a process behind that its process group does not hold (or that outlives
the shell): each writes the leftover's pid to d.pid."""


@pytest.mark.parametrize("how", list(DETACHED))
@pytest.mark.parametrize("where", ["background", "foreground"])
def test_close_stops_processes_that_left_the_group(repo: Path, how: str, where: str) -> None:
    registry = BackgroundProcesses()
    try:
        if where == "background":
            registry.start(f"{DETACHED[how]}\nwait", repo)
        else:
            outcome = shell_runner.run_command(f"{DETACHED[how]}\necho started", repo, 30, None, scope=registry.scope)
            assert outcome.exit_code == 0 and outcome.output == "started\n"
        leftover = read_pid(repo / "d.pid")
        if where == "foreground":  # a server a foreground command starts keeps running until the session ends
            assert not wait_for(lambda: not alive(leftover), within=0.3)
    finally:
        registry.close()
    assert not alive(leftover), f"the {how} process outlived close()"


def test_shell_stop_stops_the_commands_detached_processes(bcall, repo: Path) -> None:
    assert bcall("run_shell", {"command": f"{DETACHED['setsid']}\nwait", "background": True}).ok
    leftover = read_pid(repo / "d.pid")
    assert bcall("shell_stop", {"id": "bg1"}).ok
    assert not alive(leftover)


def test_a_timeout_stops_the_commands_detached_processes(repo: Path) -> None:
    outcome = shell_runner.run_command(f"{DETACHED['double fork']}\nsleep 300", repo, 1.0, None)
    assert outcome.timed_out
    assert not alive(read_pid(repo / "d.pid")), "a detached process outlived the command's timeout"


def test_every_command_carries_the_mark_of_its_session(bcall, bg_ctx: ToolContext) -> None:
    result = bcall("run_shell", {"command": f"echo ${spawn.MARK_VARIABLE}"})
    mark = result.output.splitlines()[1]
    assert mark.startswith(bg_ctx.processes.scope + ".") and mark.split(".")[0] == spawn.process_mark()
    assert not looks_secret_name(spawn.MARK_VARIABLE), "the mark would be hidden as if it were a secret"
    assert spawn.MARK_VARIABLE not in spawn.command_env(), "only `spawn` sets the mark, a fresh one each command"


def test_the_sweep_never_stops_glmcode_itself(repo: Path) -> None:
    """A glmcode started by a glmcode command carries its parent's mark: sweeping that very mark
    from inside must leave the sweeper alone."""
    code = (
        "from glmcode.tools import spawn; spawn._remember('abc.1'); "
        "print(spawn.marked_pids('abc')); spawn.stop_marked('abc', 0.2); print('alive')"
    )
    env = {**os.environ, spawn.MARK_VARIABLE: "abc.1.5"}
    done = subprocess.run([sys.executable, "-c", code], cwd=repo, env=env, capture_output=True, text=True, timeout=30)
    assert done.stdout == "[]\nalive\n", done.stderr


SCRIPT = """
import sys, time
from pathlib import Path
from glmcode.tools import spawn
from glmcode.tools.processes import BackgroundProcesses
{setup}
registry = BackgroundProcesses()
registry.start("sleep 300 & echo $! > child.pid; echo $$ > shell.pid; wait", Path.cwd())
def written(name):
    path = Path(name)
    return path.exists() and path.read_text().endswith("\\n")
while not (written("child.pid") and written("shell.pid")):
    time.sleep(0.02)
{ending}
"""


@pytest.mark.parametrize("ending", ["pass", "raise RuntimeError('boom')", "del registry; import gc; gc.collect()"])
def test_a_registry_nobody_closed_is_closed_at_interpreter_exit(repo: Path, ending: str) -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT.format(setup="", ending=ending)], cwd=repo, capture_output=True, timeout=30)
    assert (done.returncode != 0) == ("boom" in ending), done.stderr
    for name in ("shell.pid", "child.pid"):
        pid = int((repo / name).read_text())
        assert not alive(pid), f"{name} outlived the interpreter"


@pytest.mark.parametrize("how", ["setpriv", "ctypes"])
def test_sigkill_of_the_owner_kills_the_direct_child(repo: Path, how: str) -> None:
    if how == "setpriv" and spawn._setpriv_prefix() is None:
        pytest.skip("no setpriv with --pdeathsig here")
    setup = "spawn._setpriv_prefix = lambda: None" if how == "ctypes" else ""
    script = SCRIPT.format(setup=setup, ending="print('ready', flush=True); time.sleep(300)")
    owner = subprocess.Popen([sys.executable, "-c", script], cwd=repo, stdout=subprocess.PIPE, text=True)
    try:
        assert owner.stdout is not None and owner.stdout.readline() == "ready\n"
        shell, child = int((repo / "shell.pid").read_text()), int((repo / "child.pid").read_text())
        owner.kill()
        owner.wait()
        assert wait_for(lambda: not alive(shell)), "the shell outlived a SIGKILL of its owner"
    finally:
        owner.kill()
        spawn.signal_group(shell, signal.SIGKILL)
    # What escapes: the shell's own children (PR_SET_PDEATHSIG is per process, not inherited);
    # they were just killed through their process group above.
    assert wait_for(lambda: not alive(child))


# -- nothing waits for a person -----------------------------------------------------------------


@pytest.fixture
def hostile_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The user's own environment names a hanging editor and pager: glmcode's values must win."""
    for name in ("GIT_EDITOR", "EDITOR", "VISUAL", "GIT_SEQUENCE_EDITOR", "PAGER", "GIT_PAGER"):
        monkeypatch.setenv(name, "sleep 60")
    monkeypatch.setenv("GIT_TERMINAL_PROMPT", "1")


@pytest.mark.usefixtures("hostile_env")
def test_git_commit_without_message_fails_fast_saying_what_to_do(call, repo: Path) -> None:
    (repo / "README.md").write_text("# Changed\n")
    started = time.monotonic()
    result = call("run_shell", {"command": "git commit -a"})
    assert time.monotonic() - started < 5
    assert result.output.startswith("exit code: 1\n")
    assert result.output.count("glmcode: no editor can be opened here") == 1, "git echoed the message in its own error line"
    assert result.output.count('git commit -m "message"') == 1


@pytest.mark.usefixtures("hostile_env")
def test_interactive_rebase_fails_fast(call, repo: Path, run_git) -> None:
    run_git(repo, "commit", "--allow-empty", "-qm", "second")
    started = time.monotonic()
    result = call("run_shell", {"command": "git rebase -i HEAD~1"})
    assert time.monotonic() - started < 5
    assert not result.output.startswith("exit code: 0") and "GIT_SEQUENCE_EDITOR" in result.output


@pytest.mark.usefixtures("hostile_env")
def test_pagers_print_straight_through(call) -> None:
    started = time.monotonic()
    result = call("run_shell", {"command": "git -p log --oneline; echo rc=$?"})
    assert time.monotonic() - started < 5
    assert re.search(r"^[0-9a-f]{7,} initial$", result.output, re.M) and result.output.endswith("rc=0")


def test_environment_of_every_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GLMCODE_API_KEY", "secret-key")
    monkeypatch.setenv("EDITOR", "vim")
    env = spawn.command_env()
    assert "GLMCODE_API_KEY" not in env
    assert env["EDITOR"] == env["GIT_EDITOR"] == env["VISUAL"] == env["GIT_SEQUENCE_EDITOR"] == spawn.no_editor_command()
    assert env["PAGER"] == env["GIT_PAGER"] == "cat" and env["GIT_TERMINAL_PROMPT"] == "0"
    assert env["SSH_ASKPASS_REQUIRE"] == "never"
    editor = subprocess.run(["sh", "-c", f'{env["EDITOR"]} "$@"', "editor", "file.txt"], capture_output=True, text=True, timeout=10)
    assert editor.returncode == 1 and editor.stderr.startswith("glmcode: no editor can be opened here")


def test_commands_have_no_terminal_and_empty_stdin(call) -> None:
    result = call("run_shell", {"command": "read -r x; echo rc=$?; (exec </dev/tty) 2>/dev/null || echo no-tty; echo $EDITOR | head -c 4"})
    assert result.output == "exit code: 0\nrc=1\nno-tty\ncat "

"""Background commands end with the session: in-process, after `glmcode run`, on SIGTERM and on SIGKILL.

The model starts `BACKGROUND` (a shell that leaves a grandchild and waits); the tests check with
`/proc` that neither is left once glmcode is done, however it ended.
"""

from __future__ import annotations

import json
import os
import pty
import signal
import subprocess
from pathlib import Path

import pytest

from glmcode.engine.transcript import read_session
from glmcode.testing import ScriptedTurn
from glmcode.testing.command import GLMCODE_BIN, base_env
from glmcode.testing.engine import call
from glmcode.testing.processes import alive, read_pid, wait_for
from glmcode.tools.spawn import signal_group

BACKGROUND = "sleep 300 & echo $! > child.pid; echo $$ > shell.pid; wait"





def test_session_close_stops_the_runs_background_commands(glm_server, engine, repo: Path) -> None:
    glm_server.script([
        ScriptedTurn(tool_calls=[call("run_shell", command=BACKGROUND, background=True)]),
        ScriptedTurn(tool_calls=[call("shell_output", id="bg1")]),
        ScriptedTurn(content="The server runs."),
    ])
    run = engine.run("start it", permission_mode="full-auto")
    assert run.returncode == 0
    results = run.of_type("tool_result")
    assert [r["ok"] for r in results] == [True, True]
    assert results[1]["summary"].startswith("bg1 running")
    for name in ("shell.pid", "child.pid"):
        assert not alive(read_pid(repo / name)), f"{name} outlived Session.close()"


def test_session_close_stops_what_the_runs_commands_detached(glm_server, engine, repo: Path) -> None:
    glm_server.script([
        ScriptedTurn(tool_calls=[call("run_shell", command="setsid sh -c 'echo $$ > bg.pid; exec sleep 301' >/dev/null 2>&1 &\nwait", background=True)]),
        ScriptedTurn(tool_calls=[call("run_shell", command="nohup sh -c 'echo $$ > fg.pid; exec sleep 302' >/dev/null 2>&1 & disown")]),
        ScriptedTurn(content="Started."),
    ])
    run = engine.run("start it", permission_mode="full-auto")
    assert run.returncode == 0
    for name in ("bg.pid", "fg.pid"):
        assert not alive(read_pid(repo / name)), f"{name} outlived Session.close()"


def test_nothing_outlives_a_headless_run(glm_server, run_glmcode, repo: Path) -> None:
    glm_server.script([
        ScriptedTurn(tool_calls=[call("run_shell", command=BACKGROUND, background=True)]),
        ScriptedTurn(content="Started."),
    ])
    run = run_glmcode("run", "start it", "--yes", cwd=repo)
    assert run.returncode == 0, run.stderr
    assert run.of_type("tool_result")[0]["summary"] == "bg1 started"
    for name in ("shell.pid", "child.pid"):
        assert not alive(read_pid(repo / name)), f"{name} outlived `glmcode run`"


def test_nothing_a_run_detached_outlives_it(glm_server, run_glmcode, repo: Path) -> None:
    """Processes that left their process group — `setsid` in a background command, a daemon's
    double fork in a foreground one — end with `glmcode run` too (found by their process mark)."""
    glm_server.script([
        ScriptedTurn(tool_calls=[call("run_shell", command="setsid sh -c 'echo $$ > bg.pid; exec sleep 301' >/dev/null 2>&1 &\nwait", background=True)]),
        ScriptedTurn(tool_calls=[call("run_shell", command="(setsid sh -c 'echo $$ > fg.pid; exec sleep 302' >/dev/null 2>&1 &)")]),
        ScriptedTurn(content="Started."),
    ])
    run = run_glmcode("run", "start it", "--yes", cwd=repo)
    assert run.returncode == 0, run.stderr
    assert [r["ok"] for r in run.of_type("tool_result")] == [True, True]
    for name in ("bg.pid", "fg.pid"):
        assert not alive(read_pid(repo / name)), f"{name} outlived `glmcode run`"


def _start_run(glm_server, tmp_path: Path, repo: Path) -> subprocess.Popen[str]:
    """`glmcode run` that starts `BACKGROUND`, then blocks in a foreground command that writes fg.pid."""
    glm_server.script([
        ScriptedTurn(tool_calls=[call("run_shell", command=BACKGROUND, background=True)]),
        ScriptedTurn(tool_calls=[call("run_shell", command="echo $$ > fg.pid; sleep 60; echo slept")]),
        ScriptedTurn(content="finished"),
    ])
    return subprocess.Popen(
        [GLMCODE_BIN, "run", "start it", "--yes", "--output-format", "stream-json"],
        cwd=repo, env=base_env(glm_server, tmp_path), stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_signal_stops_the_run_and_every_background_group(glm_server, tmp_path: Path, repo: Path, sig: int) -> None:
    """SIGTERM, and SIGHUP (a closed terminal, a dropped ssh connection): one `interrupted` result,
    exit 130, nothing left running."""
    proc = _start_run(glm_server, tmp_path, repo)
    try:
        foreground = read_pid(repo / "fg.pid")
        shell, child = read_pid(repo / "shell.pid"), read_pid(repo / "child.pid")
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=90)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    results = [json.loads(line) for line in out.splitlines() if json.loads(line)["type"] == "result"]
    assert [r["status"] for r in results] == ["interrupted"]
    (transcript,) = (repo / ".glmcode" / "sessions").glob("*.jsonl")
    saved = read_session(repo, transcript.stem)
    assert [e["status"] for e in saved.events if e.get("type") == "result"] == ["interrupted"]
    for pid in (foreground, shell, child):
        assert not alive(pid)


def test_a_closed_terminal_stops_the_run_cleanly(glm_server, tmp_path: Path, repo: Path) -> None:
    """The terminal goes away (its master side closed: writes fail with EIO) and SIGHUP follows:
    the run still ends `interrupted` with exit 130, its result in the transcript."""
    master, slave = pty.openpty()
    glm_server.script([
        ScriptedTurn(tool_calls=[call("run_shell", command="echo $$ > fg.pid; sleep 60; echo slept")]),
        ScriptedTurn(content="finished"),
    ])
    proc = subprocess.Popen(
        [GLMCODE_BIN, "run", "start it", "--yes", "--output-format", "stream-json"],
        cwd=repo, env=base_env(glm_server, tmp_path), stdin=subprocess.DEVNULL,
        stdout=slave, stderr=subprocess.PIPE, text=True,
    )
    os.close(slave)
    try:
        foreground = read_pid(repo / "fg.pid")
        os.close(master)
        proc.send_signal(signal.SIGHUP)
        _, err = proc.communicate(timeout=90)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    (transcript,) = (repo / ".glmcode" / "sessions").glob("*.jsonl")
    assert [e["status"] for e in read_session(repo, transcript.stem).events if e.get("type") == "result"] == ["interrupted"]
    assert not alive(foreground)


def test_sigkill_of_glmcode_kills_its_direct_children(glm_server, tmp_path: Path, repo: Path) -> None:
    proc = _start_run(glm_server, tmp_path, repo)
    foreground = shell = 0
    try:
        foreground = read_pid(repo / "fg.pid")
        shell, child = read_pid(repo / "shell.pid"), read_pid(repo / "child.pid")
        proc.kill()
        proc.communicate(timeout=90)
        assert wait_for(lambda: not alive(shell)), "the background shell outlived a SIGKILL of glmcode"
        assert wait_for(lambda: not alive(foreground)), "the foreground shell outlived a SIGKILL of glmcode"
    finally:
        proc.kill()
        for group in (foreground, shell):  # what a SIGKILL leaves: the shells' own children
            if group:
                signal_group(group, signal.SIGKILL)
    assert wait_for(lambda: not alive(child))

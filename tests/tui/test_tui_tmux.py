"""The way a person runs it: the real `glmcode` binary in tmux, keys sent, the screen read back."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tui_support import API_KEY, GLMCODE_BIN, make_repo

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (CI installs it)")

SCENARIO = [
    {"reasoning": "The user wants a greeting.", "content": "Hello from the **scripted** model. All done."},
]


def capture(tmux: list[str], target: str) -> str:
    return subprocess.run([*tmux, "capture-pane", "-p", "-t", target], capture_output=True, text=True).stdout


def wait_for_screen(tmux: list[str], target: str, *needles: str, timeout: float = 60.0) -> str:
    """The screen once every one of `needles` is on it at the same time (the app paints in several
    refreshes: the answer may be on screen a frame before the reasoning line settles)."""
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = capture(tmux, target)
        if all(needle in screen for needle in needles):
            return screen
        time.sleep(0.1)
    raise AssertionError(f"{needles!r} never appeared on the screen together:\n{screen}")


@pytest.fixture
def scripted_server(tmp_path: Path):
    scenario = tmp_path / "scenario.json"
    scenario.write_text(json.dumps(SCENARIO))
    server = subprocess.Popen(
        [sys.executable, "-m", "glmcode.testing.glm_server", str(scenario), "--port", "0"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        line = server.stdout.readline().strip()
        assert line.startswith("listening on "), line
        yield line.removeprefix("listening on ")
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_real_binary_in_tmux_answers_a_prompt_and_quits_on_ctrl_c_twice(tmp_path: Path, scripted_server: str):
    repo = make_repo(tmp_path / "repo")
    exit_file = tmp_path / "exit-code"
    env = {
        "GLMCODE_BASE_URL": scripted_server, "GLMCODE_API_KEY": API_KEY, "GLMCODE_CONFIG_DIR": str(tmp_path / "user-config"),
        "GLMCODE_RETRY_INITIAL_S": "0.01", "TERM": "xterm-256color",
    }
    exports = " ".join(f"{name}={shlex.quote(value)}" for name, value in env.items())
    script = tmp_path / "run.sh"
    script.write_text(f"cd {shlex.quote(str(repo))}\nenv {exports} {shlex.quote(GLMCODE_BIN)}\necho $? > {shlex.quote(str(exit_file))}\n")
    tmux = ["tmux", "-L", f"glmcode-test-{os.getpid()}", "-f", "/dev/null"]
    session = "glmcode"
    subprocess.run([*tmux, "new-session", "-d", "-s", session, "-x", "100", "-y", "30", f"sh {shlex.quote(str(script))}"], check=True)
    try:
        wait_for_screen(tmux, session, "Type a task and press Enter")
        subprocess.run([*tmux, "send-keys", "-t", session, "say hello", "Enter"], check=True)
        screen = wait_for_screen(tmux, session, "Hello from the scripted model. All done.", "Thought")
        assert "› say hello" in screen
        assert "**scripted**" not in screen, "Markdown is rendered"
        subprocess.run([*tmux, "send-keys", "-t", session, "C-c"], check=True)
        wait_for_screen(tmux, session, "Press Ctrl+C again to quit")
        subprocess.run([*tmux, "send-keys", "-t", session, "C-c"], check=True)
        deadline = time.monotonic() + 30
        while not exit_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert exit_file.read_text().strip() == "0"
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True)
    transcripts = list((repo / ".glmcode" / "sessions").glob("*.jsonl"))
    assert len(transcripts) == 1
    assert '"content":"say hello"' in transcripts[0].read_text()


DETACHED_SCENARIO = [
    {"tool_calls": [{"name": "run_shell", "arguments": {
        "command": "setsid sh -c 'echo $$ > d.pid; exec sleep 303' >/dev/null 2>&1 &\nwait", "background": True}}]},
    {"content": "The server runs."},
]


def test_a_closed_terminal_stops_what_the_session_started(tmp_path: Path):
    """Closing the terminal (tmux killed: SIGHUP) quits the app like Ctrl+C twice: the session is
    closed, so a process its background command detached with `setsid` is stopped too."""
    scenario = tmp_path / "detached.json"
    scenario.write_text(json.dumps(DETACHED_SCENARIO))
    server = subprocess.Popen(
        [sys.executable, "-m", "glmcode.testing.glm_server", str(scenario), "--port", "0"], stdout=subprocess.PIPE, text=True,
    )
    repo = make_repo(tmp_path / "repo")
    tmux = ["tmux", "-L", f"glmcode-hup-{os.getpid()}", "-f", "/dev/null"]
    leftover = 0
    try:
        base_url = server.stdout.readline().strip().removeprefix("listening on ")
        env = {
            "GLMCODE_BASE_URL": base_url, "GLMCODE_API_KEY": API_KEY, "GLMCODE_CONFIG_DIR": str(tmp_path / "user-config"),
            "GLMCODE_PERMISSION_MODE": "full-auto", "TERM": "xterm-256color",
        }
        exports = " ".join(f"{name}={shlex.quote(value)}" for name, value in env.items())
        script = tmp_path / "run.sh"
        script.write_text(f"cd {shlex.quote(str(repo))}\nexec env {exports} {shlex.quote(GLMCODE_BIN)}\n")
        subprocess.run([*tmux, "new-session", "-d", "-s", "glmcode", "-x", "100", "-y", "30", f"sh {shlex.quote(str(script))}"], check=True)
        wait_for_screen(tmux, "glmcode", "Type a task and press Enter")
        subprocess.run([*tmux, "send-keys", "-t", "glmcode", "start the server", "Enter"], check=True)
        wait_for_screen(tmux, "glmcode", "The server runs.")
        leftover = int((repo / "d.pid").read_text())
        glmcode = int(subprocess.run([*tmux, "list-panes", "-F", "#{pane_pid}"], capture_output=True, text=True).stdout)
        subprocess.run([*tmux, "kill-server"], check=True)
        deadline = time.monotonic() + 60
        while any(Path(f"/proc/{pid}/stat").exists() and Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z" for pid in (leftover, glmcode)):
            assert time.monotonic() < deadline, "glmcode or the detached process outlived the terminal"
            time.sleep(0.05)
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True)
        server.terminate()
        server.wait(timeout=10)
        if leftover and Path(f"/proc/{leftover}").exists():  # what a failure left behind
            os.kill(leftover, signal.SIGKILL)

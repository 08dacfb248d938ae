"""End to end: the real `glmcode run` tells the truth about how a run ended (issue 11, honest outcomes).

Exit codes and `result` on the paths that used to lie or stall: an unreachable base URL (fast,
named, printed once), a host without function calling (refused before any request), a run whose
every edit was refused (not a success), a fatal API error (printed once in text output), and
model text that tries to drive the terminal (made visible, reasoning marked).
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from glmcode.testing import Fault, ScriptedTurn
from glmcode.testing.command import GLMCODE_BIN, base_env
from glmcode.testing.engine import call


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A local port bound but not listening: connections to it are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def default_retries_env(tmp_path: Path, base_url: str) -> dict[str, str]:
    """The test environment with glmcode's real retry settings (1 s first wait, 6 attempts), no proxy."""
    env = base_env(None, tmp_path, GLMCODE_BASE_URL=base_url, GLMCODE_PROVIDER="openai-compatible")
    for name in ("GLMCODE_RETRY_INITIAL_S", "GLMCODE_RETRY_MAX_S", "http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "all_proxy"):
        env.pop(name, None)
    return env


def test_connection_refused_fails_fast_with_the_url_printed_once(run_glmcode, repo: Path, tmp_path: Path, closed_port: int):
    url = f"http://127.0.0.1:{closed_port}/v1"
    env = default_retries_env(tmp_path, url)
    started = time.monotonic()
    streamed = run_glmcode("run", "hi", cwd=repo, env=env)
    wall = time.monotonic() - started
    assert streamed.returncode == 3, streamed.stderr
    assert [e["type"] for e in streamed.events] == ["session_start", "error", "result"], "no retry: the host is not there"
    result = streamed.result
    assert result["status"] == "error" and result["exit_code"] == 3
    assert result["summary"].startswith(f"cannot reach {url}: connection refused") and "glmcode doctor" in result["summary"]
    assert streamed.of_type("error")[0]["kind"] == "connection"
    # No retry event above is the proof of no backoff. The time is a backstop: five backoff waits
    # with the default settings sleep at least 31 s; one attempt takes about 1.5 s on a quiet
    # machine (most of it importing openai), over 10 s on a machine loaded past its cores.
    assert wall < 25, f"took {wall:.1f} s"

    as_text = run_glmcode("run", "hi", "--output-format", "text", cwd=repo, env=env)
    assert as_text.returncode == 3
    assert as_text.stderr.splitlines() == [f"error: {result['summary']}"]
    assert (as_text.stdout + as_text.stderr).count("connection refused") == 1, "a fatal error is printed once"
    assert "— error (exit 3)" in as_text.stdout


def test_an_unresolvable_host_fails_fast(run_glmcode, repo: Path, tmp_path: Path):
    url = "http://glmcode-e2e.invalid/v1"
    run = run_glmcode("run", "hi", "-o", "json", cwd=repo, env=default_retries_env(tmp_path, url))
    assert run.returncode == 3 and run.result["duration_s"] < 25 and run.result["turns"] == 0
    assert run.result["summary"].startswith(f"cannot reach {url}: host name not resolved")
    assert run.stderr == "", "json output: the result carries the cause, nothing else is printed"


def test_a_host_without_function_calling_is_refused_before_any_request(glm_server, tmp_path: Path, run_glmcode, repo: Path):
    env = base_env(glm_server, tmp_path, GLMCODE_PROVIDER="nvidia")
    for args in (["run", "fix the bug"], ["run", "--goal", "fix the bug", "--yes"], ["run", "hi", "-o", "text"]):
        run = run_glmcode(*args, cwd=repo, env=env)
        assert run.returncode == 2, (args, run.stderr)
        lines = run.stderr.splitlines()
        assert len(lines) == 1 and "provider 'nvidia' does not support function calling" in lines[0], (args, run.stderr)
        assert "zai, zai-coding, cloudflare, hyperstack, openai-compatible" in lines[0]
        assert run.stdout == ""
    assert glm_server.requests == [], "refused before the first request"
    assert not (repo / ".glmcode" / "sessions").exists()


def test_a_run_whose_every_edit_was_refused_is_not_a_success(glm_server, run_glmcode, repo: Path):
    turns = [
        ScriptedTurn(tool_calls=[call("edit_file", path="README.md", old_string="demo", new_string="DEMO")]),
        ScriptedTurn(content="I could not edit README.md."),
    ]
    glm_server.script(turns)
    before = (repo / "README.md").read_bytes()
    run = run_glmcode("run", "shout the readme", "--permission-mode", "ask", cwd=repo)  # nobody to ask
    assert run.returncode == 1 and run.result["status"] == "failed" and run.result["refused_calls"] == 1
    assert run.result["summary"].startswith("nothing was changed: the model tried 1 file edit and it was refused (refused: edit_file needs")
    assert (repo / "README.md").read_bytes() == before

    glm_server.script(turns)
    as_text = run_glmcode("run", "shout the readme", "--permission-mode", "ask", "-o", "text", cwd=repo)
    assert as_text.returncode == 1
    assert "— failed (exit 1)" in as_text.stdout and "1 refused call" in as_text.stdout
    assert "nothing was changed: the model tried 1 file edit" in as_text.stdout

    glm_server.script(turns)
    read_only = run_glmcode("run", "shout the readme", "--permission-mode", "read-only", cwd=repo)
    assert read_only.returncode == 0 and read_only.result["refused_calls"] == 1, "read-only: no change was asked for"


def test_a_fatal_api_error_is_printed_once_in_text_output(glm_server, run_glmcode, repo: Path):
    glm_server.script([ScriptedTurn(content="never", faults=[Fault(kind="http_error", status=401, code="1000", message="bad key")])])
    run = run_glmcode("run", "hi", "-o", "text", cwd=repo)
    assert run.returncode == 3
    assert (run.stdout + run.stderr).count("bad key") == 1, run.stdout + run.stderr
    assert run.stderr.splitlines() == ["error: zai API error 1000 (HTTP 401): bad key"]


def test_model_text_cannot_drive_the_terminal_and_reasoning_is_marked(glm_server, run_glmcode, repo: Path):
    glm_server.script([
        ScriptedTurn(
            reasoning="plan:\x1b]0;owned\x07 read\nthen answer",
            content="done\x1b[2J\r\nreally \u202eti tsurt\u202c",
            tool_calls=[call("read_file", path="README\x1b[31m.md")],
        ),
        ScriptedTurn(content="finished\x1b[0m"),
    ])
    run = run_glmcode("run", "go", "-o", "text", cwd=repo)
    assert run.returncode == 0, run.stderr
    shown = run.stdout + run.stderr
    assert "\x1b" not in shown and "\x07" not in shown and "\u202e" not in shown and "\r" not in shown
    assert "│ plan:␛]0;owned␇ read\n│ then answer\n" in run.stdout, "reasoning lines are marked without colour"
    assert "done␛[2J\nreally ⟨U+202E⟩ti tsurt⟨U+202C⟩" in run.stdout
    assert "→ read_file README␛[31m.md" in run.stdout


def test_doctor_names_a_host_without_function_calling(tmp_path: Path, repo: Path):
    env = base_env(None, tmp_path, GLMCODE_PROVIDER="nvidia")
    proc = subprocess.run([GLMCODE_BIN, "doctor", "--offline"], cwd=repo, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert "FAIL  tools: provider 'nvidia' does not support function calling, so `glmcode run` and goal mode cannot run there" in proc.stdout


def test_a_closed_output_pipe_stops_the_run_as_interrupted_not_as_a_bug(glm_server, tmp_path: Path, repo: Path):
    wait = "for i in $(seq 600); do [ -f closed ] && exit 0; sleep 0.05; done; exit 1"
    glm_server.script([ScriptedTurn(tool_calls=[call("run_shell", command=wait)]), ScriptedTurn(content="never read")])
    proc = subprocess.Popen(
        [GLMCODE_BIN, "run", "go", "--yes", "-o", "stream-json"],
        cwd=repo, env=base_env(glm_server, tmp_path), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert b'"session_start"' in proc.stdout.readline()
    proc.stdout.close()  # the reader goes away (`| head -1`)
    (repo / "closed").write_text("")
    assert proc.wait(timeout=60) == 130
    stderr = proc.stderr.read().decode()
    assert "internal error" not in stderr and "Traceback" not in stderr and "BrokenPipe" not in stderr, stderr
    transcript = next((repo / ".glmcode" / "sessions").glob("*.jsonl")).read_text().splitlines()
    last = json.loads(transcript[-1])
    assert last["event"]["type"] == "result" and last["event"]["status"] == "interrupted"
    assert len(glm_server.requests) == 1, "the run stopped instead of asking the model on"

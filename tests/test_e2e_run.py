"""End to end: the real `glmcode run` command against the scripted GLM server, in throwaway repos.

What only the real command shows: exit codes, output formats, the prompt from stdin, signals,
resume across processes, configuration errors. The engine's behaviour is tested in-process
(`tests/engine/`), much faster.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

from glmcode.testing import Fault, ScriptedTurn
from glmcode.testing.command import API_KEY, GLMCODE_BIN, base_env
from glmcode.testing.engine import call, messages_of


def test_task_reads_edits_and_answers(glm_server, run_glmcode, repo: Path):
    (repo / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    glm_server.script([
        ScriptedTurn(reasoning="I should look at calc.py first.", tool_calls=[call("read_file", path="calc.py")]),
        ScriptedTurn(
            reasoning="The subtraction is the bug.",
            content="Fixing the operator.",
            tool_calls=[call("edit_file", path="calc.py", old_string="return a - b", new_string="return a + b")],
        ),
        ScriptedTurn(reasoning="Done.", content="Fixed `add` in calc.py: it subtracted instead of adding."),
    ])
    run = run_glmcode("run", "fix add in calc.py", "--permission-mode", "auto-edit", cwd=repo)

    assert run.returncode == 0, run.stderr
    assert (repo / "calc.py").read_text() == "def add(a, b):\n    return a + b\n"
    types = [e["type"] for e in run.events]
    assert types[0] == "session_start" and types[-1] == "result" and types.count("result") == 1
    assert "".join(e["text"] for e in run.of_type("reasoning")).startswith("I should look at calc.py first.")
    assert [e["name"] for e in run.of_type("tool_call")] == ["read_file", "edit_file"]
    assert [e["title"] for e in run.of_type("tool_call")] == ["read_file calc.py", "edit_file calc.py"]
    assert all(e["ok"] for e in run.of_type("tool_result"))
    assert "+    return a + b" in run.of_type("tool_result")[1]["diff"]
    result = run.result
    assert result["status"] == "success" and result["exit_code"] == 0
    assert result["summary"] == "Fixed `add` in calc.py: it subtracted instead of adding."
    assert result["turns"] == 3 and result["usage"]["requests"] == 3
    assert all(e["session_id"] == result["session_id"] for e in run.events)

    first, second, third = glm_server.requests
    assert first.json["thinking"] == {"type": "enabled", "clear_thinking": False}
    assert first.json["tool_stream"] is True and first.json["stream"] is True
    assert [t["function"]["name"] for t in first.json["tools"]] == [
        "read_file", "write_file", "edit_file", "read_files", "list_files", "search", "run_shell",
        "git_status", "git_diff", "lint", "run_tests", "update_plan", "shell_output", "shell_stop",
    ]
    assert first.headers["authorization"] == f"Bearer {API_KEY}"
    assistant = messages_of(second)[-2]
    assert assistant["reasoning_content"] == "I should look at calc.py first."
    assert assistant["tool_calls"][0]["function"]["name"] == "read_file"
    assert messages_of(second)[-1]["role"] == "tool" and "return a - b" in messages_of(second)[-1]["content"]
    assert messages_of(third)[-2]["content"] == "Fixing the operator."


def test_fatal_api_error_fails_fast_with_exit_3_and_the_code(glm_server, run_glmcode, repo: Path):
    glm_server.script([ScriptedTurn(content="never", faults=[Fault(kind="http_error", status=429, code="1113", message="Insufficient balance")])])
    run = run_glmcode("run", "hi", "--output-format", "text", cwd=repo)
    assert run.returncode == 3
    assert len(glm_server.requests) == 1, "a balance error must not be retried"
    error_lines = [line for line in run.stderr.splitlines() if line.startswith("error:")]
    assert error_lines == ["error: zai API error 1113 (HTTP 429): Insufficient balance"]
    assert "Traceback" not in run.stderr


def test_max_turns_stops_with_exit_4_and_resume_continues(glm_server, run_glmcode, repo: Path):
    glm_server.script([
        ScriptedTurn(tool_calls=[call("write_file", path="notes.txt", content="one\n")]),
        ScriptedTurn(content="all written"),
    ])
    first = run_glmcode("run", "write notes", "--yes", "--max-turns", "1", cwd=repo)
    assert first.returncode == 4
    assert first.result["status"] == "budget_exhausted" and "--max-turns 1" in first.result["summary"]
    assert (repo / "notes.txt").read_text() == "one\n"
    session_id = first.result["session_id"]

    second = run_glmcode("run", "--resume", session_id, "--yes", cwd=repo)
    assert second.returncode == 0, second.stderr
    assert second.result["session_id"] == session_id and second.result["summary"] == "all written"
    resumed = glm_server.requests[1]
    assert resumed.body.startswith(glm_server.requests[0].body[:-2] + b","), "resume must replay the history byte for byte"
    assert [m["role"] for m in messages_of(resumed)] == ["system", "user", "assistant", "tool"]


def test_resume_of_a_finished_session_needs_a_prompt(glm_server, engine, run_glmcode, repo: Path):
    glm_server.script([ScriptedTurn(content="first answer"), ScriptedTurn(content="second answer")])
    first = engine.run("one")  # the session to resume is made in-process: the command under test is the resume
    session_id = first.result["session_id"]
    transcript = Path(first.result["transcript_path"]).read_bytes()
    again = run_glmcode("run", "--resume", session_id, cwd=repo)
    assert again.returncode == 2 and [e["type"] for e in again.events] == ["error", "result"]
    assert again.result["status"] == "error" and again.result["exit_code"] == 2 and again.result["session_id"] == session_id
    assert "give a new instruction" in again.result["summary"] and again.of_type("error")[0]["kind"] == "usage"
    as_text = run_glmcode("run", "--resume", session_id, "--output-format", "text", cwd=repo)
    assert as_text.returncode == 2 and as_text.stderr.splitlines() == [f"error: {again.result['summary']}"]
    assert len(glm_server.requests) == 1 and Path(first.result["transcript_path"]).read_bytes() == transcript
    follow = run_glmcode("run", "--resume", session_id, "and now two", cwd=repo)
    assert follow.returncode == 0 and follow.result["summary"] == "second answer"
    assert [m["role"] for m in messages_of(glm_server.requests[-1])] == ["system", "user", "assistant", "user"]


def test_output_formats(glm_server, run_glmcode, repo: Path):
    turns = [ScriptedTurn(reasoning="ponder", tool_calls=[call("read_file", path="README.md")]), ScriptedTurn(content="The answer.")]
    glm_server.script(turns)
    as_json = run_glmcode("run", "q", "--output-format", "json", cwd=repo)
    lines = as_json.stdout.strip().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["type"] == "result" and json.loads(lines[0])["summary"] == "The answer."

    glm_server.script(turns)
    as_text = run_glmcode("run", "q", "--output-format", "text", cwd=repo)
    assert as_text.returncode == 0
    assert "\x1b[" not in as_text.stdout, "no colour codes when not on a terminal"
    assert "ponder" in as_text.stdout and "→ read_file README.md" in as_text.stdout and "The answer." in as_text.stdout
    assert "success (exit 0)" in as_text.stdout


def test_sigint_stops_cleanly_with_exit_130_and_resumes(glm_server, tmp_path: Path, repo: Path):
    glm_server.script([
        ScriptedTurn(tool_calls=[call("run_shell", command="sleep 30")]),
        ScriptedTurn(content="finished after resume"),
    ])
    env = base_env(glm_server, tmp_path)
    proc = subprocess.Popen(
        [GLMCODE_BIN, "run", "wait", "--yes", "--output-format", "stream-json"],
        cwd=repo, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    deadline = time.monotonic() + 20
    while not any(r.outcome for r in glm_server.requests) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.0)
    started = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, err
    assert time.monotonic() - started < 10, "the sleeping shell command was not killed"
    events = [json.loads(line) for line in out.splitlines()]
    assert events[-1]["type"] == "result" and events[-1]["status"] == "interrupted"
    session_id = events[-1]["session_id"]

    resumed = subprocess.run(
        [GLMCODE_BIN, "run", "--resume", session_id, "--output-format", "json"],
        cwd=repo, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["summary"] == "finished after resume"


def test_configuration_errors_exit_2_with_one_line(glm_server, tmp_path: Path, repo: Path):
    env = base_env(glm_server, tmp_path)
    env.pop("GLMCODE_API_KEY")
    cases = [
        (["run", "hi"], env, "no API key"),
        (["run", "hi", "--provider", "nope"], base_env(glm_server, tmp_path), "unknown provider 'nope'"),
        (["run", "hi", "--effort", "extreme"], base_env(glm_server, tmp_path), "effort: must be one of"),
        (["run", "hi", "--frobnicate"], base_env(glm_server, tmp_path), "No such option: --frobnicate"),
        (["run", "--resume", "20260101-000000-abcdef"], base_env(glm_server, tmp_path), "no session"),
        (["run", "a prompt", "--goal", "a goal", "-o", "stream-json"], base_env(glm_server, tmp_path), "not both"),
        (
            ["run", "--goal", "a goal", "--permission-mode", "ask", "-o", "stream-json"], base_env(glm_server, tmp_path),
            "pass --yes (full-auto) or --permission-mode auto-edit",
        ),
    ]
    for args, case_env, message in cases:
        proc = subprocess.run([GLMCODE_BIN, *args], cwd=repo, env=case_env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        assert proc.returncode == 2, (args, proc.stderr)
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and message in lines[0], (args, proc.stderr)
        assert proc.stdout == "", (args, proc.stdout)
    assert glm_server.requests == []
    assert not (repo / ".glmcode" / "sessions").exists(), "a refused run must write nothing"


CRASHING_RESTORE = """
import glmcode.engine.session as session

def crash(self, record):
    raise KeyError("tool_calls")

session.Session._restore = crash
"""
"""A `sitecustomize` that plants a bug in the real command: replaying a transcript raises."""


def test_an_internal_error_exits_70_with_one_result_and_one_line(glm_server, engine, run_glmcode, repo: Path, tmp_path: Path):
    glm_server.script([ScriptedTurn(content="first answer")])
    first = engine.run("one")  # made in-process: the command under test is the resume that fails
    session_id = first.result["session_id"]
    (tmp_path / "bug").mkdir()
    (tmp_path / "bug" / "sitecustomize.py").write_text(CRASHING_RESTORE)
    env = base_env(glm_server, tmp_path, PYTHONPATH=str(tmp_path / "bug"))

    streamed = run_glmcode("run", "--resume", session_id, "go on", cwd=repo, env=env)
    assert streamed.returncode == 70, streamed.stderr
    assert [e["type"] for e in streamed.events] == ["error", "result"]
    result = streamed.result
    assert result["status"] == "error" and result["exit_code"] == 70 and result["session_id"] == session_id
    assert result["summary"].startswith("internal error (a bug in glmcode): KeyError")
    assert streamed.of_type("error")[0]["kind"] == "internal" and streamed.stderr == ""

    as_text = run_glmcode("run", "--resume", session_id, "go on", "--output-format", "text", cwd=repo, env=env)
    assert as_text.returncode == 70
    lines = as_text.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: internal error (a bug in glmcode): KeyError"), as_text.stderr
    assert "error (exit 70)" in as_text.stdout
    assert len(glm_server.requests) == 1


def test_prompt_from_stdin(glm_server, run_glmcode, repo: Path):
    glm_server.script([ScriptedTurn(content="4"), ScriptedTurn(content="5")])
    piped = run_glmcode("run", cwd=repo, input="what is 2+2?\n")
    dashed = run_glmcode("run", "-", cwd=repo, input="and 2+3?")
    assert piped.returncode == 0 and dashed.returncode == 0
    assert [r.json["messages"][-1]["content"] for r in glm_server.requests] == ["what is 2+2?", "and 2+3?"]
    empty = run_glmcode("run", cwd=repo, input="")
    assert empty.returncode == 2 and "no prompt" in empty.stderr

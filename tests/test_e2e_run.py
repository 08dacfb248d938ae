"""End to end: the real `glmcode run` command against the scripted GLM server, in throwaway repos."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from itertools import pairwise
from pathlib import Path

from conftest import API_KEY, GLMCODE_BIN, base_env, make_repo

from glmcode.testing import Fault, ScriptedToolCall, ScriptedTurn


def call(name: str, **arguments) -> ScriptedToolCall:
    return ScriptedToolCall(name=name, arguments=arguments)


def messages_of(request) -> list[dict]:
    return request.json["messages"]


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
        "read_file", "write_file", "edit_file", "list_files", "search", "run_shell",
        "git_status", "git_diff", "lint", "run_tests", "update_plan",
    ]
    assert first.headers["authorization"] == f"Bearer {API_KEY}"
    assistant = messages_of(second)[-2]
    assert assistant["reasoning_content"] == "I should look at calc.py first."
    assert assistant["tool_calls"][0]["function"]["name"] == "read_file"
    assert messages_of(second)[-1]["role"] == "tool" and "return a - b" in messages_of(second)[-1]["content"]
    assert messages_of(third)[-2]["content"] == "Fixing the operator."


def test_every_request_extends_the_previous_one_byte_for_byte(glm_server, run_glmcode, repo: Path):
    glm_server.script(
        [ScriptedTurn(reasoning=f"step {i} 思考", tool_calls=[call("list_files")]) for i in range(4)]
        + [ScriptedTurn(content="done")]
    )
    run = run_glmcode("run", "explore", cwd=repo)
    assert run.returncode == 0, run.stderr
    bodies = [r.body for r in glm_server.requests]
    assert len(bodies) == 5
    for earlier, later in pairwise(bodies):
        assert earlier.endswith(b"]}")
        assert later.startswith(earlier[:-2] + b","), "a request rewrote an earlier part of the conversation"
    assert run.result["cached_share"] > 0.5
    assert run.result["usage"]["cached_tokens"] > 0
    assert len({r.client_port for r in glm_server.requests}) == 1, "each turn must reuse the kept-alive connection"


def test_retries_rate_limits_drops_and_garbled_streams(glm_server, run_glmcode, repo: Path):
    glm_server.script([
        ScriptedTurn(
            content="all good",
            faults=[
                Fault(kind="http_error", status=429, code="1302", message="High concurrency", retry_after=0.05),
                Fault(kind="drop", after_chunks=1),
                Fault(kind="malformed", after_chunks=1),
                Fault(kind="json_error_200", code="1305"),
                Fault(kind="error_in_stream", code="1312", message="model busy"),
                Fault(kind="finish_reason", finish_reason="network_error", after_chunks=1),
            ],
        ),
    ])
    run = run_glmcode("run", "hi", cwd=repo, env=base_env(glm_server, repo.parent, GLMCODE_RETRY_ATTEMPTS="7"))
    assert run.returncode == 0, run.stderr
    retries = run.of_type("retry")
    assert [r["attempt"] for r in retries] == [1, 2, 3, 4, 5, 6]
    assert "1302" in retries[0]["reason"] and retries[0]["wait_s"] == 0.05
    assert "1305" in retries[3]["reason"] and "1312" in retries[4]["reason"]
    assert "network_error" in retries[5]["reason"]
    assert run.result["summary"] == "all good"
    assert len(glm_server.requests) == 7


def test_fatal_api_error_fails_fast_with_exit_3_and_the_code(glm_server, run_glmcode, repo: Path):
    glm_server.script([ScriptedTurn(content="never", faults=[Fault(kind="http_error", status=429, code="1113", message="Insufficient balance")])])
    run = run_glmcode("run", "hi", "--output-format", "text", cwd=repo)
    assert run.returncode == 3
    assert len(glm_server.requests) == 1, "a balance error must not be retried"
    error_lines = [line for line in run.stderr.splitlines() if line.startswith("error:")]
    assert error_lines == ["error: zai API error 1113 (HTTP 429): Insufficient balance"]
    assert "Traceback" not in run.stderr


def test_retries_give_up_after_the_attempt_limit(glm_server, run_glmcode, repo: Path):
    glm_server.script([ScriptedTurn(content="never", faults=[Fault(kind="http_error", status=500)] * 6)])
    run = run_glmcode("run", "hi", cwd=repo)
    assert run.returncode == 3
    assert len(glm_server.requests) == 6
    assert len(run.of_type("retry")) == 5
    assert run.result["status"] == "error" and "HTTP 500" in run.result["summary"]


def test_bad_tool_calls_become_tool_errors_and_the_run_goes_on(glm_server, run_glmcode, repo: Path):
    glm_server.script([
        ScriptedTurn(tool_calls=[
            ScriptedToolCall(name="launch_rockets", arguments="{}"),
            ScriptedToolCall(name="read_file", arguments='{"path": "README.md"'),
            ScriptedToolCall(name="read_file", arguments='{"path": 42, "offset": "x"}'),
            ScriptedToolCall(name="read_file", arguments="{}"),
        ]),
        ScriptedTurn(content="recovered"),
    ])
    run = run_glmcode("run", "hi", cwd=repo)
    assert run.returncode == 0, run.stderr
    results = run.of_type("tool_result")
    assert [r["ok"] for r in results] == [False, False, False, False]
    assert "no tool named 'launch_rockets'" in results[0]["output"] and "read_file" in results[0]["output"]
    assert "JSON" in results[1]["output"]
    assert "path" in results[2]["output"] and "offset" in results[2]["output"]
    assert "path" in results[3]["output"] and "required" in results[3]["output"].lower()
    tool_messages = [m for m in messages_of(glm_server.requests[1]) if m["role"] == "tool"]
    assert len(tool_messages) == 4 and all(m["content"].startswith("Error: ") for m in tool_messages)
    assert run.result["summary"] == "recovered"


def test_empty_answers_are_nudged_once_then_the_run_fails(glm_server, run_glmcode, repo: Path):
    glm_server.script([ScriptedTurn(), ScriptedTurn()])
    run = run_glmcode("run", "hi", cwd=repo)
    assert run.returncode == 1
    assert run.result["status"] == "failed" and "empty" in run.result["summary"]
    nudge = messages_of(glm_server.requests[1])[-1]
    assert nudge["role"] == "user" and "empty" in nudge["content"]


def test_answer_cut_by_length_is_continued(glm_server, run_glmcode, repo: Path):
    glm_server.script([ScriptedTurn(content="The first half", finish_reason="length"), ScriptedTurn(content=" and the rest.")])
    run = run_glmcode("run", "write", cwd=repo)
    assert run.returncode == 0, run.stderr
    assert run.result["summary"] == "and the rest."
    assert "cut off" in messages_of(glm_server.requests[1])[-1]["content"]


def test_tool_call_cut_by_length_is_reported_not_run(glm_server, run_glmcode, repo: Path):
    glm_server.script([
        ScriptedTurn(tool_calls=[ScriptedToolCall(name="write_file", arguments='{"path": "big.txt", "content": "aaa')], finish_reason="length"),
        ScriptedTurn(content="ok"),
    ])
    run = run_glmcode("run", "write", "--yes", cwd=repo)
    assert run.returncode == 0, run.stderr
    result = run.of_type("tool_result")[0]
    assert not result["ok"] and "output token limit" in result["output"]
    assert not (repo / "big.txt").exists()


def test_raw_xml_tool_call_in_content_is_parsed(glm_server, run_glmcode, repo: Path):
    glm_server.script([
        ScriptedTurn(content="Reading.<tool_call>read_file<arg_key>path</arg_key><arg_value>README.md</arg_value><arg_key>limit</arg_key><arg_value>5</arg_value></tool_call>"),
        ScriptedTurn(content="read it"),
    ])
    run = run_glmcode("run", "read", cwd=repo)
    assert run.returncode == 0, run.stderr
    assert run.of_type("tool_call")[0]["arguments"] == {"path": "README.md", "limit": 5}
    assert "# demo" in run.of_type("tool_result")[0]["output"]
    sent_back = messages_of(glm_server.requests[1])[-2]
    assert sent_back["content"] == "Reading." and sent_back["tool_calls"][0]["function"]["name"] == "read_file"


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


def test_resume_of_a_finished_session_needs_a_prompt(glm_server, run_glmcode, repo: Path):
    glm_server.script([ScriptedTurn(content="first answer"), ScriptedTurn(content="second answer")])
    first = run_glmcode("run", "one", cwd=repo)
    session_id = first.result["session_id"]
    transcript = Path(first.result["transcript_path"]).read_bytes()
    again = run_glmcode("run", "--resume", session_id, cwd=repo)
    assert again.returncode == 2 and [e["type"] for e in again.events] == ["error", "result"]
    assert again.result["status"] == "error" and again.result["exit_code"] == 2 and again.result["session_id"] == session_id
    assert "give a new instruction" in again.result["summary"] and again.of_type("error")[0]["kind"] == "usage"
    as_text = run_glmcode("run", "--resume", session_id, "--output-format", "text", cwd=repo)
    assert as_text.returncode == 2 and [line for line in as_text.stderr.splitlines() if "give a new instruction" in line]
    assert len(glm_server.requests) == 1 and Path(first.result["transcript_path"]).read_bytes() == transcript
    follow = run_glmcode("run", "--resume", session_id, "and now two", cwd=repo)
    assert follow.returncode == 0 and follow.result["summary"] == "second answer"
    assert [m["role"] for m in messages_of(glm_server.requests[-1])] == ["system", "user", "assistant", "user"]


def test_transcript_is_written_and_never_holds_the_api_key(glm_server, run_glmcode, repo: Path):
    glm_server.script([
        ScriptedTurn(tool_calls=[call("run_shell", command="env; echo key=$GLMCODE_API_KEY")]),
        ScriptedTurn(content="done"),
    ])
    run = run_glmcode("run", "show env", "--yes", cwd=repo)
    assert run.returncode == 0, run.stderr
    transcript = Path(run.result["transcript_path"])
    text = transcript.read_text()
    assert API_KEY not in text
    assert all(API_KEY.encode() not in r.body for r in glm_server.requests), "the key reached the model"
    records = [json.loads(line) for line in text.splitlines()]
    assert records[0]["kind"] == "session" and records[0]["model"] == "glm-5.2"
    assert [r["message"]["role"] for r in records if r["kind"] == "message"] == ["system", "user", "assistant", "tool", "assistant"]
    assert records[-1]["kind"] == "event" and records[-1]["event"]["type"] == "result"
    assert (repo / ".glmcode" / ".gitignore").exists()
    assert subprocess.run(["git", "status", "--porcelain"], cwd=repo, capture_output=True, text=True).stdout == ""


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


def test_permission_modes_refuse_with_a_clear_tool_error(glm_server, run_glmcode, repo: Path):
    turns = [
        ScriptedTurn(tool_calls=[call("run_shell", command="touch made-by-shell"), call("write_file", path="new.txt", content="x")]),
        ScriptedTurn(content="could not"),
    ]
    glm_server.script(turns)
    asked = run_glmcode("run", "do it", cwd=repo)
    shell, write = asked.of_type("tool_result")
    assert not shell["ok"] and "approval" in shell["output"] and "--yes" in shell["output"]
    assert not write["ok"] and shell["summary"] == write["summary"] == "refused"
    assert [e["title"] for e in asked.of_type("tool_call")] == ["run_shell touch made-by-shell", "write_file new.txt"]
    assert not (repo / "made-by-shell").exists() and not (repo / "new.txt").exists()

    glm_server.script(turns)
    read_only = run_glmcode("run", "do it", "--permission-mode", "read-only", cwd=repo)
    assert all("read-only" in r["output"] for r in read_only.of_type("tool_result"))

    glm_server.script(turns)
    auto_edit = run_glmcode("run", "do it", "--permission-mode", "auto-edit", cwd=repo)
    shell, write = auto_edit.of_type("tool_result")
    assert not shell["ok"] and write["ok"] and (repo / "new.txt").read_text() == "x"


def test_agent_md_rules_are_enforced(glm_server, run_glmcode, tmp_path: Path):
    repo = make_repo(tmp_path / "ruled", {
        "AGENT.md": "# Rules\n\n## Commands\n- test: `python -c \"print('tests ran ok')\"`\n\n## Constraints\n- Do not modify `migrations/**`\n- Do not commit\n",
        "migrations/0001.sql": "create table t();\n",
    })
    glm_server.script([
        ScriptedTurn(tool_calls=[
            call("edit_file", path="migrations/0001.sql", old_string="t()", new_string="t(id int)"),
            call("run_shell", command="git commit -am sneaky"),
            call("run_tests"),
        ]),
        ScriptedTurn(content="done"),
    ])
    run = run_glmcode("run", "go", "--yes", cwd=repo)
    edit, commit, tests = run.of_type("tool_result")
    assert not edit["ok"] and "Do not modify `migrations/**`" in edit["output"] and edit["summary"] == "refused"
    assert not commit["ok"] and "Do not commit" in commit["output"] and commit["summary"] == "refused"
    assert tests["ok"] and "tests ran ok" in tests["output"]
    assert (repo / "migrations/0001.sql").read_text() == "create table t();\n"
    system = messages_of(glm_server.requests[0])[0]["content"]
    assert "Do not modify `migrations/**`" in system and "tests ran ok" in system


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


def test_timeout_budget_interrupts_a_long_tool(glm_server, run_glmcode, repo: Path):
    glm_server.script([ScriptedTurn(tool_calls=[call("run_shell", command="sleep 30")]), ScriptedTurn(content="x")])
    started = time.monotonic()
    run = run_glmcode("run", "wait", "--yes", "--timeout", "1.5", cwd=repo)
    assert run.returncode == 4 and run.result["status"] == "budget_exhausted"
    assert time.monotonic() - started < 15


def test_content_filter_and_context_overflow_end_with_exit_3(glm_server, run_glmcode, repo: Path):
    glm_server.script([ScriptedTurn(content="x", faults=[Fault(kind="finish_reason", finish_reason="sensitive")])])
    run = run_glmcode("run", "hi", cwd=repo)
    assert run.returncode == 3 and "content filter" in run.result["summary"]
    assert len(glm_server.requests) == 1


def test_hyperstack_uses_the_api_key_header(glm_server, run_glmcode, tmp_path: Path, repo: Path):
    glm_server.script([ScriptedTurn(content="hi")])
    run = run_glmcode("run", "hi", "--provider", "hyperstack", cwd=repo)
    assert run.returncode == 0, run.stderr
    headers = glm_server.requests[0].headers
    assert headers["api_key"] == API_KEY and "authorization" not in headers
    assert glm_server.requests[0].json["model"] == "zai-org/GLM-5.2"
    assert "thinking" not in glm_server.requests[0].json


def test_configuration_errors_exit_2_with_one_line(glm_server, tmp_path: Path, repo: Path):
    env = base_env(glm_server, tmp_path)
    env.pop("GLMCODE_API_KEY")
    cases = [
        (["run", "hi"], env, "no API key"),
        (["run", "hi", "--provider", "nope"], base_env(glm_server, tmp_path), "unknown provider 'nope'"),
        (["run", "hi", "--effort", "extreme"], base_env(glm_server, tmp_path), "effort: must be one of"),
        (["run", "hi", "--frobnicate"], base_env(glm_server, tmp_path), "No such option: --frobnicate"),
        (["run", "--resume", "20260101-000000-abcdef"], base_env(glm_server, tmp_path), "no session"),
    ]
    for args, case_env, message in cases:
        proc = subprocess.run([GLMCODE_BIN, *args], cwd=repo, env=case_env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        assert proc.returncode == 2, (args, proc.stderr)
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and message in lines[0], (args, proc.stderr)
    assert glm_server.requests == []


def test_context_near_the_window_is_compacted_and_the_run_goes_on(glm_server, run_glmcode, tmp_path: Path, repo: Path):
    glm_server.script([
        ScriptedTurn(tool_calls=[call("read_file", path="README.md")], usage={"prompt_tokens": 9000, "completion_tokens": 10}),
        ScriptedTurn(content="Summary: the user asked to read README.md; it says '# demo'. Next: answer."),
        ScriptedTurn(content="README says demo."),
    ])
    env = base_env(glm_server, tmp_path, GLMCODE_CONTEXT_WINDOW="10000")
    run = run_glmcode("run", "what does the README say?", cwd=repo, env=env)
    assert run.returncode == 0, run.stderr
    compaction = run.of_type("compaction")
    assert len(compaction) == 1 and compaction[0]["tokens_before"] == 9000 and compaction[0]["dropped_turns"] == 1
    summary_request, after = glm_server.requests[1], glm_server.requests[2]
    assert "compacted" in summary_request.json["messages"][-1]["content"]
    assert [m["role"] for m in after.json["messages"]] == ["system", "user"]
    assert "the user asked to read README.md" in after.json["messages"][1]["content"]
    assert after.json["messages"][0] == summary_request.json["messages"][0]
    assert run.result["summary"] == "README says demo."

    transcript = [json.loads(line) for line in Path(run.result["transcript_path"]).read_text().splitlines()]
    assert any(r["kind"] == "reset" for r in transcript)
    from glmcode.engine.transcript import read_session

    record = read_session(repo, run.result["session_id"])
    assert [m["role"] for m in record.messages] == ["system", "user", "assistant"]


def test_prompt_from_stdin(glm_server, run_glmcode, repo: Path):
    glm_server.script([ScriptedTurn(content="4"), ScriptedTurn(content="5")])
    piped = run_glmcode("run", cwd=repo, input="what is 2+2?\n")
    dashed = run_glmcode("run", "-", cwd=repo, input="and 2+3?")
    assert piped.returncode == 0 and dashed.returncode == 0
    assert [r.json["messages"][-1]["content"] for r in glm_server.requests] == ["what is 2+2?", "and 2+3?"]
    empty = run_glmcode("run", cwd=repo, input="")
    assert empty.returncode == 2 and "no prompt" in empty.stderr

"""The agent loop in-process against the scripted GLM server: requests, retries, tool errors, limits.

Moved from the end-to-end suite (which runs the real command for exit codes, formats and signals):
the same assertions, on the events a `Session` emits and the requests the server received.
"""

from __future__ import annotations

import json
import subprocess
import time
from itertools import pairwise
from pathlib import Path

import pytest

from glmcode.testing import Fault, ScriptedToolCall, ScriptedTurn
from glmcode.testing.engine import API_KEY, Engine, call, messages_of
from glmcode.testing.repos import make_repo

TOOL_ORDER = [
    "read_file", "write_file", "edit_file", "read_files", "list_files", "search", "run_shell",
    "git_status", "git_diff", "lint", "run_tests", "update_plan", "shell_output", "shell_stop",
]


def test_every_request_extends_the_previous_one_byte_for_byte(glm_server, engine: Engine):
    glm_server.script(
        [ScriptedTurn(reasoning=f"step {i} 思考", tool_calls=[call("list_files")]) for i in range(4)]
        + [ScriptedTurn(content="done")]
    )
    run = engine.run("explore")
    assert run.returncode == 0, run.events
    bodies = [r.body for r in glm_server.requests]
    assert len(bodies) == 5
    for earlier, later in pairwise(bodies):
        assert earlier.endswith(b"]}")
        assert later.startswith(earlier[:-2] + b","), "a request rewrote an earlier part of the conversation"
    assert run.result["cached_share"] > 0.5
    assert run.result["usage"]["cached_tokens"] > 0
    assert len({r.client_port for r in glm_server.requests}) == 1, "each turn must reuse the kept-alive connection"
    first = glm_server.requests[0].json
    assert first["thinking"] == {"type": "enabled", "clear_thinking": False}
    assert first["tool_stream"] is True and first["stream"] is True
    assert [t["function"]["name"] for t in first["tools"]] == TOOL_ORDER


def test_retries_rate_limits_drops_and_garbled_streams(glm_server, engine: Engine):
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
    run = engine.run("hi", retry_attempts=7)
    assert run.returncode == 0, run.events
    retries = run.of_type("retry")
    assert [r["attempt"] for r in retries] == [1, 2, 3, 4, 5, 6]
    assert "1302" in retries[0]["reason"] and retries[0]["wait_s"] == 0.05
    assert "1305" in retries[3]["reason"] and "1312" in retries[4]["reason"]
    assert "network_error" in retries[5]["reason"]
    assert run.result["summary"] == "all good"
    assert len(glm_server.requests) == 7


def test_retries_give_up_after_the_attempt_limit(glm_server, engine: Engine):
    glm_server.script([ScriptedTurn(content="never", faults=[Fault(kind="http_error", status=500)] * 6)])
    run = engine.run("hi")
    assert run.returncode == 3
    assert len(glm_server.requests) == 6
    assert len(run.of_type("retry")) == 5
    assert run.result["status"] == "error" and "HTTP 500" in run.result["summary"]
    assert run.of_type("error")[0]["kind"] == "api" and run.of_type("error")[0]["message"] == run.result["summary"]


def test_bad_tool_calls_become_tool_errors_and_the_run_goes_on(glm_server, engine: Engine):
    glm_server.script([
        ScriptedTurn(tool_calls=[
            ScriptedToolCall(name="launch_rockets", arguments="{}"),
            ScriptedToolCall(name="read_file", arguments='{"path": "README.md"'),
            ScriptedToolCall(name="read_file", arguments='{"path": 42, "offset": "x"}'),
            ScriptedToolCall(name="read_file", arguments="{}"),
        ]),
        ScriptedTurn(content="recovered"),
    ])
    run = engine.run("hi")
    assert run.returncode == 0, run.events
    results = run.of_type("tool_result")
    assert [r["ok"] for r in results] == [False, False, False, False]
    assert "no tool named 'launch_rockets'" in results[0]["output"] and "read_file" in results[0]["output"]
    assert "JSON" in results[1]["output"]
    assert "path" in results[2]["output"] and "offset" in results[2]["output"]
    assert "path" in results[3]["output"] and "required" in results[3]["output"].lower()
    tool_messages = [m for m in messages_of(glm_server.requests[1]) if m["role"] == "tool"]
    assert len(tool_messages) == 4 and all(m["content"].startswith("Error: ") for m in tool_messages)
    assert run.result["summary"] == "recovered"


def test_empty_answers_are_nudged_once_then_the_run_fails(glm_server, engine: Engine):
    glm_server.script([ScriptedTurn(), ScriptedTurn()])
    run = engine.run("hi")
    assert run.returncode == 1
    assert run.result["status"] == "failed" and "empty" in run.result["summary"]
    nudge = messages_of(glm_server.requests[1])[-1]
    assert nudge["role"] == "user" and "empty" in nudge["content"]


def test_answer_cut_by_length_is_continued(glm_server, engine: Engine):
    glm_server.script([ScriptedTurn(content="The first half", finish_reason="length"), ScriptedTurn(content=" and the rest.")])
    run = engine.run("write")
    assert run.returncode == 0, run.events
    assert run.result["summary"] == "and the rest."
    assert "cut off" in messages_of(glm_server.requests[1])[-1]["content"]


def test_tool_call_cut_by_length_is_reported_not_run(glm_server, engine: Engine, repo: Path):
    glm_server.script([
        ScriptedTurn(tool_calls=[ScriptedToolCall(name="write_file", arguments='{"path": "big.txt", "content": "aaa')], finish_reason="length"),
        ScriptedTurn(content="ok"),
    ])
    run = engine.run("write", permission_mode="full-auto")
    assert run.returncode == 0, run.events
    result = run.of_type("tool_result")[0]
    assert not result["ok"] and "output token limit" in result["output"]
    assert not (repo / "big.txt").exists()


def test_raw_xml_tool_call_in_content_is_parsed(glm_server, engine: Engine):
    glm_server.script([
        ScriptedTurn(content="Reading.<tool_call>read_file<arg_key>path</arg_key><arg_value>README.md</arg_value><arg_key>limit</arg_key><arg_value>5</arg_value></tool_call>"),
        ScriptedTurn(content="read it"),
    ])
    run = engine.run("read")
    assert run.returncode == 0, run.events
    assert run.of_type("tool_call")[0]["arguments"] == {"path": "README.md", "limit": 5}
    assert "# demo" in run.of_type("tool_result")[0]["output"]
    sent_back = messages_of(glm_server.requests[1])[-2]
    assert sent_back["content"] == "Reading." and sent_back["tool_calls"][0]["function"]["name"] == "read_file"


def test_transcript_is_written_and_never_holds_the_api_key(glm_server, engine: Engine, repo: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("GLMCODE_API_KEY", API_KEY)  # as `glmcode run` has it: the shell must not pass it on
    glm_server.script([
        ScriptedTurn(tool_calls=[call("run_shell", command="env; echo key=$GLMCODE_API_KEY")]),
        ScriptedTurn(content="done"),
    ])
    run = engine.run("show env", permission_mode="full-auto")
    assert run.returncode == 0, run.events
    assert run.of_type("tool_result")[0]["ok"] and "key=" in run.of_type("tool_result")[0]["output"]
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


def test_permission_modes_refuse_with_a_clear_tool_error(glm_server, engine: Engine, repo: Path):
    turns = [
        ScriptedTurn(tool_calls=[call("run_shell", command="touch made-by-shell"), call("write_file", path="new.txt", content="x")]),
        ScriptedTurn(content="could not"),
    ]
    glm_server.script(turns)
    asked = engine.run("do it")
    shell, write = asked.of_type("tool_result")
    assert not shell["ok"] and "approval" in shell["output"] and "--yes" in shell["output"]
    assert not write["ok"] and shell["summary"] == write["summary"] == "refused"
    assert [e["title"] for e in asked.of_type("tool_call")] == ["run_shell touch made-by-shell", "write_file new.txt"]
    assert not (repo / "made-by-shell").exists() and not (repo / "new.txt").exists()
    assert asked.result["refused_calls"] == 2, "DESIGN §3: the result says how many calls were refused"
    assert (asked.result["status"], asked.result["exit_code"]) == ("failed", 1), "a run whose every edit was refused did not do its task"
    assert asked.result["summary"].startswith("nothing was changed: the model tried 1 file edit and it was refused (refused: write_file needs")
    assert asked.result["summary"].endswith("; the model's answer: could not")

    glm_server.script(turns)
    read_only = engine.run("do it", permission_mode="read-only")
    assert all("read-only" in r["output"] for r in read_only.of_type("tool_result"))
    assert read_only.result["refused_calls"] == 2
    assert read_only.result["status"] == "success", "read-only mode: the user asked for no changes, refusals are not a failure"

    glm_server.script(turns)
    auto_edit = engine.run("do it", permission_mode="auto-edit")
    shell, write = auto_edit.of_type("tool_result")
    assert not shell["ok"] and write["ok"] and (repo / "new.txt").read_text() == "x"
    assert auto_edit.result["refused_calls"] == 1, "counted per run, not per session"
    assert auto_edit.result["status"] == "success", "an edit went through: a refused command alone does not fail the run"


def test_an_approver_is_asked_through_the_loop_and_its_answer_kept(glm_server, engine: Engine, repo: Path):
    asked: list[tuple[str, str]] = []

    def approver(tool: str, description: str, args: object) -> str:
        asked.append((tool, description))
        return "always" if tool == "run_shell" else "deny"

    glm_server.script([
        ScriptedTurn(tool_calls=[call("run_shell", command="touch one"), call("run_shell", command="touch two")]),
        ScriptedTurn(tool_calls=[call("write_file", path="new.txt", content="x")]),
        ScriptedTurn(content="done"),
    ])
    run = engine.run("do it", approver=approver)
    assert [tool for tool, _ in asked] == ["run_shell", "write_file"], "'always' must not ask again for the same tool"
    assert "touch one" in asked[0][1] and "new.txt" in asked[1][1]
    assert (repo / "one").exists() and (repo / "two").exists()
    results = run.of_type("tool_result")
    assert [r["ok"] for r in results] == [True, True, False] and "denied" in results[2]["output"]
    assert not (repo / "new.txt").exists()


def test_agent_md_rules_are_enforced(glm_server, engine: Engine, tmp_path: Path):
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
    run = engine.run("go", root=repo, permission_mode="full-auto")
    edit, commit, tests = run.of_type("tool_result")
    assert not edit["ok"] and "Do not modify `migrations/**`" in edit["output"] and edit["summary"] == "refused"
    assert not commit["ok"] and "Do not commit" in commit["output"] and commit["summary"] == "refused"
    assert tests["ok"] and "tests ran ok" in tests["output"]
    assert (repo / "migrations/0001.sql").read_text() == "create table t();\n"
    system = messages_of(glm_server.requests[0])[0]["content"]
    assert "Do not modify `migrations/**`" in system and "tests ran ok" in system


def test_timeout_budget_interrupts_a_long_tool(glm_server, engine: Engine):
    glm_server.script([ScriptedTurn(tool_calls=[call("run_shell", command="sleep 30")]), ScriptedTurn(content="x")])
    started = time.monotonic()
    run = engine.run("wait", permission_mode="full-auto", timeout=1.5)
    assert run.returncode == 4 and run.result["status"] == "budget_exhausted"
    assert "--timeout" in run.result["summary"] and f"--resume {run.session.id}" in run.result["summary"]
    assert time.monotonic() - started < 15


def test_max_turns_and_max_cost_stop_before_the_next_request(glm_server, engine: Engine):
    glm_server.script([ScriptedTurn(tool_calls=[call("list_files")]), ScriptedTurn(tool_calls=[call("list_files")]), ScriptedTurn(content="x")])
    run = engine.run("go", max_turns=2)
    assert run.returncode == 4 and "--max-turns 2" in run.result["summary"] and run.result["turns"] == 2
    assert len(glm_server.requests) == 2

    glm_server.script([ScriptedTurn(tool_calls=[call("list_files")]), ScriptedTurn(content="x")], replace=True)
    priced = engine.run("go", max_cost=1e-9, price_input=1.0, price_output=1.0)
    assert priced.returncode == 4 and "--max-cost" in priced.result["summary"]
    assert priced.result["usage"]["requests"] == 1 and priced.result["usage"]["cost_usd"] > 0


def test_content_filter_and_context_overflow_end_with_exit_3(glm_server, engine: Engine):
    glm_server.script([ScriptedTurn(content="x", faults=[Fault(kind="finish_reason", finish_reason="sensitive")])])
    run = engine.run("hi")
    assert run.returncode == 3 and "content filter" in run.result["summary"]
    assert len(glm_server.requests) == 1


def test_hyperstack_uses_the_api_key_header(glm_server, engine: Engine):
    glm_server.script([ScriptedTurn(content="hi")])
    run = engine.run("hi", provider="hyperstack")
    assert run.returncode == 0, run.events
    headers = glm_server.requests[0].headers
    assert headers["api_key"] == API_KEY and "authorization" not in headers
    assert glm_server.requests[0].json["model"] == "zai-org/GLM-5.2"
    assert "thinking" not in glm_server.requests[0].json


def test_context_near_the_window_is_compacted_and_the_run_goes_on(glm_server, engine: Engine, repo: Path):
    (repo / "NOTES.md").write_text("notes\n")
    glm_server.script([
        ScriptedTurn(tool_calls=[call("read_file", path="README.md")], usage={"prompt_tokens": 4000, "completion_tokens": 10}),
        ScriptedTurn(tool_calls=[call("read_file", path="NOTES.md")], usage={"prompt_tokens": 9000, "completion_tokens": 10}),
        ScriptedTurn(content="Summary: the user asked to read README.md; it says '# demo'. Next: answer."),
        ScriptedTurn(content="README says demo."),
    ])
    run = engine.run("what does the README say?", context_window=10000)
    assert run.returncode == 0, run.events
    compaction = run.of_type("compaction")
    assert len(compaction) == 1 and compaction[0]["tokens_before"] > 9000 and compaction[0]["dropped_turns"] == 1
    summary_request, after = glm_server.requests[2], glm_server.requests[3]
    assert summary_request.json["messages"][-1]["role"] == "tool", "the summary request stays inside the tool loop"
    assert "[glmcode: compaction]" in summary_request.json["messages"][-1]["content"]
    # the summary request had no room for NOTES.md's result (the system prompt fills the window):
    # that turn is kept, so the model reads it
    assert [m["role"] for m in after.json["messages"]] == ["system", "user", "assistant", "tool"]
    assert "notes" in after.json["messages"][-1]["content"]
    assert "the user asked to read README.md" in after.json["messages"][1]["content"]
    assert "what does the README say?" in after.json["messages"][1]["content"]
    assert after.json["messages"][0] == summary_request.json["messages"][0]
    assert run.result["summary"] == "README says demo."

    transcript = [json.loads(line) for line in Path(run.result["transcript_path"]).read_text().splitlines()]
    assert [r["kind"] for r in transcript].count("compaction") == 1
    from glmcode.engine.transcript import read_session

    record = read_session(repo, run.result["session_id"])
    assert [m["role"] for m in record.messages] == ["system", "user", "assistant", "tool", "assistant"]
    assert record.first_prompt == "what does the README say?"

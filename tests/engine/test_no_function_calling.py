"""A host without function calling is offered no tools, and a call it makes anyway is never run."""

from __future__ import annotations

from pathlib import Path

from glmcode.testing import ScriptedTurn
from glmcode.testing.engine import Engine, call


def test_a_tool_call_from_a_host_offered_no_tools_is_never_run(glm_server, engine: Engine, repo: Path):
    glm_server.script([
        ScriptedTurn(content="Writing it now.", tool_calls=[call("write_file", path="n.txt", content="x\n")], tool_calls_as_text=True),
    ])
    run = engine.run("write n.txt", provider="nvidia", permission_mode="full-auto")
    assert "tools" not in glm_server.requests[0].json, "no tools are offered to a host without function calling"
    assert not (repo / "n.txt").exists(), "a call the host was never offered tools for was run"
    errors = run.of_type("error")
    assert any(e["kind"] == "tools_unavailable" and "write_file" in e["message"] for e in errors), errors
    assert not run.of_type("tool_call")


def test_a_reply_that_was_only_calls_fails_with_the_cause_not_an_empty_answer_nudge(glm_server, engine: Engine, repo: Path):
    glm_server.script([ScriptedTurn(tool_calls=[call("write_file", path="n.txt", content="x\n")], tool_calls_as_text=True)])
    run = engine.run("write n.txt", provider="nvidia", permission_mode="full-auto")
    assert run.returncode == 1 and run.result["status"] == "failed"
    assert "offered no tools" in run.result["summary"] and "write_file" in run.result["summary"]
    assert len(glm_server.requests) == 1, "no nudge asking for tools the host cannot run"
    assert not (repo / "n.txt").exists()

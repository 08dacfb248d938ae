"""`Session` as front ends hold it: pure construction, `start()`, and the methods the TUI calls."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

from glmcode import prompts
from glmcode.engine.events import Event
from glmcode.engine.session import Session
from glmcode.model.client import GLMClient
from glmcode.testing import ScriptedTurn
from glmcode.testing.engine import Engine, EventLog, call, messages_of


def test_building_a_session_does_no_io(glm_server, engine: Engine, tmp_path: Path):
    built: list[object] = []

    def factory(config, on_retry) -> GLMClient:
        built.append(config)
        return GLMClient(config, on_retry)

    workspace = tmp_path / "not-created-yet"
    log = EventLog()
    session = Session(engine.config(), workspace, log, client_factory=factory)
    assert not workspace.exists(), "building a session must not touch the workspace"
    assert log.events == [] and glm_server.requests == []
    assert len(built) == 1 and session.agent.client.config is built[0]
    assert session.transcript is None and not session.started
    assert session.needs_prompt
    session.close()


def test_start_does_the_io_once(glm_server, engine: Engine, repo: Path):
    session, log = engine.session()
    session.start()
    session.start()
    assert log.types == ["session_start"] and log.events[0]["resumed"] is False
    lines = [json.loads(line) for line in session.transcript.path.read_text().splitlines()]
    assert [r["kind"] for r in lines] == ["session", "message", "event"]
    assert lines[1]["message"]["role"] == "system"
    assert glm_server.requests == []
    session.close()


def test_interrupt_from_another_thread_stops_a_running_tool_and_resume_goes_on(glm_server, engine: Engine):
    glm_server.script([
        ScriptedTurn(tool_calls=[call("run_shell", command="sleep 30")]),
        ScriptedTurn(content="finished after resume"),
    ])
    holder: dict[str, Session] = {}

    def interrupt_soon(event: Event) -> None:
        if event.type == "tool_call":
            threading.Timer(0.5, holder["session"].interrupt).start()

    session, log = engine.session(emit=interrupt_soon, permission_mode="full-auto")
    holder["session"] = session
    started = time.monotonic()
    result = session.run("wait")
    session.close()
    assert result.exit_code == 130 and log.result["status"] == "interrupted"
    assert time.monotonic() - started < 10, "the sleeping shell command was not killed"
    assert log.types[-1] == "result" and f"--resume {session.id}" in result.summary

    resumed = engine.resume(session.id)
    assert resumed.returncode == 0 and resumed.result["summary"] == "finished after resume"
    tool_message = messages_of(glm_server.requests[-1])[-1]
    assert tool_message["role"] == "tool" and tool_message["tool_call_id"] == log.of_type("tool_call")[0]["id"]


def test_compact_summarises_on_demand(glm_server, engine: Engine):
    session, log = engine.session()
    assert session.compact() is False and glm_server.requests == []
    glm_server.script([ScriptedTurn(content="an answer"), ScriptedTurn(content="Summary: asked, answered."), ScriptedTurn(content="again")])
    session.run("a question")
    assert session.compact() is True
    assert log.of_type("compaction")[0]["dropped_turns"] == 1
    session.run("more")
    session.close()
    assert [m["role"] for m in messages_of(glm_server.requests[-1])] == ["system", "user", "user"]
    assert "Summary: asked, answered." in messages_of(glm_server.requests[-1])[1]["content"]
    assert "a question" in messages_of(glm_server.requests[-1])[1]["content"], "the task is kept"
    summary_request = messages_of(glm_server.requests[1])
    assert [m["role"] for m in summary_request[-2:]] == ["assistant", "user"], "asked after the final answer"
    assert summary_request[-1]["content"] == prompts.load("compact.md")


def test_diff_shows_uncommitted_changes_or_says_why_not(engine: Engine, repo: Path, tmp_path: Path):
    (repo / "README.md").write_text("# demo\nnew line\n")
    session, _ = engine.session()
    ok, text = session.diff()
    assert ok and "+new line" in text and "README.md" in text
    plain = tmp_path / "plain"
    plain.mkdir()
    outside, _ = engine.session(root=plain)
    ok, text = outside.diff()
    assert not ok and "git" in text


def test_list_paths_sees_the_workspace_as_git_does(engine: Engine, repo: Path):
    (repo / ".gitignore").write_text("build/\n")
    (repo / "build").mkdir()
    (repo / "build" / "out.o").write_text("x")
    (repo / "src").mkdir()
    (repo / "src" / "a.py").write_text("")
    session, _ = engine.session()
    session.start()
    paths = session.list_paths()
    assert ("src", True) in paths and ("src/a.py", False) in paths and ("README.md", False) in paths
    assert not [p for p, _ in paths if p.startswith(("build", ".glmcode", ".git/"))]
    assert len(session.list_paths(limit=2)) == 2
    session.close()


def test_tool_outputs_are_stored_once_and_a_resumed_request_is_byte_identical(glm_server, engine: Engine, repo: Path):
    (repo / "big.txt").write_text("".join(f"line {i} of a file the model reads\n" for i in range(400)))
    glm_server.script([
        ScriptedTurn(tool_calls=[call("read_file", path="big.txt")]),
        ScriptedTurn(tool_calls=[call("read_file", path="missing.txt")]),
        ScriptedTurn(content="read both"),
        ScriptedTurn(content="again"),
    ])
    first = engine.run("read big.txt")
    assert first.returncode == 0
    path = repo / ".glmcode" / "sessions" / f"{first.session.id}.jsonl"
    text = path.read_text(encoding="utf-8")
    assert text.count("line 399 of a file the model reads") == 1  # in the tool_result event only
    records = [json.loads(line) for line in text.splitlines()]
    refs = [r for r in records if r.get("content_from") == "tool_result"]
    assert len(refs) == 2 and refs[1]["prefix"] == "Error: "  # the failed read too
    sent = messages_of(glm_server.requests[2])
    resumed = engine.resume(first.session.id, "once more")
    assert resumed.returncode == 0
    again = messages_of(glm_server.requests[3])
    assert again[: len(sent)] == sent  # the history comes back exactly as it was sent
    assert glm_server.requests[3].body.startswith(glm_server.requests[2].body[:-2])  # byte for byte: the cache still hits

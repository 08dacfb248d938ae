"""Every run ends in exactly one `result`, on every path: faults are injected in-process.

Exit codes (DESIGN.md §3): an unexpected exception inside glmcode is status `error`, exit 70, with
an `error` event of kind `internal` naming it in one line (the traceback goes to the transcript);
API errors stay exit 3; a usage error the session finds is exit 2.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from glmcode.engine import verify
from glmcode.engine.events import Event
from glmcode.testing import ScriptedTurn
from glmcode.testing.engine import Engine, call
from glmcode.testing.goal_scenario import PLAN, REPORT, calc_repo, fix


def records(path: str | Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text().splitlines()]


def test_an_exception_inside_the_loop_ends_in_one_result_with_exit_70(glm_server, engine: Engine):
    def broken_front_end(event: Event) -> None:
        if event.type == "tool_call":
            raise RuntimeError("the renderer broke\non two lines")

    glm_server.script([ScriptedTurn(tool_calls=[call("list_files")]), ScriptedTurn(content="never asked")])
    run = engine.run("go", emit=broken_front_end)

    assert run.returncode == 70
    assert [e["type"] for e in run.events] == ["session_start", "usage", "tool_call", "error", "result"]
    result, error = run.result, run.of_type("error")[0]
    assert result["status"] == "error" and result["exit_code"] == 70
    assert error["kind"] == "internal" and error["message"] == result["summary"]
    assert "\n" not in result["summary"]
    assert result["summary"].startswith("internal error (a bug in glmcode): RuntimeError at ")
    assert "the renderer broke on two lines" in result["summary"]
    saved = records(result["transcript_path"])
    crash = [r for r in saved if r["kind"] == "crash"]
    assert len(crash) == 1 and "RuntimeError: the renderer broke" in crash[0]["traceback"]
    assert saved[-1]["kind"] == "event" and saved[-1]["event"]["type"] == "result"
    assert len(glm_server.requests) == 1


def test_a_fault_in_a_goal_stage_keeps_the_goal_state_and_resume_goes_on(glm_server, engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    repo = calc_repo(tmp_path)
    glm_server.script([*PLAN, *fix("a - b", "a + b"), REPORT])

    def crash(*args: object, **kwargs: object) -> list:
        raise OSError("disk on fire")

    with monkeypatch.context() as patched:
        patched.setattr(verify, "run_commands", crash)
        run = engine.run_goal("make add correct", root=repo, permission_mode="full-auto")
    assert run.returncode == 70 and run.result["status"] == "error"
    assert "OSError" in run.result["summary"] and "disk on fire" in run.result["summary"]
    assert run.of_type("stage")[-1]["name"] == "verify"
    state = json.loads((repo / ".glmcode" / "runs" / run.session.id / "goal.json").read_text())
    assert state["stage"] == "verify"

    resumed = engine.resume(run.session.id, root=repo, permission_mode="full-auto")
    assert resumed.returncode == 0, resumed.events
    assert [e["name"] for e in resumed.of_type("stage")] == ["verify", "report"]
    assert resumed.result["verified"] is True


def test_a_crash_while_restoring_a_transcript_ends_in_one_result(glm_server, engine: Engine, monkeypatch: pytest.MonkeyPatch):
    glm_server.script([ScriptedTurn(content="first answer")])
    first = engine.run("one")

    def crash(self: object, record: object) -> None:  # a bug in the replay (a damaged transcript is a usage error)
        raise KeyError("tool_calls")

    monkeypatch.setattr("glmcode.engine.session.Session._restore", crash)
    session, log = engine.session(resume=first.session.id)
    result = session.run("go on")
    assert result.exit_code == 70 and [e["type"] for e in log.events] == ["error", "result"]
    assert "KeyError" in log.result["summary"] and log.result["session_id"] == first.session.id
    again = session.run("go on")
    assert again.exit_code == 70 and "failed to start earlier" in again.summary
    session.close()
    assert len(glm_server.requests) == 1


def test_a_front_end_that_fails_on_the_error_event_still_gets_the_result(glm_server, engine: Engine):
    def broken(event: Event) -> None:
        if event.type in ("tool_call", "error"):
            raise RuntimeError("broken pipe, say")

    glm_server.script([ScriptedTurn(tool_calls=[call("list_files")])])
    run = engine.run("go", emit=broken)
    assert run.returncode == 70 and run.result["exit_code"] == 70


def test_a_front_end_that_fails_on_the_result_raises_and_the_transcript_keeps_it(glm_server, engine: Engine):
    def broken(event: Event) -> None:
        if event.type == "result":
            raise BrokenPipeError("stdout closed")

    glm_server.script([ScriptedTurn(content="hi")])
    session, _ = engine.session(emit=broken)
    with pytest.raises(BrokenPipeError):
        session.run("hi")
    session.close()
    saved = records(session.transcript.path)
    assert [r["event"]["status"] for r in saved if r["kind"] == "event" and r["event"]["type"] == "result"] == ["success"]


def test_resuming_a_finished_session_without_a_prompt_is_a_usage_error_that_writes_nothing(glm_server, engine: Engine):
    glm_server.script([ScriptedTurn(content="first answer"), ScriptedTurn(content="second answer")])
    first = engine.run("one")
    transcript = Path(first.result["transcript_path"])
    before = transcript.read_bytes()

    again = engine.resume(first.session.id)
    assert again.returncode == 2 and [e["type"] for e in again.events] == ["error", "result"]
    assert again.result["status"] == "error" and again.of_type("error")[0]["kind"] == "usage"
    assert "already finished; give a new instruction" in again.result["summary"]
    assert again.result["transcript_path"] == str(transcript)
    assert transcript.read_bytes() == before and len(glm_server.requests) == 1

    follow = engine.resume(first.session.id, "and now two")
    assert follow.returncode == 0 and follow.result["summary"] == "second answer"
    assert [m["role"] for m in glm_server.requests[-1].json["messages"]] == ["system", "user", "assistant", "user"]


def test_a_new_session_without_a_prompt_is_a_usage_error(glm_server, engine: Engine, repo: Path):
    run = engine.run(None)
    assert run.returncode == 2 and "nothing to run" in run.result["summary"]
    assert run.result["transcript_path"] is None and not (repo / ".glmcode").exists()
    assert glm_server.requests == []


@pytest.mark.parametrize(
    ("raised", "status", "exit_code", "error_kind"),
    [
        ("ModelGaveUp", "failed", 1, None),
        ("Looping", "failed", 1, None),
        ("BudgetExhausted", "budget_exhausted", 4, None),
        ("APIFailure", "error", 3, "api"),
        ("APIFailure-connection", "error", 3, "connection"),
        ("ConfigError", "error", 2, "usage"),
        ("Interrupted", "interrupted", 130, None),
        ("KeyboardInterrupt", "interrupted", 130, None),
        ("RequestCancelled", "error", 70, "internal"),  # the agent turns a cancel into Interrupted: one escaping is a bug
        ("OSError", "error", 70, "internal"),
        ("ValueError", "error", 70, "internal"),
    ],
)
def test_every_way_a_run_can_end_has_its_status_and_exit_code(
    glm_server, engine: Engine, monkeypatch: pytest.MonkeyPatch, raised: str, status: str, exit_code: int, error_kind: str | None
):
    """DESIGN.md §3, one row per exception class the loop can end with; exit 1 only for `failed`."""
    from glmcode.engine.agent import Agent, Interrupted, Looping, ModelGaveUp
    from glmcode.engine.budget import BudgetExhausted
    from glmcode.errors import ConfigError
    from glmcode.model.client import APIFailure, RequestCancelled

    exceptions: dict[str, BaseException] = {
        "ModelGaveUp": ModelGaveUp("empty answers"),
        "Looping": Looping("read_file returned the same result 5 times"),
        "BudgetExhausted": BudgetExhausted("the turn budget ran out"),
        "APIFailure": APIFailure("busy", retryable=True, status=503),
        "APIFailure-connection": APIFailure("cannot reach http://x/v1: connection refused", retryable=False, kind="connection"),
        "ConfigError": ConfigError("nothing to run"),
        "Interrupted": Interrupted("interrupted by the user"),
        "KeyboardInterrupt": KeyboardInterrupt(),
        "RequestCancelled": RequestCancelled(),
        "OSError": OSError("disk full"),
        "ValueError": ValueError("bad state"),
    }

    def end(self: Agent) -> None:
        raise exceptions[raised]

    monkeypatch.setattr(Agent, "run_until_idle", end)
    run = engine.run("go")
    assert (run.result["status"], run.result["exit_code"], run.returncode) == (status, exit_code, exit_code)
    errors = run.of_type("error")
    assert [e["kind"] for e in errors] == ([error_kind] if error_kind else [])
    if errors:
        assert errors[0]["message"] == run.result["summary"], "the error event and the result say the same one line"
    assert [e["type"] for e in run.events].count("result") == 1

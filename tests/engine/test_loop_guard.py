"""The loop guard, in-process against the scripted server: a repeated identical call is noted, then
stopped; calls whose results differ never count. Plus the guard's own counting, unit by unit."""

from __future__ import annotations

from pathlib import Path

from glmcode.engine.loop_guard import STOP_AT, WARN_AT, LoopGuard, call_key
from glmcode.testing import ScriptedTurn
from glmcode.testing.engine import Engine, call, messages_of


def tool_messages(request) -> list[str]:
    return [m["content"] for m in messages_of(request) if m["role"] == "tool"]


def test_the_same_read_25_times_is_noted_then_stopped(glm_server, engine: Engine, repo: Path):
    (repo / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    glm_server.script([ScriptedTurn(tool_calls=[call("read_file", path="calc.py")]) for _ in range(25)] + [ScriptedTurn(content="done")])
    run = engine.run("fix calc.py")
    assert run.returncode == 1, run.events
    result = run.result
    assert result["status"] == "failed" and "looping" in result["summary"] and "read_file" in result["summary"]
    assert len(glm_server.requests) == STOP_AT, "the run must stop right after the last allowed repetition"
    results = tool_messages(glm_server.requests[-1])
    assert len(results) == STOP_AT - 1
    assert all("loop guard" not in text for text in results[: WARN_AT - 1])
    assert "loop guard" in results[WARN_AT - 1] and f"{WARN_AT} times in a row" in results[WARN_AT - 1]
    assert "another approach" in results[WARN_AT - 1]
    # the stopped call's result is in the transcript: a resume sees a well-formed conversation
    last = run.of_type("tool_result")[-1]
    assert "stopped here" in last["output"] and len(run.of_type("tool_result")) == STOP_AT


def test_calls_whose_results_change_never_count(glm_server, engine: Engine, repo: Path):
    (repo / "counter").write_text("0\n")
    poll = call("run_shell", command="n=$(cat counter); echo $n; echo $((n+1)) > counter")
    glm_server.script([ScriptedTurn(tool_calls=[poll]) for _ in range(12)] + [ScriptedTurn(content="done")])
    run = engine.run("poll", permission_mode="full-auto")
    assert run.returncode == 0, run.result
    assert run.result["status"] == "success"
    assert not any("loop guard" in text for text in tool_messages(glm_server.requests[-1]))


def test_tests_rerun_after_edits_do_not_count(glm_server, engine: Engine, repo: Path):
    (repo / "AGENT.md").write_text("## Commands\n- test: `cat state.txt`\n")
    (repo / "state.txt").write_text("1 failed\n")
    turns = []
    for i in range(6):
        turns.append(ScriptedTurn(tool_calls=[call("run_tests")]))
        turns.append(ScriptedTurn(tool_calls=[call("write_file", path="state.txt", content=f"{i} failed\n")]))
    glm_server.script([*turns, ScriptedTurn(content="done")])
    run = engine.run("fix it", permission_mode="full-auto")
    assert run.returncode == 0, run.result


def test_a_repeated_turn_of_two_calls_is_caught(glm_server, engine: Engine, repo: Path):
    (repo / "a.py").write_text("a = 1\n")
    pair = [call("read_file", path="a.py"), call("list_files")]
    glm_server.script([ScriptedTurn(tool_calls=pair) for _ in range(10)] + [ScriptedTurn(content="done")])
    run = engine.run("look")
    assert run.returncode == 1 and "looping" in run.result["summary"]
    assert len(glm_server.requests) == STOP_AT


def test_a_new_prompt_starts_counting_afresh():
    guard = LoopGuard()
    for _ in range(WARN_AT - 1):
        assert not guard.observe("read_file", '{"path":"a"}', "same", last_in_turn=True).note
    guard.reset()
    assert not guard.observe("read_file", '{"path":"a"}', "same", last_in_turn=True).note


def test_counting_rules():
    guard = LoopGuard()
    verdicts = [guard.observe("read_file", args, "same", last_in_turn=True)
                for args in ('{"path":"a","limit":5}', '{"limit": 5, "path": "a"}', ' {"path":"a","limit":5}')]
    assert [v.repeats for v in verdicts] == [1, 2, 3], "argument order and spacing do not make a call different"
    assert verdicts[-1].note and not verdicts[-1].stop
    assert guard.observe("read_file", '{"path":"a","limit":5}', "changed", last_in_turn=True).repeats == 1
    assert guard.observe("read_file", '{"path":"b","limit":5}', "changed", last_in_turn=True).repeats == 1
    assert call_key("x", "not json ") == call_key("x", " not json")
    stops = [guard.observe("git_status", "{}", "clean", last_in_turn=True) for _ in range(STOP_AT)]
    assert [v.stop for v in stops] == [False] * (STOP_AT - 1) + [True]
    assert "git_status" in guard.stopped_on

"""The loop guard, in-process against the scripted server: a repeated identical call is noted, then
stopped; calls whose results differ never count. Plus the guard's own counting, unit by unit."""

from __future__ import annotations

from pathlib import Path

from glmcode.engine.loop_guard import STOP_AT, WARN_AT, LoopGuard, call_key, comparable
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


def test_a_circle_of_two_reads_is_noted_then_stopped(glm_server, engine: Engine, repo: Path):
    (repo / "a.txt").write_text("a\n")
    (repo / "b.txt").write_text("b\n")
    glm_server.script([ScriptedTurn(tool_calls=[call("read_file", path="a.txt" if i % 2 == 0 else "b.txt")]) for i in range(12)]
                      + [ScriptedTurn(content="done")])
    run = engine.run("look")
    assert run.returncode == 1 and "looping" in run.result["summary"], run.result
    assert "a.txt" in run.result["summary"] and "b.txt" in run.result["summary"]
    assert "limit" not in run.result["summary"], "the calls are shown as the model wrote them"
    assert len(glm_server.requests) == 2 * STOP_AT, "stopped at the fifth whole cycle"
    results = tool_messages(glm_server.requests[-1])
    assert all("loop guard" not in text for text in results[: 2 * WARN_AT - 1])
    assert "loop guard" in results[2 * WARN_AT - 1] and "circle of 2" in results[2 * WARN_AT - 1]


def test_a_circle_of_three_calls_in_one_turn_each_is_stopped(glm_server, engine: Engine, repo: Path):
    for name in "abc":
        (repo / f"{name}.txt").write_text(f"{name}\n")
    glm_server.script([ScriptedTurn(tool_calls=[call("read_file", path=f"{'abc'[i % 3]}.txt")]) for i in range(20)]
                      + [ScriptedTurn(content="done")])
    run = engine.run("look")
    assert run.returncode == 1 and "looping" in run.result["summary"], run.result
    assert len(glm_server.requests) == 3 * STOP_AT


def test_a_circle_whose_results_change_never_counts(glm_server, engine: Engine, repo: Path):
    (repo / "counter").write_text("0\n")
    turns = []
    for _ in range(8):
        turns.append(ScriptedTurn(tool_calls=[call("read_file", path="counter")]))
        turns.append(ScriptedTurn(tool_calls=[call("run_shell", command="echo $(( $(cat counter) + 1 )) > counter")]))
    glm_server.script([*turns, ScriptedTurn(content="done")])
    run = engine.run("count", permission_mode="full-auto")
    assert run.returncode == 0 and run.result["status"] == "success", run.result
    assert not any("loop guard" in text for text in tool_messages(glm_server.requests[-1]))


def test_one_read_spelled_five_ways_is_one_call(glm_server, engine: Engine, repo: Path):
    (repo / "a.txt").write_text("a\n")
    spellings = [dict(path="a.txt"), dict(path="./a.txt"), dict(path="a.txt", offset=1),
                 dict(path=str(repo / "a.txt"), limit=2000), dict(path="sub/../a.txt", limit=1999)]
    glm_server.script([ScriptedTurn(tool_calls=[call("read_file", **args)]) for args in spellings] + [ScriptedTurn(content="done")])
    run = engine.run("look")
    assert run.returncode == 1 and "looping" in run.result["summary"], run.result
    assert len(glm_server.requests) == STOP_AT


def test_a_listing_with_its_default_folder_spelled_out_is_the_same_call(glm_server, engine: Engine, repo: Path):
    spellings = [{}, dict(path="."), dict(path="./"), dict(path=str(repo)), {}]
    glm_server.script([ScriptedTurn(tool_calls=[call("list_files", **args)]) for args in spellings] + [ScriptedTurn(content="done")])
    run = engine.run("look")
    assert run.returncode == 1 and "looping" in run.result["summary"], run.result
    assert len(glm_server.requests) == STOP_AT


def test_windows_of_a_file_that_differ_never_count(glm_server, engine: Engine, repo: Path):
    (repo / "a.txt").write_text("".join(f"line {i}\n" for i in range(20)))
    windows = [dict(path="a.txt", offset=i + 1, limit=2) for i in range(6)] + [dict(path="./a.txt", limit=i + 1) for i in range(6)]
    glm_server.script([ScriptedTurn(tool_calls=[call("read_file", **args)]) for args in windows] + [ScriptedTurn(content="done")])
    run = engine.run("look")
    assert run.returncode == 0 and run.result["status"] == "success", run.result
    assert not any("loop guard" in text for text in tool_messages(glm_server.requests[-1]))


FLAKY_TIMING = 'echo "FAILED test_x.py::test_a - assert 1 == 2"; echo "$(date -u +%Y-%m-%dT%H:%M:%S.%NZ) run"; echo "1 failed in 0.$(date +%N)s"'


def test_tests_rerun_without_an_edit_are_stopped_whatever_their_timing(glm_server, engine: Engine, repo: Path):
    glm_server.script([ScriptedTurn(tool_calls=[call("run_shell", command=FLAKY_TIMING)]) for _ in range(9)] + [ScriptedTurn(content="done")])
    run = engine.run("test", permission_mode="full-auto")
    assert run.returncode == 1 and "looping" in run.result["summary"], run.result
    assert len(glm_server.requests) == STOP_AT
    first, second = tool_messages(glm_server.requests[-1])[:2]
    assert first != second, "the timing really differs between the runs (the test would prove nothing otherwise)"


def test_tests_whose_failures_change_are_never_stopped(glm_server, engine: Engine, repo: Path):
    (repo / "counter").write_text("9\n")
    command = 'n=$(cat counter); echo "$n failed in 0.$(date +%N)s"; echo $((n-1)) > counter'
    glm_server.script([ScriptedTurn(tool_calls=[call("run_shell", command=command)]) for _ in range(9)] + [ScriptedTurn(content="done")])
    run = engine.run("test", permission_mode="full-auto")
    assert run.returncode == 0 and run.result["status"] == "success", run.result


def test_comparable_masks_timing_only():
    runs = [
        ("=== 1 failed, 2 passed in 1.83s (0:00:01) ===", "=== 1 failed, 2 passed in 0.41s (0:00:00) ==="),
        ("Ran 3 tests in 0.001s\n\nFAILED (failures=1)", "Ran 3 tests in 0.013s\n\nFAILED (failures=1)"),
        ("--- FAIL: TestX (0.00s)\nFAIL\texample.com/pkg\t0.003s", "--- FAIL: TestX (0.12s)\nFAIL\texample.com/pkg\t1.203s"),
        ("Tests:       1 failed, 1 total\nTime:        1.234 s", "Tests:       1 failed, 1 total\nTime:        0.9 s"),
        ("test result: FAILED. 1 passed; 1 failed; finished in 0.00s", "test result: FAILED. 1 passed; 1 failed; finished in 2.10s"),
        ("2024-05-01T10:00:00.123Z ERROR boom", "2025-12-31T23:59:59Z ERROR boom"),
        ("0.01s call     test_x.py::test_a", "0.31s call     test_x.py::test_a"),
    ]
    for one, other in runs:
        assert comparable(one) == comparable(other), (one, other)
    assert comparable("1 failed in 1.83s") != comparable("2 failed in 1.83s")
    assert comparable("line 12: error") != comparable("line 13: error")
    assert comparable("bg1 running for 1.0 s") != comparable("bg1 running for 4.0 s"), "a job's own clock is not a test summary"


def test_bound_arguments_compare_as_workspace_paths(tmp_path: Path):
    root = tmp_path / "ws"
    same = [call_key("read_file", args, root) for args in
            ({"path": "a.txt"}, {"path": "./a.txt"}, {"path": str(root / "a.txt")}, {"path": "x/../a.txt", "limit": 10})]
    assert len(set(same)) == 1
    assert call_key("read_file", {"path": "b.txt"}, root) != same[0]
    assert call_key("read_file", {"path": "a.txt", "offset": 3}, root) != same[0]
    assert call_key("read_file", {"path": str(tmp_path / "a.txt")}, root) != same[0], "a path outside stays itself"
    assert call_key("read_files", {"paths": ["./a", str(root / "b")]}, root) == call_key("read_files", {"paths": ["a", "b"]}, root)


def test_polling_a_running_background_command_is_waiting_not_looping(glm_server, engine: Engine, repo: Path):
    polls = STOP_AT + 3
    glm_server.script([
        ScriptedTurn(tool_calls=[call("run_shell", command="sleep 60", background=True)]),
        *[ScriptedTurn(tool_calls=[call("shell_output", id="bg1")]) for _ in range(polls)],
        ScriptedTurn(tool_calls=[call("shell_stop", id="bg1")]),
        ScriptedTurn(content="stopped it"),
    ])
    run = engine.run("start it and watch it", permission_mode="full-auto")
    assert run.returncode == 0, run.result
    outputs = [e["output"] for e in run.of_type("tool_result") if e["name"] == "shell_output"]
    assert len(outputs) == polls and not any("loop guard" in o for o in outputs)


def test_the_note_counts_the_calls_left_in_words_that_agree():
    guard = LoopGuard(warn_at=2, stop_at=4)
    notes = []
    for _ in range(3):
        note = guard.observe("git_status", "{}", "clean", last_in_turn=True).note
        if note:
            notes.append(note)
    assert notes[-1].count("comes back the same 1 more time,") == 1, notes[-1]
    assert "more times" in notes[-2] and "1 more times" not in "".join(notes)


def test_polling_an_ended_command_or_an_unknown_id_is_a_loop(glm_server, engine: Engine, repo: Path):
    for target in ("bg1", "bg9"):
        glm_server.script([
            ScriptedTurn(tool_calls=[call("run_shell", command="true", background=True)]),
            *[ScriptedTurn(tool_calls=[call("shell_output", id=target)]) for _ in range(STOP_AT + 5)],
            ScriptedTurn(content="done"),
        ])
        run = engine.run("watch it", permission_mode="full-auto")
        assert run.returncode == 1 and "looping" in run.result["summary"], (target, run.result)

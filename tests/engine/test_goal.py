"""Goal mode in-process: plan → implement → verify → report against the scripted GLM server."""

from __future__ import annotations

import json
import threading
import time
from itertools import pairwise
from pathlib import Path

from glmcode.testing import ScriptedTurn
from glmcode.testing.engine import Engine, call
from glmcode.testing.goal_scenario import AGENT_MD, CHECK, PLAN, REPORT, calc_repo, fix
from glmcode.testing.repos import make_repo


def stages(run) -> list[tuple[str, int]]:
    return [(e["name"], e["round"]) for e in run.of_type("stage")]


def test_goal_fixed_in_the_second_round(glm_server, engine: Engine, tmp_path: Path):
    repo = calc_repo(tmp_path)
    glm_server.script([*PLAN, *fix("a - b", "a * b"), *fix("a * b", "a + b"), REPORT])
    run = engine.run_goal("make add correct", root=repo, permission_mode="full-auto")

    assert run.returncode == 0, run.events
    assert (repo / "calc.py").read_text() == "def add(a, b):\n    return a + b\n"
    assert stages(run) == [("plan", 0), ("implement", 0), ("verify", 0), ("implement", 1), ("verify", 1), ("report", 1)]
    verifies = run.of_type("verify")
    assert [(v["command"], v["passed"], v["exit_code"]) for v in verifies] == [("python check.py", False, 1), ("python check.py", True, 0)]
    assert "add(2, 3) returned 6" in verifies[0]["output"]
    assert run.of_type("plan")[0]["steps"] == [{"step": "Fix add", "status": "pending"}]
    assert run.of_type("plan")[0]["explanation"] == "python check.py"

    result = run.result
    assert result["status"] == "success" and result["verified"] is True and result["rounds"] == 1
    assert result["summary"] == "the verify command passed after 1 fix round"
    report = Path(result["report_path"])
    assert report == repo / ".glmcode" / "runs" / result["session_id"] / "report.md"
    text = report.read_text()
    assert "calc.py: add now adds." in text and "PASS command `python check.py` exited 0" in text
    assert "- [ ] Fix add" in text.split("Plan as last updated")[1]
    assert "calc.py" in text.split("Diff stat")[1]

    fix_message = [m for m in glm_server.requests[6].json["messages"] if m["role"] == "user"][-1]["content"]
    assert "FAIL command `python check.py` exited 1" in fix_message and "add(2, 3) returned 6" in fix_message
    bodies = [r.body for r in glm_server.requests]
    for earlier, later in pairwise(bodies):
        assert later.startswith(earlier[:-2] + b","), "a goal stage rewrote the conversation prefix"
    assert result["cached_share"] > 0.5
    state = json.loads((report.parent / "goal.json").read_text())
    assert state["stage"] == "done" and len(state["history"]) == 2
    assert state["plan_explanation"] == "python check.py"


def test_goal_that_never_passes_exits_1_with_a_failing_report(glm_server, engine: Engine, tmp_path: Path):
    repo = calc_repo(tmp_path)
    glm_server.script([*PLAN, *fix("a - b", "a * b"), ScriptedTurn(content="I could not fix it."), ScriptedTurn(content="## Verification\nStill failing.")])
    run = engine.run_goal("make add correct", root=repo, permission_mode="full-auto", max_fix_rounds=1)

    assert run.returncode == 1, run.events
    result = run.result
    assert result["status"] == "failed" and result["verified"] is False
    assert "`python check.py` (exit 1)" in result["summary"]
    assert [v["passed"] for v in run.of_type("verify")] == [False, False]
    report = Path(result["report_path"]).read_text()
    assert "FAIL command `python check.py` exited 1" in report
    report_prompt = glm_server.requests[-1].json["messages"][-1]["content"]
    assert "Verification still failed after 1 fix round (the limit" in report_prompt


def test_plan_stage_refuses_edits(glm_server, engine: Engine, tmp_path: Path):
    repo = calc_repo(tmp_path)
    glm_server.script([
        ScriptedTurn(tool_calls=[call("edit_file", path="calc.py", old_string="a - b", new_string="a + b"), call("run_shell", command="git log --oneline")]),
        *PLAN[1:], *fix("a - b", "a + b"), REPORT,
    ])
    run = engine.run_goal("make add correct", root=repo, permission_mode="full-auto")
    edit, log = run.of_type("tool_result")[:2]
    assert not edit["ok"] and "plan stage is read-only" in edit["output"]
    assert log["ok"] and "init" in log["output"], "read-only shell commands may run while planning"
    assert run.returncode == 0 and (repo / "calc.py").read_text().endswith("a + b\n")


def test_budget_stop_then_resume_continues_from_the_stage(glm_server, engine: Engine, tmp_path: Path):
    repo = calc_repo(tmp_path)
    glm_server.script([*PLAN, *fix("a - b", "a + b"), REPORT])
    first = engine.run_goal("make add correct", root=repo, permission_mode="full-auto", max_turns=4)
    assert first.returncode == 4 and first.result["status"] == "budget_exhausted"
    session_id = first.result["session_id"]
    state = json.loads((repo / ".glmcode" / "runs" / session_id / "goal.json").read_text())
    assert state["stage"] == "implement" and state["stage_started"] is True
    assert state["plan"] == [{"step": "Fix add", "status": "pending"}]

    second = engine.resume(session_id, root=repo, permission_mode="full-auto")
    assert second.returncode == 0, second.events
    assert stages(second) == [("implement", 0), ("verify", 0), ("report", 0)]
    user_messages = [m["content"] for m in glm_server.requests[-1].json["messages"] if m["role"] == "user"]
    assert sum("Stage 1 of 4: plan" in m for m in user_messages) == 1
    assert sum("Stage 2 of 4: implement" in m for m in user_messages) == 1
    assert second.result["verified"] is True


def test_resumed_goal_nobody_can_approve_is_a_usage_error_before_anything_is_written(glm_server, engine: Engine, tmp_path: Path):
    repo = calc_repo(tmp_path)
    glm_server.script([*PLAN, *fix("a - b", "a + b"), REPORT])
    first = engine.run_goal("make add correct", root=repo, permission_mode="full-auto", max_turns=4)
    transcript = Path(first.result["transcript_path"]).read_bytes()
    requests = len(glm_server.requests)

    refused = engine.resume(first.result["session_id"], root=repo)
    assert refused.returncode == 2 and refused.result["status"] == "error"
    assert [e["type"] for e in refused.events] == ["error", "result"]
    assert "--yes" in refused.result["summary"] and "auto-edit" in refused.result["summary"]
    assert len(glm_server.requests) == requests and Path(first.result["transcript_path"]).read_bytes() == transcript


def test_constraint_broken_through_the_shell_is_caught_and_fed_back(glm_server, engine: Engine, tmp_path: Path):
    repo = calc_repo(tmp_path, AGENT_MD + "\n## Constraints\n- Do not modify `check.py`\n")
    glm_server.script([
        *PLAN,
        ScriptedTurn(tool_calls=[call("run_shell", command="echo 'import sys; sys.exit(0)' > check.py")]),
        ScriptedTurn(content="Made the check pass."),
        ScriptedTurn(tool_calls=[call("run_shell", command="git checkout -- check.py")]),
        *fix("a - b", "a + b"),
        REPORT,
    ])
    run = engine.run_goal("make add correct", root=repo, permission_mode="full-auto")
    constraints = [v for v in run.of_type("verify") if v["kind"] == "constraint"]
    assert [(c["rule"], c["passed"]) for c in constraints] == [("Do not modify `check.py`", False), ("Do not modify `check.py`", True)]
    assert "check.py" in constraints[0]["output"]
    fix_message = [m for m in glm_server.requests[5].json["messages"] if m["role"] == "user"][-1]["content"]
    assert "FAIL constraint “Do not modify `check.py`”" in fix_message
    assert run.returncode == 0 and run.result["rounds"] == 1
    assert (repo / "check.py").read_text() == CHECK


def test_goal_without_verify_commands_says_nothing_was_verified(glm_server, engine: Engine, tmp_path: Path):
    repo = make_repo(tmp_path / "bare", {"notes.txt": "a\n"})
    glm_server.script([
        ScriptedTurn(tool_calls=[call("update_plan", steps=[{"step": "append b", "status": "pending"}])]),
        ScriptedTurn(content="plan ready"),
        ScriptedTurn(tool_calls=[call("edit_file", path="notes.txt", old_string="a\n", new_string="a\nb\n")]),
        ScriptedTurn(content="done"),
        ScriptedTurn(content="## Verification\nNothing was verified."),
    ])
    run = engine.run_goal("append b", root=repo, permission_mode="full-auto")
    assert run.returncode == 0, run.events
    assert run.result["verified"] is False and run.result["summary"].startswith("not verified")
    assert run.of_type("verify") == []
    assert "nothing was verified" in Path(run.result["report_path"]).read_text()
    assert "No verify command was declared" in glm_server.requests[-1].json["messages"][-1]["content"]


def test_goal_whose_every_edit_was_refused_fails_and_says_so(glm_server, engine: Engine, tmp_path: Path):
    repo = make_repo(tmp_path / "ruled", {"AGENT.md": "# Rules\n\n## Constraints\n- Do not modify `notes.txt`\n", "notes.txt": "a\n"})
    edit = call("edit_file", path="notes.txt", old_string="a\n", new_string="a\nb\n")
    glm_server.script([
        ScriptedTurn(tool_calls=[edit]),  # refused by the plan stage: the harness's rule, not counted
        ScriptedTurn(tool_calls=[call("update_plan", steps=[{"step": "append b", "status": "pending"}])]),
        ScriptedTurn(content="plan ready"),
        ScriptedTurn(tool_calls=[edit]),  # refused by AGENT.md
        ScriptedTurn(content="could not append"),
        ScriptedTurn(content="## Verification\nNothing changed."),
    ])
    run = engine.run_goal("append b", root=repo, permission_mode="full-auto")
    assert run.returncode == 1, run.events
    assert [r["summary"] for r in run.of_type("tool_result") if r["name"] == "edit_file"] == ["refused", "refused"]
    summary = run.result["summary"]
    assert summary.startswith("not verified (no verify command) and nothing was changed: the model tried 1 file edit and it was refused")
    assert "Do not modify `notes.txt`" in summary and run.result["refused_calls"] == 2
    assert (repo / "notes.txt").read_text() == "a\n"


def test_an_interrupt_during_verify_is_not_a_failed_check_and_resume_verifies_again(glm_server, engine: Engine, tmp_path: Path):
    repo = calc_repo(tmp_path)
    slow = "test -f go || { touch started; sleep 60; }"
    glm_server.script([*PLAN, *fix("a - b", "a + b"), REPORT])
    session, log = engine.session(root=repo, permission_mode="full-auto")
    outcome: dict = {}
    worker = threading.Thread(target=lambda: outcome.update(result=session.run_goal("make add correct", [slow])), daemon=True)
    worker.start()
    deadline = time.monotonic() + 30
    while not (repo / "started").exists():
        assert time.monotonic() < deadline and worker.is_alive(), log.types
        time.sleep(0.02)
    session.interrupt()
    worker.join(30)
    session.close()
    result = outcome["result"]
    assert (result.status, result.exit_code) == ("interrupted", 130)
    assert [v["passed"] for v in log.of_type("verify")] == [], "a killed verify command is not a failed check"
    state = json.loads((repo / ".glmcode" / "runs" / result.session_id / "goal.json").read_text())
    assert state["stage"] == "verify" and state["history"] == [] and state["round"] == 0

    (repo / "go").write_text("")
    resumed = engine.resume(result.session_id, root=repo, permission_mode="full-auto")
    assert resumed.returncode == 0, resumed.events
    assert [(v["command"], v["passed"]) for v in resumed.of_type("verify")] == [("python check.py", True), (slow, True)]

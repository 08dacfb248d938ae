"""Compaction and context overflow against the scripted server, which enforces a window.

The server counts a request's tokens as its body bytes / 4 and, with `context_window` set,
refuses longer ones the way a host does; `answer_summaries` answers every compaction summary
request whenever it comes, so the scripted queue holds only the real turns.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from glmcode import prompts
from glmcode.testing import ScriptedTurn
from glmcode.testing.engine import Engine, answer_summaries, call, is_summary_request, messages_of
from glmcode.testing.glm_http import RecordedRequest
from glmcode.testing.glm_script import OVERFLOWS, Fault
from glmcode.testing.goal_scenario import calc_repo
from glmcode.testing.repos import make_repo


def tokens(request: RecordedRequest) -> int:
    """The request's size as the scripted server counts it."""
    return len(request.body) // 4


def well_formed(messages: list[dict[str, Any]]) -> None:
    """The history a provider accepts: the system prompt first, each tool call answered right
    after it, no tool result without its call, no `user` message inside a tool loop."""
    assert messages[0]["role"] == "system", [m["role"] for m in messages]
    open_calls: list[str] = []
    for message in messages[1:]:
        role = message["role"]
        assert role != "system"
        if role == "tool":
            assert message["tool_call_id"] in open_calls, "a tool result without its call"
            open_calls.remove(message["tool_call_id"])
            continue
        assert not open_calls, f"a {role} message inside a tool loop (calls {open_calls} unanswered)"
        if role == "assistant":
            open_calls = [c["id"] for c in message.get("tool_calls") or ()]


def real_requests(server) -> list[RecordedRequest]:
    return [r for r in server.requests if not is_summary_request(r.json)]


# -- the headline: a long goal in a small window ------------------------------------------------

STEPS = ["Read calc.py and check.py", "Survey the other modules", "Fix add", "Re-check everything"]


def plan(statuses: list[str]) -> ScriptedTurn:
    return ScriptedTurn(chunk_chars=1000, tool_calls=[call("update_plan", steps=[{"step": s, "status": st} for s, st in zip(STEPS, statuses, strict=True)], explanation="python check.py")])


def test_a_200_turn_goal_in_an_8000_token_window_finishes_verified(glm_server, engine: Engine, tmp_path: Path):
    modules = {f"mod{i}.py": f"def f{i}(x):\n    return x + {i}\n" * 3 for i in range(8)}
    repo = calc_repo(tmp_path, **modules)
    work = []
    for i in range(200):
        if i == 10:
            work.append(plan(["completed", "in_progress", "pending", "pending"]))
        elif i == 120:
            work.append(plan(["completed", "completed", "in_progress", "pending"]))
        elif i == 121:
            work.append(ScriptedTurn(chunk_chars=1000, tool_calls=[call("edit_file", path="calc.py", old_string="a - b", new_string="a + b")]))
        elif i == 190:
            work.append(plan(["completed", "completed", "completed", "in_progress"]))
        else:
            path = ["calc.py", "check.py", *modules][i % 10]
            work.append(ScriptedTurn(reasoning=f"Step {i}: look at {path}.", chunk_chars=1000, tool_calls=[call("read_file", path=path)]))
    glm_server.script([
        ScriptedTurn(tool_calls=[call("read_file", path="calc.py")]),
        plan(["pending"] * 4),
        ScriptedTurn(content="Plan: survey, fix add, re-check."),
        *work,
        plan(["completed"] * 4),
        ScriptedTurn(content="Changed add; everything re-checked."),
        ScriptedTurn(content="## What changed\n- calc.py: add adds."),
    ])
    glm_server.context_window = 8000
    glm_server.side_answers = answer_summaries("Summary: surveyed the modules; add subtracted and was fixed.")

    run = engine.run_goal("make add correct", root=repo, permission_mode="full-auto", context_window=8000)

    assert run.returncode == 0, run.result
    assert run.result["verified"] is True
    assert glm_server.remaining == 0
    assert (repo / "calc.py").read_text() == "def add(a, b):\n    return a + b\n"
    assert run.result["turns"] >= 200
    compactions = run.of_type("compaction")
    assert len(compactions) >= 3, "a 200-turn goal in 8,000 tokens needs several compactions"
    assert all(c["dropped_turns"] >= 1 for c in compactions)
    assert not run.of_type("error"), "no request was refused: every one was measured before it was sent"
    assert max(tokens(r) for r in glm_server.requests) <= 8000
    assert all("overflow" not in r.outcome for r in glm_server.requests)

    first, last = glm_server.requests[0].json["messages"], real_requests(glm_server)[-1].json["messages"]
    assert last[0] == first[0], "the system prompt survives every compaction byte for byte"
    well_formed(last)
    context = last[1]["content"]
    assert "make add correct" in context
    for step in STEPS:
        assert step in context, f"the plan step {step!r} is not in the last request"
    assert "Stage: implement" in context and "[x] Read calc.py and check.py" in context
    for request in real_requests(glm_server):
        well_formed(request.json["messages"])

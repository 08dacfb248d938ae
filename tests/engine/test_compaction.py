"""Compaction and context overflow against the scripted server, which enforces a window.

The server counts a request's tokens as its body bytes / 4 and, with `context_window` set,
refuses longer ones the way a host does; `answer_summaries` answers every compaction summary
request whenever it comes, so the scripted queue holds only the real turns.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from glmcode import prompts
from glmcode.model.turn import AssistantTurn
from glmcode.testing import ScriptedTurn
from glmcode.testing.engine import Engine, answer_summaries, call, is_summary_request
from glmcode.testing.glm_http import RecordedRequest
from glmcode.testing.glm_script import OVERFLOWS, Fault
from glmcode.testing.goal_scenario import calc_repo


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
    steps = [{"step": step, "status": status} for step, status in zip(STEPS, statuses, strict=True)]
    return ScriptedTurn(chunk_chars=1000, tool_calls=[call("update_plan", steps=steps, explanation="python check.py")])


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
    assert re.search(r"Stage: (implement|verify|report)", context), "the goal's stage is kept"
    assert "[x] Read calc.py and check.py" in context
    assert re.search(r"[^\n]\n## ", context) is None, "every section of the compacted message starts after a blank line"
    for request in real_requests(glm_server):
        well_formed(request.json["messages"])


def test_the_verify_history_and_the_fix_instruction_survive_a_compaction_in_a_fix_round(glm_server, engine: Engine, tmp_path: Path):
    repo = calc_repo(tmp_path, **{"notes.txt": "a note on the calculator's history\n" * 40})
    reads = [ScriptedTurn(chunk_chars=1000, tool_calls=[call("read_file", path="notes.txt", offset=i + 1)]) for i in range(14)]
    glm_server.script([
        ScriptedTurn(tool_calls=[call("read_file", path="calc.py")]), plan(["pending"] * 4), ScriptedTurn(content="Plan."),
        ScriptedTurn(tool_calls=[call("edit_file", path="calc.py", old_string="a - b", new_string="a * b")]), ScriptedTurn(content="Done."),
        *reads,
        ScriptedTurn(tool_calls=[call("edit_file", path="calc.py", old_string="a * b", new_string="a + b")]), ScriptedTurn(content="Fixed."),
        ScriptedTurn(content="## Report"),
    ])
    glm_server.context_window = 8000
    glm_server.side_answers = answer_summaries()
    run = engine.run_goal("make add correct", root=repo, permission_mode="full-auto", context_window=8000)

    assert run.returncode == 0 and run.result["rounds"] == 1, run.result
    contexts = [r.json["messages"][1]["content"] for r in real_requests(glm_server) if "[glmcode: compaction]" in r.json["messages"][1]["content"]]
    in_fix_round = [c for c in contexts if "Stage: implement, round 1 of at most 3" in c]
    assert len(in_fix_round) >= 2, "the fix round was compacted more than once"
    for context in in_fix_round:
        assert "verify 1: FAIL `python check.py` (exit 1)" in context
        assert "Verification failed (round 1 of at most 3 fix rounds)" in context, "the dropped fix instruction is quoted"
        assert "add(2, 3) returned 6" in context


# -- the example: big tool results in a 16,000-token window ------------------------------

def test_thirty_reads_of_a_26_kb_file_in_a_16000_token_window_never_pass_the_window(glm_server, engine: Engine, repo: Path):
    (repo / "big.py").write_text("".join(f"value_{i:04d} = {i} * 2  # a line of a big module, long enough\n" for i in range(420)))
    assert 25_000 < (repo / "big.py").stat().st_size < 28_000
    glm_server.script([
        *[ScriptedTurn(chunk_chars=1000, tool_calls=[call("read_file", path="big.py", offset=i + 1)]) for i in range(30)],
        ScriptedTurn(content="Read it thirty times."),
    ])
    glm_server.context_window = 16000
    glm_server.side_answers = answer_summaries()
    run = engine.run("read big.py thirty times", context_window=16000, tool_output_share=0.5)  # results of ~24K characters

    assert run.returncode == 0, run.result
    assert run.result["summary"] == "Read it thirty times."
    assert max(tokens(r) for r in glm_server.requests) <= 16000
    assert all("overflow" not in r.outcome for r in glm_server.requests)
    assert run.of_type("compaction")
    for request in glm_server.requests:
        well_formed(request.json["messages"])


# -- context overflow: every host's way of saying it --------------------------------------------

@pytest.mark.parametrize("shape", sorted(OVERFLOWS))
def test_an_overflow_is_compacted_and_retried_not_fatal(glm_server, engine: Engine, repo: Path, shape: str):
    (repo / "big.txt").write_text(("x" * 80 + "\n") * 110)
    glm_server.script([
        *[ScriptedTurn(chunk_chars=1000, tool_calls=[call("read_file", path="big.txt", offset=i + 1)]) for i in range(3)],
        ScriptedTurn(content="done"),
    ])
    glm_server.context_window, glm_server.overflow = 7000, shape  # glmcode believes in the preset's 1M window
    glm_server.side_answers = answer_summaries()
    run = engine.run("read big.txt three times")

    assert run.returncode == 0, run.result
    overflows = [r for r in glm_server.requests if r.outcome == "overflow"]
    assert overflows, "the server refused a request"
    errors = run.of_type("error")
    assert errors and all(e["kind"] == "context_overflow" for e in errors)
    assert run.of_type("compaction")
    assert len(overflows) <= 3, "a refused body is never sent again as it was"
    assert len({r.body for r in overflows}) == len(overflows)
    assert tokens(glm_server.requests[-1]) <= 7000


def test_when_even_a_minimal_request_does_not_fit_the_run_stops_with_exit_3(glm_server, engine: Engine):
    glm_server.script([ScriptedTurn(content="never")])
    glm_server.context_window = 1000  # the tool list alone is bigger
    run = engine.run("hello")
    assert run.returncode == 3
    assert run.result["status"] == "error"
    assert "even a minimal request does not fit" in run.result["summary"]
    assert "the host accepts" in run.result["summary"], "the limit the host showed, not the configured 1M window"
    assert len(glm_server.requests) <= 4


def test_resume_after_an_overflow_compacts_first_instead_of_resending(glm_server, engine: Engine, repo: Path):
    (repo / "big.txt").write_text(("y" * 80 + "\n") * 250)
    glm_server.script([
        ScriptedTurn(tool_calls=[call("read_file", path="README.md")]),  # a turn to summarise
        ScriptedTurn(chunk_chars=1000, tool_calls=[call("read_file", path="big.txt")]),
        ScriptedTurn(content="never"),
    ])
    glm_server.context_window = 9000  # the system prompt and tools take ~5K: room for them, not for big.txt too
    glm_server.side_answers = lambda request: (
        ScriptedTurn(faults=[Fault(kind="http_error", status=400, code="1113", message="Insufficient balance")])
        if is_summary_request(request) else None
    )
    first = engine.run("read big.txt")
    assert first.returncode == 3 and "Insufficient balance" in first.result["summary"]
    refused = [r.body for r in glm_server.requests if r.outcome == "overflow"]
    assert refused

    glm_server.requests.clear()
    glm_server.side_answers = answer_summaries()
    resumed = engine.resume(first.result["session_id"])
    assert resumed.returncode == 0, resumed.result
    assert resumed.result["summary"] == "never"
    assert is_summary_request(glm_server.requests[0].json), "the resumed session compacted first"
    assert all(r.body not in refused for r in glm_server.requests), "the refused body was sent again"


# -- a host that accepts less than the configured window -----------------------------------------

def test_tool_results_are_sized_to_what_the_host_accepts_and_the_newest_is_never_dropped(glm_server, engine: Engine, repo: Path):
    (repo / "big.txt").write_text("".join(f"line {i:04d} {'x' * 25}\n" for i in range(800)))  # 28,800 characters
    seen: list[str] = []

    def look(request: dict[str, Any]) -> ScriptedTurn:
        seen.extend(m["content"] for m in request["messages"] if m["role"] == "tool")
        return ScriptedTurn(content="done")

    glm_server.script([
        ScriptedTurn(tool_calls=[call("run_shell", command="cat big.txt")]),
        ScriptedTurn(tool_calls=[call("run_shell", command="cat big.txt")]),
        look,
    ])
    glm_server.context_window = 9000  # glmcode is told 100,000: its 30,000-character budget is too big
    glm_server.side_answers = answer_summaries()
    run = engine.run("read", context_window=100_000)

    assert run.returncode == 0, run.result
    results = [e["output"] for e in run.of_type("tool_result")]
    assert len(results[0]) > 20_000, "the first result came before the host refused anything"
    assert len(results[1]) < 5_000, "after the refusal the budget follows the limit the host showed"
    for compaction in run.of_type("compaction"):
        assert compaction["turns_kept"] >= 1, "the newest tool result is kept, cut to fit"
    assert any("line 0000" in text and "line 0799" in text for text in seen), "the model read the outputs' head and tail"
    assert all(tokens(r) <= 9000 for r in real_requests(glm_server) if r.outcome != "overflow")


# -- the summary request ------------------------------------------------------------------------

def small_window_run(glm_server, engine: Engine, repo: Path, turns: int = 6, **settings: Any):
    """A run whose history passes the threshold of a 6,000-token window after a few reads."""
    (repo / "mid.txt").write_text(("z" * 60 + "\n") * 40)
    glm_server.script([
        *[ScriptedTurn(chunk_chars=1000, tool_calls=[call("read_file", path="mid.txt", offset=i + 1)]) for i in range(turns)],
        ScriptedTurn(content="finished"),
    ])
    return engine.run("read mid.txt a few times", context_window=6000, **settings)


def test_the_summary_request_puts_its_instruction_in_the_last_tool_result(glm_server, engine: Engine, repo: Path):
    glm_server.side_answers = answer_summaries("Summary: read mid.txt.")
    run = small_window_run(glm_server, engine, repo)
    assert run.returncode == 0, run.result
    summaries = [r for r in glm_server.requests if is_summary_request(r.json)]
    assert summaries
    for request in summaries:
        messages = request.json["messages"]
        well_formed(messages)
        assert messages[-1]["role"] == "tool", "no user message inside the tool loop"
        assert messages[-1]["content"].endswith(prompts.load("compact.md"))
    compaction = next(c for c in run.of_type("compaction") if c["dropped_turns"])
    assert compaction["tokens_after"] < compaction["tokens_before"]
    after = real_requests(glm_server)[-1].json["messages"]
    assert "Summary: read mid.txt. (summary" in after[1]["content"]
    assert "read mid.txt a few times" in after[1]["content"], "the task is kept verbatim"


def test_the_summary_request_streams_nothing_as_the_answer(glm_server, engine: Engine, repo: Path):
    glm_server.side_answers = lambda request: (
        ScriptedTurn(reasoning="SIDE-THOUGHT", content="SIDE-SUMMARY") if is_summary_request(request) else None
    )
    run = small_window_run(glm_server, engine, repo)
    assert run.returncode == 0, run.result
    assert run.of_type("compaction")
    answer = "".join(e["text"] for e in run.of_type("text"))
    thoughts = "".join(e["text"] for e in run.of_type("reasoning"))
    assert answer == "finished", "only the real answer streams as text"
    assert "SIDE" not in thoughts
    after = real_requests(glm_server)[-1].json["messages"]
    assert "SIDE-SUMMARY" in after[1]["content"], "the summary still reaches the compacted history"


def test_a_tool_call_in_the_summary_answer_is_answered_and_the_summary_asked_again(glm_server, engine: Engine, repo: Path):
    asked: list[dict[str, Any]] = []

    def side(request: dict[str, Any]) -> ScriptedTurn | None:
        if not is_summary_request(request):
            return None
        asked.append(request)
        if len(asked) % 2 == 1:
            return ScriptedTurn(tool_calls=[call("read_file", path="mid.txt")])
        return ScriptedTurn(content="Summary: written on the second ask.")

    glm_server.side_answers = side
    run = small_window_run(glm_server, engine, repo)
    assert run.returncode == 0, run.result
    second = asked[1]["messages"]
    well_formed(second)
    call_message, result = second[-2], second[-1]
    assert call_message["tool_calls"][0]["function"]["name"] == "read_file"
    assert result["tool_call_id"] == call_message["tool_calls"][0]["id"]
    assert result["content"].startswith(prompts.load("compact_no_tools.md"))
    after = real_requests(glm_server)[-1].json["messages"]
    assert "Summary: written on the second ask." in after[1]["content"]
    assert not any(e["name"] == "read_file" and e["id"] == call_message["tool_calls"][0]["id"] for e in run.of_type("tool_call")), (
        "the summary's tool call was not run"
    )


def test_a_summary_that_keeps_calling_tools_falls_back_to_one_written_by_glmcode(glm_server, engine: Engine, repo: Path):
    glm_server.side_answers = lambda request: ScriptedTurn(tool_calls=[call("git_status")]) if is_summary_request(request) else None
    run = small_window_run(glm_server, engine, repo)
    assert run.returncode == 0, run.result
    context = real_requests(glm_server)[-1].json["messages"][1]["content"]
    assert prompts.load("compact_fallback.md").splitlines()[0] in context
    assert 'you called read_file {"path":"mid.txt","offset":' in context


def test_the_summary_request_counts_against_the_cost_budget(glm_server, engine: Engine, repo: Path):
    dollar = {"prompt_tokens": 600_000, "completion_tokens": 0}  # $0.60 a request at price_input 1.0
    glm_server.side_answers = lambda request: ScriptedTurn(tool_calls=[call("git_status")], usage=dollar) if is_summary_request(request) else None
    (repo / "mid.txt").write_text(("z" * 60 + "\n") * 40)
    glm_server.script([
        ScriptedTurn(tool_calls=[call("read_file", path="README.md")], usage=dollar),
        ScriptedTurn(tool_calls=[call("read_file", path="mid.txt")], usage=dollar),
        ScriptedTurn(content="never", usage=dollar),
    ])
    run = engine.run("read", context_window=6000, max_cost=1.5, price_input=1.0, price_output=1.0, price_cached=1.0)

    assert run.returncode == 4, run.result
    assert run.result["usage"]["cost_usd"] == 1.8, "one request past the budget at most: the summary's second ask was not sent"
    assert [is_summary_request(r.json) for r in glm_server.requests] == [False, False, True]


def test_summary_requests_are_not_turns(glm_server, engine: Engine, repo: Path):
    glm_server.side_answers = answer_summaries()
    run = small_window_run(glm_server, engine, repo, turns=6, max_turns=7)  # 7 model turns

    assert run.returncode == 0, run.result
    summaries = [r for r in glm_server.requests if is_summary_request(r.json)]
    assert summaries, "the run compacted"
    assert run.result["turns"] == 7, "only the model's own turns count"
    assert run.result["usage"]["requests"] == 7 + len(summaries), "the summary requests' usage is counted"


def test_a_host_without_usage_gets_an_estimate_said_as_such(glm_server, engine: Engine):
    glm_server.script([ScriptedTurn(content="hi", usage={})])
    run = engine.run("hello")
    usage = run.of_type("usage")[0]
    assert usage["estimated"] is True
    assert abs(usage["prompt_tokens"] - len(glm_server.requests[0].body) / 3) <= 1
    assert usage["completion_tokens"] > 0
    assert run.result["usage"]["estimated"] is True, "the result says its totals are an estimate"


# -- on disk: a kill at any point resumes well-formed --------------------------------------------

def test_a_kill_at_any_point_of_a_compaction_resumes_to_a_well_formed_conversation(glm_server, engine: Engine, repo: Path):
    from glmcode.engine.transcript import read_session

    glm_server.side_answers = answer_summaries()
    run = small_window_run(glm_server, engine, repo)
    assert run.returncode == 0 and run.of_type("compaction")
    path = Path(run.result["transcript_path"])
    lines = path.read_bytes().split(b"\n")
    compaction_line = next(i for i, line in enumerate(lines) if line.startswith(b'{"kind":"compaction"'))
    system = json.loads(lines[1])["message"]
    cuts = [b"\n".join(lines[:n]) + b"\n" for n in range(compaction_line - 3, min(compaction_line + 4, len(lines)))]
    cuts.append(b"\n".join(lines[:compaction_line]) + b"\n" + lines[compaction_line][: len(lines[compaction_line]) // 2])
    for number, cut in enumerate(cuts):
        session_id = f"20260101-000000-{number:06x}"
        (path.parent / f"{session_id}.jsonl").write_bytes(cut)
        saved = read_session(repo, session_id)
        session, _ = engine.session(resume=session_id)
        session.start()
        session.close()
        messages = session.conversation.messages
        assert messages[0] == system, f"cut {number}: the system prompt is lost"
        well_formed(messages)
        compacted = b'{"kind":"compaction"' in cut and cut.split(b'{"kind":"compaction"')[1].find(b"\n") >= 0
        assert ("[glmcode: compaction]" in str(messages[1]["content"])) == compacted, f"cut {number}"
        assert saved.first_prompt == "read mid.txt a few times"


# -- the window arithmetic ----------------------------------------------------------------------

def test_an_overflow_lowers_the_limit_to_the_hosts_stated_window_or_below_the_refused_request():
    from glmcode.engine.compaction import MAX_OVERFLOW_RECOVERIES, Compactor, Window
    from glmcode.model.client import ContextOverflow
    from glmcode.model.tokens import TokenEstimator

    window = Window.of(1_000_000, 65_536, None, 0.85, 0.25)
    assert (window.reserve, window.usable) == (65_536, 934_464)
    assert Window.of(8000, 65_536, None, 0.85, 0.25).usable == 6000, "a small window keeps most of itself for input"
    estimator = TokenEstimator()
    estimator.calibrate(4000, 1000)
    compactor = Compactor(window, estimator)
    assert compactor.trigger == int(934_464 * 0.85)
    compactor.overflowed(40_000)
    assert compactor.learned_limit == 9000, "0.9 of the refused request's 10,000 tokens"
    compactor.overflowed(40_000, window=8192)
    assert compactor.learned_limit == 8192 - 2048, "the stated window minus room for the answer"
    assert compactor.trigger == int(6144 * 0.85)
    compactor.fitted()
    for _ in range(MAX_OVERFLOW_RECOVERIES):
        compactor.overflowed(1000)
    with pytest.raises(ContextOverflow, match="even a minimal request does not fit"):
        compactor.overflowed(1000)


def test_a_new_context_window_mid_session_moves_the_threshold(engine: Engine):
    session, _ = engine.session(context_window=100_000)
    assert session.agent.compactor is not None and session.agent.compactor.window.context_window == 100_000
    session.reconfigure(context_window=20_000)
    assert session.agent.compactor.window.context_window == 20_000 and session.agent.compactor.window.usable == 15_000



# -- the compacted message's layout ---------------------------------------------------------------

@pytest.mark.parametrize("latest", [False, True])
@pytest.mark.parametrize("state", ["", "plan", "goal", "goal+plan", "goal+plan+history"])
def test_the_compacted_message_has_one_blank_line_between_sections(latest: bool, state: str):
    from glmcode.engine.compaction import Compactor, Kept, Window, render_state
    from glmcode.engine.goal_state import GoalState
    from glmcode.engine.verify import Check
    from glmcode.model.conversation import Conversation
    from glmcode.model.tokens import TokenEstimator
    from glmcode.tools.base import PlanStep

    plan = [PlanStep(step="fix add", status="in_progress")] if "plan" in state else []
    goal = None
    if "goal" in state:
        goal = GoalState(goal="make it work", stage="implement", verify_commands=["pytest"])
        if "history" in state:
            goal.history = [[Check(kind="command", name="pytest", passed=False, exit_code=1)]]
    conversation = Conversation({"model": "m"})
    for message in [
        {"role": "system", "content": "sys"},
        {"role": "user", "content": "the task"},
        {"role": "assistant", "content": "first answer"},
        *([{"role": "user", "content": "a later instruction"}] if latest else []),
        {"role": "assistant", "content": "second answer"},
    ]:
        conversation.append(message)
    compactor = Compactor(Window(100_000, 1000), TokenEstimator())
    committed: list[list[dict[str, Any]]] = []
    kept = Kept(task="the task", state=render_state(plan, "python check.py" if plan else None, goal))
    compactor.compact(conversation, ask=lambda body: AssistantTurn(content="the summary"), commit=committed.append, kept=kept, keep_share=0.0)
    text = committed[0][1]["content"]
    assert "\n\n\n" not in text, text
    assert ("## The latest instruction" in text) == latest
    assert ("## Goal state" in text) == ("goal" in state) and ("## The plan" in text) == ("plan" in state)
    for heading in re.findall(r"(?m)^## .*$", text):
        before = text[: text.index(heading)]
        assert before.endswith("\n\n") and not before.endswith("\n\n\n"), heading

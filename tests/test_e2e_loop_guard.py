"""The loop guard and the run's cost through the real `glmcode` command: exit 1, a summary that says
the model was looping, and tokens, cached share and cost in the result (the default provider is priced)."""

from __future__ import annotations

from pathlib import Path

from glmcode.testing import ScriptedTurn
from glmcode.testing.engine import call


def test_a_looping_model_is_stopped_with_exit_1(glm_server, run_glmcode, repo: Path):
    (repo / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    glm_server.script([ScriptedTurn(tool_calls=[call("read_file", path="calc.py")]) for _ in range(25)])
    run = run_glmcode("run", "fix add in calc.py", cwd=repo)
    assert run.returncode == 1, run.stderr
    result = run.events[-1]
    assert result["type"] == "result" and result["status"] == "failed"
    assert "looping" in result["summary"] and "read_file" in result["summary"]
    assert len(run.of_type("tool_call")) == 5 and len(glm_server.requests) == 5
    notes = [e for e in run.of_type("tool_result") if "loop guard" in e["output"]]
    assert len(notes) == 3, "noted from the third repetition on"
    assert result["usage"]["cost_usd"] is not None and result["usage"]["cost_usd"] > 0
    assert result["usage"]["prompt_tokens"] > 0 and 0 < result["cached_share"] < 1


def test_the_text_summary_shows_the_runs_tokens_cached_share_and_cost(glm_server, run_glmcode, repo: Path):
    glm_server.script([ScriptedTurn(tool_calls=[call("list_files")]), ScriptedTurn(content="done")])
    run = run_glmcode("run", "look", "--output-format", "text", cwd=repo)
    assert run.returncode == 0, run.stderr
    summary = run.stderr + run.stdout
    assert "cached" in summary and "$0.0" in summary and "tokens" in summary, summary

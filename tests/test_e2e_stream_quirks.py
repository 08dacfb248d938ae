"""End to end (issue 11): the real `glmcode run` against GLM hosts' stream quirks — calls streamed
at one index, a raw tool call left open by a self-hosted server, a content filter."""

from __future__ import annotations

from pathlib import Path

from glmcode.testing import ScriptedTurn
from glmcode.testing.engine import call


def test_same_index_calls_both_run(glm_server, run_glmcode, repo: Path):
    glm_server.script([
        ScriptedTurn(
            tool_calls=[call("write_file", path="a.txt", content="A\n"), call("write_file", path="b.txt", content="B\n")],
            tool_call_index="same", chunk_chars=6,
        ),
        ScriptedTurn(content="Wrote both."),
    ])
    run = run_glmcode("run", "write a and b", "--permission-mode", "auto-edit", cwd=repo)
    assert run.returncode == 0, run.stderr
    assert (repo / "a.txt").read_text() == "A\n" and (repo / "b.txt").read_text() == "B\n"
    assert [e["arguments"]["path"] for e in run.of_type("tool_call")] == ["a.txt", "b.txt"]
    assert run.result["status"] == "success"


def test_unclosed_raw_tool_call_is_not_a_silent_success(glm_server, run_glmcode, repo: Path):
    broken = ScriptedTurn(content="On it.", tool_calls=[call("write_file", path="x.txt", content="x")],
                          tool_calls_as_text=True, unclose_last_tool_call=True)
    glm_server.script([broken, broken.model_copy()])
    run = run_glmcode("run", "write x.txt", "--permission-mode", "auto-edit", "--provider", "openai-compatible",
                      "--base-url", glm_server.url, cwd=repo)
    assert run.returncode == 1, run.stderr
    assert run.result["status"] == "failed" and "unclosed raw <tool_call>" in run.result["summary"]
    assert not (repo / "x.txt").exists()
    assert "<tool_call>" not in "".join(e["text"] for e in run.of_type("text"))


def test_content_filter_fails_with_exit_3_and_the_cause(glm_server, run_glmcode, repo: Path):
    glm_server.script([ScriptedTurn(content="Here is half", finish_reason="content_filter")])
    run = run_glmcode("run", "hi", "--output-format", "text", cwd=repo)
    assert run.returncode == 3
    assert len(glm_server.requests) == 1, "a content filter is not retried"
    assert "content filter" in run.stderr and "finish_reason content_filter" in run.stderr
    assert "Traceback" not in run.stderr


def test_a_raw_line_separator_in_the_answer_reaches_stream_json_whole(glm_server, run_glmcode, repo: Path):
    glm_server.script([ScriptedTurn(content="line one\u2028line two\x85three")])
    run = run_glmcode("run", "hi", cwd=repo)
    assert run.returncode == 0, run.stderr
    assert len(glm_server.requests) == 1
    assert "".join(e["text"] for e in run.of_type("text")) == "line one\u2028line two\x85three"
    assert run.result["status"] == "success"

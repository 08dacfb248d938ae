"""Issue 11, GLM streams and raw text, through the agent loop: what runs, what is recorded, how a
run ends (the scripted server plays vLLM/SGLang-served GLM, self-hosted servers and Z.ai)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from glmcode import prompts
from glmcode.testing import ScriptedTurn
from glmcode.testing.engine import Engine, call, messages_of


@pytest.mark.parametrize("indexing", ["same", "none"])
def test_calls_at_one_index_or_without_index_each_run(glm_server, engine: Engine, repo: Path, indexing: str):
    (repo / "a.txt").write_text("alpha\n")
    (repo / "b.txt").write_text("beta\n")
    glm_server.script([
        ScriptedTurn(tool_calls=[call("read_file", path="a.txt"), call("read_file", path="b.txt")], tool_call_index=indexing, chunk_chars=5),
        ScriptedTurn(content="read both"),
    ])
    run = engine.run("read a and b")
    assert run.returncode == 0, run.events
    results = run.of_type("tool_result")
    assert [r["ok"] for r in results] == [True, True]
    assert "alpha" in results[0]["output"] and "beta" in results[1]["output"]
    replayed = messages_of(glm_server.requests[1])
    calls = next(m for m in replayed if m["role"] == "assistant")["tool_calls"]
    assert [json.loads(c["function"]["arguments"]) for c in calls] == [{"path": "a.txt"}, {"path": "b.txt"}]
    assert len({c["id"] for c in calls}) == 2


def test_raw_text_tool_call_writes_the_exact_value(glm_server, engine: Engine, repo: Path):
    glm_server.script([
        ScriptedTurn(content="Writing.\n", tool_calls=[call("write_file", path="n.txt", content="one\ntwo\n")], tool_calls_as_text=True, chunk_chars=6),
        ScriptedTurn(content="Done.</tool_call><|observation|>"),
    ])
    run = engine.run("write n.txt", permission_mode="auto-edit")
    assert run.returncode == 0, run.events
    assert (repo / "n.txt").read_bytes() == b"one\ntwo\n"  # final newline kept
    shown = "".join(e["text"] for e in run.of_type("text"))
    assert "<" not in shown and shown == "Writing.\nDone."
    assert run.result["summary"] == "Done."
    recorded = messages_of(glm_server.requests[1])
    assert recorded[-2]["content"] == "Writing." and "<tool_call>" not in json.dumps(recorded)


def test_unclosed_raw_tool_call_nudges_once_then_fails_with_the_cause(glm_server, engine: Engine, repo: Path):
    broken = ScriptedTurn(content="Let me write it.", tool_calls=[call("write_file", path="x.txt", content="data")],
                          tool_calls_as_text=True, unclose_last_tool_call=True)
    glm_server.script([broken, broken.model_copy()])
    run = engine.run("write x.txt", permission_mode="auto-edit")
    assert run.returncode == 1 and run.result["status"] == "failed", run.events
    assert "unclosed raw <tool_call>" in run.result["summary"] and "write_file" in run.result["summary"]
    assert not (repo / "x.txt").exists()
    assert len(glm_server.requests) == 2
    nudge = messages_of(glm_server.requests[1])[-1]
    assert nudge["role"] == "user" and "never arrived complete" in nudge["content"]


def test_unclosed_raw_tool_call_then_a_complete_one_succeeds(glm_server, engine: Engine, repo: Path):
    glm_server.script([
        ScriptedTurn(tool_calls=[call("write_file", path="x.txt", content="data")], tool_calls_as_text=True, unclose_last_tool_call=True),
        ScriptedTurn(tool_calls=[call("write_file", path="x.txt", content="data")], tool_calls_as_text=True),
        ScriptedTurn(content="written"),
    ])
    run = engine.run("write x.txt", permission_mode="auto-edit")
    assert run.returncode == 0, run.events
    assert (repo / "x.txt").read_text() == "data"


def test_an_unclosed_call_after_complete_ones_is_told_in_the_last_tool_result(glm_server, engine: Engine):
    text = "<tool_call>git_status</tool_call><tool_call>read_file<arg_key>path</arg_key><arg_value>READ"
    glm_server.script([ScriptedTurn(content=text), ScriptedTurn(content="ok")])
    run = engine.run("status")
    assert run.returncode == 0, run.events
    assert [r["name"] for r in run.of_type("tool_result")] == ["git_status"]
    tool_message = messages_of(glm_server.requests[1])[-1]
    assert tool_message["role"] == "tool" and "never arrived complete" in tool_message["content"]


@pytest.mark.parametrize(("reason", "code"), [("content_filter", 3), ("sensitive", 3), ("eos_token", 3)])
def test_finish_reasons_that_are_not_success(glm_server, engine: Engine, reason: str, code: int):
    glm_server.script([ScriptedTurn(content="half an ans", finish_reason=reason)])
    run = engine.run("hi")
    assert run.returncode == code and run.result["status"] == "error", run.events
    assert reason in run.result["summary"]
    assert [e["kind"] for e in run.of_type("error")] == ["content_filter" if reason != "eos_token" else "finish_reason"]


def test_an_answer_that_runs_into_the_window_is_continued_like_one_cut_by_the_output_limit(glm_server, engine: Engine):
    glm_server.script([
        ScriptedTurn(content="The first half", finish_reason="model_context_window_exceeded"),
        ScriptedTurn(content=" and the rest."),
    ])
    run = engine.run("hi")
    assert run.returncode == 0, run.result
    assert "even a minimal request" not in json.dumps(run.events)
    assert not run.of_type("compaction") and not run.of_type("error"), "a small request is not an input overflow"
    continued = messages_of(glm_server.requests[1])
    assert continued[-2] == {"role": "assistant", "content": "The first half"}
    assert continued[-1]["content"] == prompts.load("continue_after_length.md")


def test_abort_and_error_are_retried_then_fail_with_the_cause(glm_server, engine: Engine):
    glm_server.script([ScriptedTurn(content="x", finish_reason="abort")] * 2 + [ScriptedTurn(content="y", finish_reason="error")] * 2)
    run = engine.run("hi", retry_attempts=2)
    assert run.returncode == 3 and "finish_reason abort" in run.result["summary"]
    assert len(run.of_type("retry")) == 1


def test_usage_is_counted_from_a_host_that_sends_it_only_when_asked(glm_server, engine: Engine):
    glm_server.script([ScriptedTurn(content="hi", usage_mode="when_asked")])
    run = engine.run("hi", provider="openai-compatible")
    assert run.returncode == 0, run.events
    assert glm_server.requests[0].json["stream_options"] == {"include_usage": True}
    assert run.result["usage"]["prompt_tokens"] > 0


def test_finish_reason_tool_calls_without_a_call_is_not_success(glm_server, engine: Engine):
    glm_server.script([ScriptedTurn(content="I will now call", finish_reason="tool_calls")] * 2)
    run = engine.run("go")
    assert run.returncode == 1 and "finish_reason tool_calls but no tool call arrived" in run.result["summary"], run.events
    assert len(glm_server.requests) == 2


PYTHON_LINE_BREAKS = ["\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e"]
"""Characters `str.splitlines` ends a line at and SSE does not (the model may write any of them)."""


@pytest.mark.parametrize("char", PYTHON_LINE_BREAKS, ids=[f"U+{ord(c):04X}" for c in PYTHON_LINE_BREAKS])
def test_a_character_python_breaks_lines_at_streams_through_untouched(glm_server, engine: Engine, repo: Path, char: str):
    (repo / "f.txt").write_bytes(b"a\nb\n")
    glm_server.script([
        ScriptedTurn(reasoning=f"think{char}more", content=f"Editing{char}now.", chunk_chars=3, raw_control_characters=True,
                     tool_calls=[call("edit_file", path="f.txt", old_string="b", new_string=f"b{char}z")]),
        ScriptedTurn(content=f"line one{char}line two", raw_control_characters=True),
    ])
    run = engine.run("go", permission_mode="full-auto")
    assert run.returncode == 0, run.events
    assert len(glm_server.requests) == 2, "no turn was retried"
    assert run.of_type("tool_result")[0]["ok"], run.of_type("tool_result")
    assert (repo / "f.txt").read_bytes() == f"a\nb{char}z\n".encode()
    text = "".join(e["text"] for e in run.of_type("text"))
    assert f"Editing{char}now." in text and f"line one{char}line two" in text
    assert f"think{char}more" in "".join(e["text"] for e in run.of_type("reasoning"))


FENCED_CALL = ("GLM's raw format looks like this:\n\n```\n<tool_call>write_file<arg_key>path</arg_key><arg_value>fenced.txt"
               "</arg_value><arg_key>content</arg_key><arg_value>x</arg_value></tool_call>\n```\n\nThat's all.")


def test_a_raw_call_in_a_code_block_of_an_answer_is_shown_not_run(glm_server, engine: Engine, repo: Path):
    glm_server.script([ScriptedTurn(content=FENCED_CALL, chunk_chars=5), ScriptedTurn(content="second")])
    run = engine.run("explain the raw format", permission_mode="full-auto")
    assert run.returncode == 0, run.events
    assert not (repo / "fenced.txt").exists() and run.of_type("tool_call") == []
    assert "".join(e["text"] for e in run.of_type("text")) == FENCED_CALL
    assert run.result["summary"] == FENCED_CALL
    assert len(glm_server.requests) == 1


def test_a_tool_call_opened_inside_another_is_broken_never_a_write_of_markup(glm_server, engine: Engine, repo: Path):
    nested = ("<tool_call>write_file<arg_key>path</arg_key><arg_value>n1.txt</arg_value><arg_key>content</arg_key><arg_value>a"
              "<tool_call>write_file<arg_key>path</arg_key><arg_value>n2.txt</arg_value></tool_call>b</arg_value></tool_call>")
    glm_server.script([ScriptedTurn(content=nested), ScriptedTurn(content=nested)])
    run = engine.run("go", permission_mode="full-auto")
    assert run.returncode == 1 and run.result["status"] == "failed", run.events
    assert "raw <tool_call> opened inside another" in run.result["summary"]
    assert not (repo / "n1.txt").exists() and not (repo / "n2.txt").exists()
    assert run.of_type("tool_call") == []
    nudge = messages_of(glm_server.requests[1])[-1]
    assert nudge["role"] == "user" and "another <tool_call> began inside it" in nudge["content"]

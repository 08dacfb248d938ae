"""Untrusted input from the provider, the model and the transcript never kills a run.

Found by a red-team pass over the house refactor: each of these ended a run with exit 70 (or no
`result` at all) before it was fixed. A garbled stream is retried (DESIGN §2 rule 6), a bad call
is a tool error the model reads, a damaged transcript is a one-line usage error.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from glmcode.engine.transcript import TranscriptError, list_sessions, read_session
from glmcode.model.turn import TurnAccumulator, parse_raw_tool_calls
from glmcode.testing import Fault, ScriptedToolCall, ScriptedTurn
from glmcode.testing.engine import API_KEY, Engine, messages_of


@pytest.mark.parametrize(
    "event",
    [
        {"choices": ["x"]},
        {"choices": [{"index": 0, "delta": "x"}]},
        {"choices": [{"index": 0, "delta": {"tool_calls": ["x"]}}]},
    ],
    ids=["choice-not-object", "delta-not-object", "tool-call-not-object"],
)
def test_a_chunk_of_the_wrong_shape_is_a_garbled_stream_and_is_retried(glm_server, engine: Engine, event: dict):
    glm_server.script([ScriptedTurn(content="all good", faults=[Fault(kind="malformed", after_chunks=1, event=event)])])
    run = engine.run("go")
    assert run.returncode == 0, run.events
    assert run.result["summary"] == "all good"
    [retry] = run.of_type("retry")
    assert "malformed stream chunk" in retry["reason"]


def test_fields_of_the_wrong_type_are_ignored_not_fatal():
    accumulator = TurnAccumulator()
    accumulator.feed({"usage": [1], "choices": [{"index": 0, "finish_reason": ["stop"], "delta": {"content": "hi"}}]})
    accumulator.feed({"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "id": 123, "function": {"name": ["x"], "arguments": "{}"}}]}}]})
    accumulator.feed({"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "id": "call_1", "function": {"name": "list_files"}}]}}]})
    turn = accumulator.finish()
    assert not turn.usage and turn.finish_reason is None and turn.content == "hi"
    assert [(c.id, c.name) for c in turn.tool_calls] == [("call_1", "list_files")]


def test_usage_counts_that_are_not_numbers_are_replaced_by_the_local_estimate(glm_server, engine: Engine):
    glm_server.script([ScriptedTurn(content="done", usage={"prompt_tokens": "lots", "completion_tokens": -5, "prompt_tokens_details": [1]})])
    run = engine.run("go")
    assert run.returncode == 0, run.events
    [usage] = run.of_type("usage")
    assert usage["estimated"] is True and usage["cached_tokens"] == 0
    assert usage["prompt_tokens"] == -(-len(glm_server.requests[0].body) // 3) and usage["completion_tokens"] > 0


@pytest.mark.parametrize(
    "arguments",
    ["[" * 100_000, '{"path": "a.txt", "offset": ' + "9" * 5000 + "}"],
    ids=["nesting-past-the-stack", "number-past-the-digit-limit"],
)
def test_arguments_python_cannot_decode_are_a_tool_error(glm_server, engine: Engine, arguments: str):
    glm_server.script([
        ScriptedTurn(tool_calls=[ScriptedToolCall(name="read_file", arguments=arguments)]),
        ScriptedTurn(content="done"),
    ])
    run = engine.run("go")
    assert run.returncode == 0, run.events
    [result] = run.of_type("tool_result")
    assert result["ok"] is False and "cannot be decoded" in result["output"]
    assert "cannot be decoded" in messages_of(glm_server.requests[1])[-1]["content"]


def test_raw_tool_call_values_json_cannot_carry_stay_text():
    text = "<tool_call>read_file<arg_key>path</arg_key><arg_value>a.txt</arg_value><arg_key>offset</arg_key><arg_value>{1, 2}</arg_value></tool_call>"
    _, [call] = parse_raw_tool_calls(text, {"read_file": {"path": frozenset({"string"})}})
    assert json.loads(call.arguments) == {"path": "a.txt", "offset": "{1, 2}"}


def _write_session(root: Path, session_id: str, lines: list[bytes]) -> None:
    folder = root / ".glmcode" / "sessions"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{session_id}.jsonl").write_bytes(b"\n".join(lines) + b"\n")


def _line(record: dict) -> bytes:
    return json.dumps(record).encode()


SESSION = {"kind": "session", "id": "20261130-000000-aaaaaa"}
SYSTEM = {"kind": "message", "message": {"role": "system", "content": "sys"}}


def test_lines_that_are_not_utf8_json_are_skipped_like_torn_writes(repo: Path):
    user = {"kind": "message", "message": {"role": "user", "content": "hello"}}
    _write_session(repo, "20261130-000000-aaaaaa", [_line(SESSION), b"\xff\xfe garbage", _line(SYSTEM), b'{"kind": "mess', _line(user)])
    saved = read_session(repo, "20261130-000000-aaaaaa")
    assert [m["content"] for m in saved.messages] == ["sys", "hello"]


@pytest.mark.parametrize(
    ("record", "complaint"),
    [
        ({"kind": "message"}, "without a message"),
        ({"kind": "message", "message": "hello"}, "without a message"),
        ({"kind": "message", "message": {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": {"name": "x", "arguments": "{}"}}]}},
         "tool call without an id"),
        ({"kind": "message", "message": {"role": "tool", "content": "x"}}, "without a tool_call_id"),
        ({"kind": "event", "event": "x"}, "without an event object"),
    ],
    ids=["no-message", "message-not-object", "tool-call-without-id", "tool-result-without-id", "event-not-object"],
)
def test_a_record_of_the_wrong_shape_is_a_usage_error_naming_the_line(repo: Path, record: dict, complaint: str):
    _write_session(repo, "20261130-000000-aaaaaa", [_line(SESSION), _line(SYSTEM), _line(record)])
    with pytest.raises(TranscriptError, match=rf"20261130-000000-aaaaaa\.jsonl:3: .*{complaint}"):
        read_session(repo, "20261130-000000-aaaaaa")


def test_one_damaged_session_does_not_break_the_list(repo: Path):
    _write_session(repo, "20261130-000000-aaaaaa", [_line(SESSION), _line({"kind": "message"})])
    _write_session(repo, "20261130-000001-bbbbbb", [_line({**SESSION, "id": "20261130-000001-bbbbbb"}), _line(SYSTEM)])
    listed = {saved.id: saved for saved in list_sessions(repo)}
    assert set(listed) == {"20261130-000000-aaaaaa", "20261130-000001-bbbbbb"}
    assert "without a message" in listed["20261130-000000-aaaaaa"].meta["unreadable"]
    assert "unreadable" not in listed["20261130-000001-bbbbbb"].meta


def test_the_api_key_in_the_rules_never_reaches_the_provider(glm_server, engine: Engine, repo: Path):
    (repo / "AGENT.md").write_text(f"# Rules\nThe deploy key is {API_KEY}.\n")
    glm_server.script([ScriptedTurn(content="done")])
    run = engine.run("go")
    assert run.returncode == 0, run.events
    body = glm_server.requests[0].body.decode()
    assert API_KEY not in body
    assert "[redacted:api_key]" in messages_of(glm_server.requests[0])[0]["content"]


def test_a_front_end_that_fails_on_a_delta_is_not_mistaken_for_a_garbled_stream(glm_server, engine: Engine):
    """A front end's ValueError used to be classed as 'malformed stream chunk' and retried, so the
    deltas streamed again; now it is glmcode's own failure: one result, exit 70, one request."""
    glm_server.script([ScriptedTurn(content="hello there")])

    def fragile(event) -> None:
        if event.type == "text":
            raise ValueError("the front end choked")

    run = engine.run("go", emit=fragile)
    assert run.result["exit_code"] == 70, run.events
    assert "the front end choked" in run.result["summary"]
    assert len(glm_server.requests) == 1
    assert not run.of_type("retry")

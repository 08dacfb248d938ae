"""The append-only, encoded-once request body (DESIGN.md §2 rule 8, §8)."""

from __future__ import annotations

import json

import pytest

from glmcode.model.conversation import Conversation, encode

HEAD = {
    "model": "glm-5.2",
    "stream": True,
    "thinking": {"type": "enabled", "clear_thinking": False},
    "tools": [{"type": "function", "function": {"name": "read_file", "parameters": {"type": "object", "properties": {}}}}],
}

MESSAGES = [
    {"role": "system", "content": "You are glmcode."},
    {"role": "user", "content": "Fix the bug in café.py — quickly 🚀"},
    {
        "role": "assistant",
        "content": "",
        "reasoning_content": "Look first.\n",
        "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "read_file", "arguments": '{"path":"café.py"}'}}],
    },
    {"role": "tool", "tool_call_id": "c1", "content": "1\tprint('naïve')\n"},
    {"role": "assistant", "content": "Done: \"quoted\" and \\ backslash."},
]


def test_body_is_valid_json_with_the_head_first_and_messages_last() -> None:
    conversation = Conversation(HEAD)
    for message in MESSAGES:
        conversation.append(message)
    data = json.loads(conversation.body())
    assert list(data) == [*HEAD, "messages"]
    assert data == {**HEAD, "messages": MESSAGES}
    assert conversation.last_role == "assistant"


def test_body_with_no_messages_yet() -> None:
    conversation = Conversation(HEAD)
    assert json.loads(conversation.body()) == {**HEAD, "messages": []}
    assert conversation.last_role is None


def test_an_empty_head_still_gives_valid_json() -> None:
    conversation = Conversation({})
    assert json.loads(conversation.body()) == {"messages": []}
    conversation.append({"role": "user", "content": "x"})
    assert json.loads(conversation.body()) == {"messages": [{"role": "user", "content": "x"}]}


def test_each_body_without_its_closing_is_a_byte_prefix_of_the_next() -> None:
    conversation = Conversation(HEAD)
    previous = conversation.body()
    for message in MESSAGES:
        conversation.append(message)
        body = conversation.body()
        assert previous.endswith(b"]}") and body.endswith(b"]}")
        assert body.startswith(previous[:-2])
        assert len(body) > len(previous)
        previous = body


def test_earlier_messages_are_not_re_encoded_when_mutated_later() -> None:
    conversation = Conversation(HEAD)
    message = {"role": "user", "content": "original"}
    conversation.append(message)
    before = conversation.body()
    message["content"] = "changed"  # the bytes were fixed at append time
    assert conversation.body() == before


def test_non_ascii_is_kept_as_utf8_not_escaped() -> None:
    conversation = Conversation(HEAD)
    conversation.append(MESSAGES[1])
    body = conversation.body()
    assert "café.py — quickly 🚀".encode() in body
    assert b"\\u" not in body


def test_encoding_is_compact_and_keeps_key_order() -> None:
    assert encode({"b": 1, "a": [1, 2], "c": "é"}) == '{"b":1,"a":[1,2],"c":"é"}'.encode()
    conversation = Conversation({"model": "m"})
    conversation.append({"role": "user", "content": "hi"})
    assert conversation.body() == b'{"model":"m","messages":[{"role":"user","content":"hi"}]}'
    assert conversation.size_bytes() == len(conversation.body())


def test_head_must_not_contain_messages() -> None:
    with pytest.raises(ValueError, match="must not contain messages"):
        Conversation({"model": "m", "messages": []})


def test_message_sizes_and_side_bodies_need_no_re_encoding_of_the_history() -> None:
    conversation = Conversation(HEAD)
    for message in MESSAGES:
        conversation.append(message)
    assert conversation.head_size + sum(conversation.message_size(i) for i in range(len(MESSAGES))) == conversation.size_bytes()
    extra = {"role": "user", "content": "summarise"}
    side = conversation.body_with([extra], len(MESSAGES))
    assert json.loads(side)["messages"] == [*MESSAGES, extra]
    changed = {**MESSAGES[-1], "content": "changed"}
    assert json.loads(conversation.body_with([changed], len(MESSAGES) - 1))["messages"] == [*MESSAGES[:-1], changed]
    assert json.loads(conversation.body_with([extra], 0))["messages"] == [extra]
    assert json.loads(conversation.body_with([], 2))["messages"] == MESSAGES[:2]
    assert json.loads(conversation.body())["messages"] == MESSAGES, "a side body leaves the conversation as it was"
    with pytest.raises(ValueError):
        conversation.body_with([], len(MESSAGES) + 1)


def test_the_token_estimate_starts_high_and_calibrates_from_the_providers_count() -> None:
    from glmcode.model.tokens import MAX_BYTES_PER_TOKEN, MIN_BYTES_PER_TOKEN, TokenEstimator

    estimator = TokenEstimator()
    assert estimator.tokens(4000) > 4000 // 4, "uncalibrated, it errs high"
    assert estimator.tokens(0) == 0 and estimator.tokens(1) == 1
    estimator.calibrate(4000, 1000)
    assert estimator.calibrated and estimator.tokens(8000) == 2000 and estimator.bytes_for(10) == 40
    estimator.calibrate(4000, 0)
    assert estimator.bytes_per_token == 4.0, "a missing count teaches nothing"
    estimator.calibrate(10, 1000)
    assert estimator.bytes_per_token == MIN_BYTES_PER_TOKEN
    estimator.calibrate(100_000, 1)
    assert estimator.bytes_per_token == MAX_BYTES_PER_TOKEN


def test_request_body_is_the_same_bytes_in_chunks_without_a_whole_copy(monkeypatch: pytest.MonkeyPatch) -> None:
    from glmcode.model import conversation as module

    monkeypatch.setattr(module, "CHUNK_BYTES", 16)
    conversation = Conversation(HEAD)
    for message in MESSAGES:
        conversation.append(message)
    body = conversation.request_body()
    chunks = list(body)
    assert b"".join(chunks) == bytes(body) == conversation.body()
    assert len(body) == len(conversation.body())
    assert max(len(c) for c in chunks[1:-1]) == 16 and len(chunks) > 5  # handed over piece by piece
    assert list(body) == chunks  # re-iterable: a retry sends it again from the start
    conversation.append({"role": "user", "content": "later"})
    assert b"".join(body) == bytes(chunks[0]) + b"".join(chunks[1:])  # made before: the new message is not in it
    assert json.loads(bytes(body))["messages"] == MESSAGES
    conversation.restart([MESSAGES[0]])
    assert json.loads(bytes(body))["messages"] == MESSAGES

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

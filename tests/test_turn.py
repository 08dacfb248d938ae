"""TurnAccumulator and the raw `<tool_call>` fallback parser (DESIGN.md §2, rules 4, 5, 9)."""

from __future__ import annotations

import json
from typing import Any

from glmcode.model.turn import (
    AssistantTurn,
    RawToolCall,
    TurnAccumulator,
    parse_raw_tool_calls,
    string_params_of,
)
from glmcode.tools.registry import ToolRegistry


def chunk(delta: dict[str, Any] | None = None, finish_reason: str | None = None, **extra: Any) -> dict[str, Any]:
    """A `chat.completion.chunk` with one choice."""
    choice: dict[str, Any] = {"index": 0, "delta": {"role": "assistant", **(delta or {})}}
    if finish_reason is not None:
        choice["finish_reason"] = finish_reason
    return {"id": "r1", "object": "chat.completion.chunk", "choices": [choice], **extra}


def tool_delta(*fragments: dict[str, Any]) -> dict[str, Any]:
    return {"tool_calls": list(fragments)}


def feed_all(chunks: list[dict[str, Any]], turn_number: int = 0, **kwargs: Any) -> AssistantTurn:
    acc = TurnAccumulator(**kwargs)
    for c in chunks:
        acc.feed(c)
    return acc.finish(turn_number)


# --- streamed tool calls -------------------------------------------------------------------


def test_interleaved_tool_calls_are_joined_by_index() -> None:
    turn = feed_all([
        chunk(tool_delta({"index": 0, "id": "call_a", "type": "function", "function": {"name": "read_file", "arguments": ""}})),
        chunk(tool_delta({"index": 1, "id": "call_b", "type": "function", "function": {"name": "search", "arguments": '{"pat'}})),
        chunk(tool_delta({"index": 0, "function": {"arguments": '{"path":'}})),
        chunk(tool_delta({"index": 1, "function": {"arguments": 'tern":"TODO"}'}})),
        chunk(tool_delta({"index": 0, "function": {"arguments": '"src/a.py"}'}})),
        chunk(finish_reason="tool_calls"),
    ])
    assert turn.tool_calls == [
        RawToolCall(id="call_a", name="read_file", arguments='{"path":"src/a.py"}'),
        RawToolCall(id="call_b", name="search", arguments='{"pattern":"TODO"}'),
    ]
    assert turn.finish_reason == "tool_calls"


def test_tool_calls_are_ordered_by_index_not_arrival() -> None:
    turn = feed_all([
        chunk(tool_delta({"index": 1, "id": "second", "function": {"name": "git_status", "arguments": "{}"}})),
        chunk(tool_delta({"index": 0, "id": "first", "function": {"name": "git_diff", "arguments": "{}"}})),
        chunk(finish_reason="tool_calls"),
    ])
    assert [(c.id, c.name) for c in turn.tool_calls] == [("first", "git_diff"), ("second", "git_status")]


def test_empty_name_and_id_in_continuations_never_overwrite() -> None:
    turn = feed_all([
        chunk(tool_delta({"index": 0, "id": "call_1", "function": {"name": "write_file", "arguments": '{"path":'}})),
        chunk(tool_delta({"index": 0, "id": "", "function": {"name": "", "arguments": '"a.txt",'}})),
        chunk(tool_delta({"index": 0, "id": None, "function": {"name": None, "arguments": '"content":"x"}'}})),
        chunk(finish_reason="tool_calls"),
    ])
    assert turn.tool_calls == [RawToolCall("call_1", "write_file", '{"path":"a.txt","content":"x"}')]


def test_a_later_id_or_name_does_not_replace_the_first_one() -> None:
    turn = feed_all([
        chunk(tool_delta({"index": 0, "id": "call_1", "function": {"name": "read_file", "arguments": ""}})),
        chunk(tool_delta({"index": 0, "id": "call_other", "function": {"name": "other", "arguments": "{}"}})),
        chunk(finish_reason="tool_calls"),
    ])
    assert turn.tool_calls == [RawToolCall("call_1", "read_file", "{}")]


def test_id_and_name_arriving_after_the_first_fragment_are_taken() -> None:
    turn = feed_all([
        chunk(tool_delta({"index": 0, "function": {"arguments": '{"command":'}})),
        chunk(tool_delta({"index": 0, "id": "late", "function": {"name": "run_shell", "arguments": '"ls"}'}})),
        chunk(finish_reason="tool_calls"),
    ])
    assert turn.tool_calls == [RawToolCall("late", "run_shell", '{"command":"ls"}')]


def test_arguments_as_an_object_are_accepted() -> None:
    turn = feed_all([
        chunk(tool_delta({"index": 0, "id": "c", "function": {"name": "edit_file", "arguments": {
            "path": "é.py", "old_string": "a", "new_string": "b", "replace_all": True,
        }}})),
        chunk(finish_reason="tool_calls"),
    ])
    (call,) = turn.tool_calls
    assert isinstance(call.arguments, str)
    assert json.loads(call.arguments) == {"path": "é.py", "old_string": "a", "new_string": "b", "replace_all": True}
    assert "é" in call.arguments  # kept as UTF-8, not \u escapes
    assert turn.to_message()["tool_calls"][0]["function"]["arguments"] == call.arguments


def test_missing_index_falls_back_to_position_in_the_delta() -> None:
    turn = feed_all([
        chunk(tool_delta(
            {"id": "x", "function": {"name": "read_file", "arguments": '{"path":'}},
            {"id": "y", "function": {"name": "list_files", "arguments": "{}"}},
        )),
        chunk(tool_delta({"function": {"arguments": '"a"}'}})),
        chunk(finish_reason="tool_calls"),
    ])
    assert turn.tool_calls == [
        RawToolCall("x", "read_file", '{"path":"a"}'),
        RawToolCall("y", "list_files", "{}"),
    ]


def test_deterministic_ids_when_the_server_gives_none() -> None:
    chunks = [
        chunk(tool_delta({"index": 0, "function": {"name": "git_status", "arguments": "{}"}})),
        chunk(tool_delta({"index": 1, "id": "", "function": {"name": "git_diff", "arguments": "{}"}})),
        chunk(finish_reason="tool_calls"),
    ]
    first = feed_all(chunks, turn_number=7)
    again = feed_all(chunks, turn_number=7)
    assert [c.id for c in first.tool_calls] == ["call_7_0", "call_7_1"]
    assert first == again
    assert [c.id for c in feed_all(chunks, turn_number=8).tool_calls] == ["call_8_0", "call_8_1"]


# --- reasoning, content, usage, finish reason ----------------------------------------------


def test_reasoning_from_each_field_and_content_deltas_in_order() -> None:
    acc = TurnAccumulator()
    assert acc.feed(chunk({"reasoning_content": "one "})) == [("reasoning", "one ")]
    assert acc.feed(chunk({"reasoning": "two "})) == [("reasoning", "two ")]
    assert acc.feed(chunk({"reasoning_details": [{"type": "reasoning.text", "text": "three"}, {"text": "!"}, {"x": 1}]})) == [
        ("reasoning", "three!")
    ]
    assert acc.feed(chunk({"content": "Hi", "reasoning_content": None})) == [("text", "Hi")]
    assert acc.feed(chunk({"content": ""})) == []
    assert acc.feed(chunk({"content": None})) == []
    acc.feed(chunk(finish_reason="stop"))
    turn = acc.finish()
    assert (turn.reasoning, turn.content, turn.finish_reason) == ("one two three!", "Hi", "stop")


def test_reasoning_content_wins_when_a_server_sends_both_fields() -> None:
    acc = TurnAccumulator()
    assert acc.feed(chunk({"reasoning_content": "same", "reasoning": "same"})) == [("reasoning", "same")]
    assert acc.finish().reasoning == "same"


def test_usage_from_a_final_chunk_with_empty_choices() -> None:
    usage = {"prompt_tokens": 100, "completion_tokens": 7, "total_tokens": 107, "prompt_tokens_details": {"cached_tokens": 64}}
    acc = TurnAccumulator()
    acc.feed(chunk({"content": "ok"}))
    acc.feed(chunk(finish_reason="stop"))
    assert acc.feed({"id": "r1", "choices": [], "usage": usage}) == []
    acc.feed({"id": "r1", "choices": [], "usage": None})  # a later null usage does not erase it
    turn = acc.finish()
    assert turn.usage == usage
    assert turn.finish_reason == "stop"
    assert acc.chunks == 4


def test_finish_reason_is_captured_as_sent() -> None:
    for reason in ("stop", "length", "sensitive", "model_context_window_exceeded", "network_error"):
        assert feed_all([chunk({"content": "x"}), chunk(finish_reason=reason)]).finish_reason == reason
    assert feed_all([chunk({"content": "x"})]).finish_reason is None


def test_a_frame_with_both_reasoning_and_tool_calls() -> None:
    acc = TurnAccumulator()
    deltas = acc.feed(chunk({
        "reasoning_content": "I'll look.",
        "tool_calls": [{"index": 0, "id": "c1", "function": {"name": "read_file", "arguments": '{"path":"a"}'}}],
    }, finish_reason="tool_calls"))
    assert deltas == [("reasoning", "I'll look.")]
    turn = acc.finish()
    assert turn.reasoning == "I'll look."
    assert turn.tool_calls == [RawToolCall("c1", "read_file", '{"path":"a"}')]
    assert turn.finish_reason == "tool_calls"


def test_think_tags_in_content_move_to_reasoning() -> None:
    turn = feed_all([chunk({"content": "<think>plan it"}), chunk({"content": "\nstep</think>\n\nThe answer."}), chunk(finish_reason="stop")])
    assert turn.reasoning == "plan it\nstep"
    assert turn.content == "The answer."


def test_think_tags_are_left_alone_when_real_reasoning_arrived() -> None:
    turn = feed_all([chunk({"reasoning_content": "real"}), chunk({"content": "<think>x</think>y"}), chunk(finish_reason="stop")])
    assert (turn.reasoning, turn.content) == ("real", "<think>x</think>y")


def test_is_empty() -> None:
    assert feed_all([chunk({"reasoning_content": "only thinking"}), chunk(finish_reason="stop")]).is_empty
    assert feed_all([chunk({"content": "  \n"}), chunk(finish_reason="stop")]).is_empty
    assert not feed_all([chunk({"content": "x"}), chunk(finish_reason="stop")]).is_empty


# --- raw <tool_call> text (self-hosted servers) -------------------------------------------

TOOLS = ToolRegistry()
STRING_PARAMS = string_params_of(TOOLS.schemas())


def test_string_params_of_the_real_tool_schemas() -> None:
    assert STRING_PARAMS["read_file"] == {"path"}
    assert STRING_PARAMS["write_file"] == {"path", "content"}
    assert STRING_PARAMS["run_shell"] == {"command"}
    assert STRING_PARAMS["git_status"] == set()
    assert set(STRING_PARAMS) == set(TOOLS.names)


def test_string_params_of_handles_any_of() -> None:
    schemas = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {
        "a": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        "b": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
        "c": {"type": "boolean"},
        "d": {"type": "string"},
    }}}}]
    assert string_params_of(schemas) == {"f": {"a", "d"}}


def test_raw_tool_call_glm47_style_without_newlines() -> None:
    text = "Let me read it.<tool_call>read_file<arg_key>path</arg_key><arg_value>123</arg_value><arg_key>offset</arg_key><arg_value>5</arg_value></tool_call>"
    content, calls = parse_raw_tool_calls(text, STRING_PARAMS, turn_number=3)
    assert content == "Let me read it."
    assert len(calls) == 1
    assert (calls[0].id, calls[0].name) == ("call_3_0", "read_file")
    assert json.loads(calls[0].arguments) == {"path": "123", "offset": 5}


def test_raw_tool_call_glm45_style_with_newlines() -> None:
    text = (
        "I'll write it.\n<tool_call>write_file\n<arg_key>path</arg_key>\n<arg_value>out/ü.json</arg_value>\n"
        '<arg_key>content</arg_key>\n<arg_value>{"a": 1}</arg_value>\n</tool_call>'
    )
    content, calls = parse_raw_tool_calls(text, STRING_PARAMS)
    assert content == "I'll write it."
    assert calls[0].name == "write_file"
    # `content` is a string parameter: JSON-looking text stays raw text
    assert json.loads(calls[0].arguments) == {"path": "out/ü.json", "content": '{"a": 1}'}
    assert "ü" in calls[0].arguments


def test_raw_tool_call_without_arguments_and_several_calls() -> None:
    text = (
        "<tool_call>git_status</tool_call>"
        "<tool_call>run_shell<arg_key>command</arg_key><arg_value>ls -1</arg_value>"
        "<arg_key>timeout</arg_key><arg_value>30</arg_value></tool_call>"
        "<tool_call>update_plan\n<arg_key>steps</arg_key>\n<arg_value>[{'step': 'a', 'status': 'pending'}]</arg_value>\n</tool_call>"
    )
    content, calls = parse_raw_tool_calls(text, STRING_PARAMS, turn_number=2)
    assert content == ""
    assert [(c.id, c.name) for c in calls] == [("call_2_0", "git_status"), ("call_2_1", "run_shell"), ("call_2_2", "update_plan")]
    assert [json.loads(c.arguments) for c in calls] == [
        {},
        {"command": "ls -1", "timeout": 30},
        {"steps": [{"step": "a", "status": "pending"}]},  # Python literal decoded
    ]


def test_raw_values_without_schema_are_decoded_and_unparseable_text_is_kept() -> None:
    _, calls = parse_raw_tool_calls(
        "<tool_call>custom<arg_key>n</arg_key><arg_value>123</arg_value>"
        "<arg_key>flag</arg_key><arg_value>true</arg_value>"
        "<arg_key>word</arg_key><arg_value>hello world</arg_value></tool_call>",
        {},
    )
    assert json.loads(calls[0].arguments) == {"n": 123, "flag": True, "word": "hello world"}


def test_raw_tool_calls_are_parsed_by_finish_with_string_params() -> None:
    acc = TurnAccumulator(STRING_PARAMS)
    text = "Reading.\n<tool_call>read_file\n<arg_key>path</arg_key>\n<arg_value>007</arg_value>\n<arg_key>limit</arg_key>\n<arg_value>10</arg_value>\n</tool_call>"
    for i in range(0, len(text), 5):
        acc.feed(chunk({"content": text[i:i + 5]}))
    acc.feed(chunk(finish_reason="stop"))
    turn = acc.finish(turn_number=4)
    assert turn.content == "Reading."
    assert turn.tool_calls == [RawToolCall("call_4_0", "read_file", json.dumps({"path": "007", "limit": 10}))]


def test_think_and_raw_tool_call_together() -> None:
    turn = feed_all(
        [chunk({"content": "<think>hmm</think>ok<tool_call>git_status</tool_call>"}), chunk(finish_reason="stop")],
        string_params=STRING_PARAMS,
    )
    assert (turn.reasoning, turn.content) == ("hmm", "ok")
    assert turn.tool_calls == [RawToolCall("call_0_0", "git_status", "{}")]


def test_raw_text_is_not_parsed_when_structured_tool_calls_exist() -> None:
    turn = feed_all([
        chunk({"content": "see <tool_call>x</tool_call>"}),
        chunk(tool_delta({"index": 0, "id": "real", "function": {"name": "git_status", "arguments": "{}"}})),
        chunk(finish_reason="tool_calls"),
    ])
    assert turn.content == "see <tool_call>x</tool_call>"
    assert turn.tool_calls == [RawToolCall("real", "git_status", "{}")]


# --- the message sent back -----------------------------------------------------------------


def test_to_message_with_tool_calls_only() -> None:
    turn = feed_all([
        chunk(tool_delta({"index": 0, "id": "c1", "function": {"name": "read_file", "arguments": {"path": "a"}}})),
        chunk(finish_reason="tool_calls"),
    ])
    assert turn.to_message() == {
        "role": "assistant",
        "content": "",
        "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "read_file", "arguments": '{"path": "a"}'}}],
    }


def test_to_message_keeps_reasoning_verbatim() -> None:
    reasoning = "  Leading spaces\nand a trailing newline\n"
    turn = feed_all([chunk({"reasoning_content": reasoning}), chunk({"content": "Done."}), chunk(finish_reason="stop")])
    assert turn.to_message() == {"role": "assistant", "content": "Done.", "reasoning_content": reasoning}


def test_to_message_without_reasoning_has_no_reasoning_key() -> None:
    turn = feed_all([chunk({"content": "Done."}), chunk(finish_reason="stop")])
    assert turn.to_message() == {"role": "assistant", "content": "Done."}

"""TurnAccumulator and the raw `<tool_call>` fallback parser (DESIGN.md §2, rules 4, 5, 9)."""

from __future__ import annotations

import json
from typing import Any

from glmcode.model.turn import (
    AssistantTurn,
    RawToolCall,
    TurnAccumulator,
    param_types_of,
    parse_raw_tool_calls,
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


def test_a_later_name_does_not_replace_the_first_one_and_a_new_id_starts_a_new_call() -> None:
    turn = feed_all([
        chunk(tool_delta({"index": 0, "id": "call_1", "function": {"name": "read_file", "arguments": ""}})),
        chunk(tool_delta({"index": 0, "function": {"name": "other", "arguments": '{"path":"a"}'}})),
        chunk(tool_delta({"index": 0, "id": "call_other", "function": {"name": "other", "arguments": "{}"}})),
        chunk(finish_reason="tool_calls"),
    ])
    assert turn.tool_calls == [RawToolCall("call_1", "read_file", '{"path":"a"}'), RawToolCall("call_other", "other", "{}")]


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


def test_think_tags_never_reach_the_answer_even_after_real_reasoning() -> None:
    turn = feed_all([chunk({"reasoning_content": "real"}), chunk({"content": "<think>x</think>y"}), chunk(finish_reason="stop")])
    assert (turn.reasoning, turn.content) == ("realx", "y")


def test_is_empty() -> None:
    assert feed_all([chunk({"reasoning_content": "only thinking"}), chunk(finish_reason="stop")]).is_empty
    assert feed_all([chunk({"content": "  \n"}), chunk(finish_reason="stop")]).is_empty
    assert not feed_all([chunk({"content": "x"}), chunk(finish_reason="stop")]).is_empty


# --- raw <tool_call> text (self-hosted servers) -------------------------------------------

TOOLS = ToolRegistry()
PARAM_TYPES = param_types_of(TOOLS.schemas())


def test_param_types_of_the_real_tool_schemas() -> None:
    assert PARAM_TYPES["read_file"] == {"path": {"string"}, "offset": {"integer"}, "limit": {"integer"}}
    assert PARAM_TYPES["write_file"] == {"path": {"string"}, "content": {"string"}}
    assert PARAM_TYPES["run_shell"]["command"] == {"string"}
    assert PARAM_TYPES["update_plan"]["steps"] == {"array"}
    assert PARAM_TYPES["git_status"] == {}
    assert set(PARAM_TYPES) == set(TOOLS.names)


def test_param_types_of_handles_any_of() -> None:
    schemas = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {
        "a": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        "b": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
        "c": {"type": "boolean"},
        "d": {"type": "string"},
    }}}}]
    assert param_types_of(schemas) == {"f": {"a": {"string"}, "b": {"integer"}, "c": {"boolean"}, "d": {"string"}}}


def test_raw_tool_call_glm47_style_without_newlines() -> None:
    text = "Let me read it.<tool_call>read_file<arg_key>path</arg_key><arg_value>123</arg_value><arg_key>offset</arg_key><arg_value>5</arg_value></tool_call>"
    content, calls = parse_raw_tool_calls(text, PARAM_TYPES, turn_number=3)
    assert content == "Let me read it."
    assert len(calls) == 1
    assert (calls[0].id, calls[0].name) == ("call_3_0", "read_file")
    assert json.loads(calls[0].arguments) == {"path": "123", "offset": 5}


def test_raw_tool_call_glm45_style_with_newlines() -> None:
    text = (
        "I'll write it.\n<tool_call>write_file\n<arg_key>path</arg_key>\n<arg_value>out/ü.json</arg_value>\n"
        '<arg_key>content</arg_key>\n<arg_value>{"a": 1}</arg_value>\n</tool_call>'
    )
    content, calls = parse_raw_tool_calls(text, PARAM_TYPES)
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
    content, calls = parse_raw_tool_calls(text, PARAM_TYPES, turn_number=2)
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
    acc = TurnAccumulator(PARAM_TYPES)
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
        param_types=PARAM_TYPES,
    )
    assert (turn.reasoning, turn.content) == ("hmm", "ok")
    assert turn.tool_calls == [RawToolCall("call_0_0", "git_status", "{}")]


def test_raw_text_is_not_parsed_when_structured_tool_calls_exist_but_its_markup_is_hidden() -> None:
    turn = feed_all([
        chunk({"content": "see <tool_call>x</tool_call>"}),
        chunk(tool_delta({"index": 0, "id": "real", "function": {"name": "git_status", "arguments": "{}"}})),
        chunk(finish_reason="tool_calls"),
    ])
    assert turn.content == "see "
    assert turn.unclosed_tool_call is None
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


# --- issue 11: same-index calls, calls without index (vLLM/SGLang-served GLM, gateways) ------


def test_same_index_calls_with_different_ids_are_two_calls_never_glued() -> None:
    # vLLM/SGLang-style: every call streamed at index 0, each opened by its own id and name
    turn = feed_all([
        chunk(tool_delta({"index": 0, "id": "call_a", "type": "function", "function": {"name": "read_file", "arguments": ""}})),
        chunk(tool_delta({"index": 0, "function": {"arguments": '{"path":'}})),
        chunk(tool_delta({"index": 0, "function": {"arguments": '"a.txt"}'}})),
        chunk(tool_delta({"index": 0, "id": "call_b", "type": "function", "function": {"name": "list_files", "arguments": ""}})),
        chunk(tool_delta({"index": 0, "function": {"arguments": '{"path":"b"}'}})),
        chunk(finish_reason="tool_calls"),
    ])
    assert turn.tool_calls == [
        RawToolCall("call_a", "read_file", '{"path":"a.txt"}'),
        RawToolCall("call_b", "list_files", '{"path":"b"}'),
    ]


def test_whole_calls_at_one_index_with_new_ids_each_and_repeated_id_continues() -> None:
    turn = feed_all([
        chunk(tool_delta({"index": 0, "id": "c1", "function": {"name": "read_file", "arguments": '{"path":"a.txt"}'}})),
        chunk(tool_delta({"index": 0, "id": "c2", "function": {"name": "read_file", "arguments": '{"path":'}})),
        chunk(tool_delta({"index": 0, "id": "c2", "function": {"name": "", "arguments": '"b.txt"}'}})),
        chunk(finish_reason="tool_calls"),
    ])
    assert turn.tool_calls == [RawToolCall("c1", "read_file", '{"path":"a.txt"}'), RawToolCall("c2", "read_file", '{"path":"b.txt"}')]


def test_same_index_without_ids_a_named_fragment_after_whole_arguments_starts_a_call() -> None:
    turn = feed_all([
        chunk(tool_delta({"index": 0, "function": {"name": "read_file", "arguments": '{"path":"a.txt"}'}})),
        chunk(tool_delta({"index": 0, "function": {"name": "read_file", "arguments": '{"path":"b.txt"}'}})),
        chunk(finish_reason="tool_calls"),
    ], turn_number=2)
    assert turn.tool_calls == [
        RawToolCall("call_2_0", "read_file", '{"path":"a.txt"}'),
        RawToolCall("call_2_1", "read_file", '{"path":"b.txt"}'),
    ]


def test_calls_without_index_are_told_apart_by_id() -> None:
    turn = feed_all([
        chunk(tool_delta({"id": "x", "function": {"name": "read_file", "arguments": '{"path":'}})),
        chunk(tool_delta({"id": "y", "function": {"name": "list_files", "arguments": '{"pa'}})),
        chunk(tool_delta({"id": "x", "function": {"arguments": '"a"}'}})),
        chunk(tool_delta({"id": "y", "function": {"arguments": 'th":"d"}'}})),
        chunk(tool_delta({"id": "z", "function": {"name": "git_status"}})),
        chunk(finish_reason="tool_calls"),
    ])
    assert turn.tool_calls == [
        RawToolCall("x", "read_file", '{"path":"a"}'),
        RawToolCall("y", "list_files", '{"path":"d"}'),
        RawToolCall("z", "git_status", ""),
    ]


# --- issue 11: raw GLM text ---------------------------------------------------------------


def _stream(text: str, size: int, **kwargs: Any) -> tuple[list[tuple[str, str]], AssistantTurn]:
    acc = TurnAccumulator(**kwargs)
    deltas = []
    for i in range(0, len(text), size):
        deltas += acc.feed(chunk({"content": text[i:i + size]}))
    acc.feed(chunk(finish_reason="stop"))
    return deltas, acc.finish(turn_number=1)


def test_raw_arg_value_keeps_its_exact_text_final_newline_included() -> None:
    text = ("<tool_call>write_file<arg_key>path</arg_key><arg_value>a.txt</arg_value>"
            "<arg_key>content</arg_key><arg_value>  line one\nline two\n</arg_value></tool_call>")
    for size in (1, 3, 7, len(text)):
        deltas, turn = _stream(text, size, param_types=PARAM_TYPES)
        assert deltas == []  # nothing of a raw call is shown as text
        assert json.loads(turn.tool_calls[0].arguments) == {"path": "a.txt", "content": "  line one\nline two\n"}
        assert turn.unclosed_tool_call is None


def test_raw_values_follow_the_tool_schema() -> None:
    text = (
        "<tool_call>read_file<arg_key>path</arg_key><arg_value>10</arg_value>"
        "<arg_key>offset</arg_key><arg_value> 5\n</arg_value><arg_key>limit</arg_key><arg_value>ten</arg_value></tool_call>"
        "<tool_call>update_plan<arg_key>steps</arg_key><arg_value>[{\"step\": \"a\", \"status\": \"pending\"}]</arg_value>"
        "<arg_key>explanation</arg_key><arg_value>true</arg_value></tool_call>"
        "<tool_call>edit_file<arg_key>path</arg_key><arg_value>x</arg_value><arg_key>replace_all</arg_key><arg_value>true</arg_value></tool_call>"
    )
    _, calls = parse_raw_tool_calls(text, PARAM_TYPES)
    assert [json.loads(c.arguments) for c in calls] == [
        {"path": "10", "offset": 5, "limit": "ten"},  # a string stays a string; "ten" left for the argument check
        {"steps": [{"step": "a", "status": "pending"}], "explanation": "true"},
        {"path": "x", "replace_all": True},
    ]


def test_unclosed_raw_tool_call_is_kept_apart_and_not_run() -> None:
    text = "I'll write it.\n<tool_call>write_file<arg_key>path</arg_key><arg_value>a.txt</arg_value><arg_key>content</arg_key><arg_value>hel"
    deltas, turn = _stream(text, 4, param_types=PARAM_TYPES)
    assert "".join(t for _, t in deltas) == "I'll write it.\n"
    assert turn.tool_calls == []
    assert turn.content == "I'll write it."
    assert turn.unclosed_tool_call is not None and turn.unclosed_tool_call.startswith("<tool_call>write_file<arg_key>path")
    # a complete call before it is still parsed
    _, turn = _stream("<tool_call>git_status</tool_call><tool_call>read_fi", 5, param_types=PARAM_TYPES)
    assert [c.name for c in turn.tool_calls] == ["git_status"]
    assert turn.unclosed_tool_call == "<tool_call>read_fi"


def test_stray_family_tags_are_stripped_from_shown_and_recorded_answers() -> None:
    text = "Done.</tool_call> All <arg_key>good<|observation|></arg_value>. a < b, <div> and <|x|y stay.<|user|>"
    for size in (1, 2, 5, len(text)):
        deltas, turn = _stream(text, size)
        shown = "".join(t for kind, t in deltas if kind == "text")
        assert shown == turn.content == "Done. All good. a < b, <div> and <|x|y stay."
        assert turn.tool_calls == [] and turn.unclosed_tool_call is None


def test_think_in_content_streams_as_reasoning() -> None:
    deltas, turn = _stream("<think>plan</think>\nanswer", 3)
    assert "".join(t for k, t in deltas if k == "reasoning") == "plan"
    assert "".join(t for k, t in deltas if k == "text") == "\nanswer"
    assert (turn.reasoning, turn.content) == ("plan", "answer")


def test_a_tag_prefix_left_at_the_end_is_plain_text() -> None:
    _, turn = _stream("x <tool", 3)
    assert turn.content == "x <tool" and turn.tool_calls == []


def test_a_raw_call_leaked_into_a_structured_name_is_reparsed() -> None:
    turn = feed_all([
        chunk(tool_delta({"index": 0, "id": "c", "function": {
            "name": "read_file<arg_key>path</arg_key><arg_value>a.txt</arg_value>", "arguments": ""}})),
        chunk(finish_reason="tool_calls"),
    ], param_types=PARAM_TYPES)
    assert turn.tool_calls == [RawToolCall("c", "read_file", '{"path": "a.txt"}')]


def test_usage_is_none_when_the_host_sent_none() -> None:
    turn = feed_all([chunk({"content": "x"}), chunk(finish_reason="stop")])
    assert turn.usage is None and not turn.usage_reported
    turn = feed_all([chunk({"content": "x"}), chunk(finish_reason="stop", usage={"prompt_tokens": 3})])
    assert turn.usage == {"prompt_tokens": 3} and turn.usage_reported


def test_tool_call_tag_talked_about_in_an_answer_stays_text() -> None:
    text = "Wrap calls in `<tool_call>` tags; <tool_call> is GLM's format. Use <tool_call>name</tool_call> then."
    for size in (1, 4, len(text)):
        deltas, turn = _stream(text, size, param_types=PARAM_TYPES)
        assert turn.content == "Wrap calls in `<tool_call>` tags; <tool_call> is GLM's format. Use  then."
        assert "".join(t for _, t in deltas) == turn.content
        assert turn.unclosed_tool_call is None and turn.tool_calls == [RawToolCall("call_1_0", "name", "{}")]


def test_glm45_raw_call_split_anywhere_and_a_bare_tag_at_the_end() -> None:
    text = "ok\n<tool_call>read_file\n<arg_key>path</arg_key>\n<arg_value>a.py</arg_value>\n</tool_call>"
    for size in (1, 2, 3):
        deltas, turn = _stream(text, size, param_types=PARAM_TYPES)
        assert "".join(t for _, t in deltas) == "ok\n" and turn.content == "ok"
        assert turn.tool_calls == [RawToolCall("call_1_0", "read_file", '{"path": "a.py"}')]
    _, turn = _stream("Calling now.<tool_call>", 5)
    assert turn.content == "Calling now." and turn.unclosed_tool_call == "<tool_call>"


def test_one_id_at_two_indexes_stays_two_calls_with_distinct_ids() -> None:
    turn = feed_all([
        chunk(tool_delta({"index": 0, "id": "call_0", "function": {"name": "read_file", "arguments": '{"path":"a"}'}})),
        chunk(tool_delta({"index": 1, "id": "call_0", "function": {"name": "read_file", "arguments": '{"path":"b"}'}})),
        chunk(finish_reason="tool_calls"),
    ])
    assert turn.tool_calls == [RawToolCall("call_0", "read_file", '{"path":"a"}'), RawToolCall("call_0_1", "read_file", '{"path":"b"}')]


def test_a_lone_closing_think_ends_reasoning_streamed_as_content() -> None:
    # the server's prompt ended in `<think>`: only the closing tag reaches content
    _, turn = _stream("weigh options\nthen pick</think>\n\nThe answer.", 4)
    assert (turn.reasoning, turn.content) == ("weigh options\nthen pick", "The answer.")
    # with real reasoning fields, a lone `</think>` is only stray markup
    turn = feed_all([chunk({"reasoning_content": "r"}), chunk({"content": "a</think>b"}), chunk(finish_reason="stop")])
    assert (turn.reasoning, turn.content) == ("r", "ab")


def test_markup_in_a_fragment_does_not_split_its_text_into_several_deltas() -> None:
    acc = TurnAccumulator()
    assert acc.feed(chunk({"content": "a</tool_call>b<|observation|>c"})) == [("text", "abc")]
    assert acc.feed(chunk({"content": "<think>r</think>d"})) == [("reasoning", "r"), ("text", "d")]


RAW_CALL = ("<tool_call>write_file<arg_key>path</arg_key><arg_value>fenced.txt</arg_value>"
            "<arg_key>content</arg_key><arg_value>x</arg_value></tool_call>")


def test_a_raw_call_shown_in_markdown_code_is_text_as_written() -> None:
    answers = [
        f"GLM's raw format looks like this:\n\n```\n{RAW_CALL}\n```\n\nThat's all.",
        f"Like this:\n  ~~~~xml\n{RAW_CALL}\n<think>no</think><|observation|>\n~~~~\nThat's all.",
        f"Fences nest by length:\n````md\n```\n{RAW_CALL}\n```\n````\r\nThat's all.",
        f"A closing run with text after it closes nothing:\n```\n``` not a close\n{RAW_CALL}\n```\nThat's all.",
        f"Inline: ``{RAW_CALL} ` `` and `</tool_call>` too. That's all.",
    ]
    for text in answers:
        for size in (1, 3, 7, len(text)):
            deltas, turn = _stream(text, size, param_types=PARAM_TYPES)
            assert "".join(t for _, t in deltas) == text, (text, size)
            assert turn.content == text and turn.reasoning == ""
            assert turn.tool_calls == [] and turn.unclosed_tool_call is None


def test_after_code_closes_a_raw_call_runs_again() -> None:
    shown = "```\nx\n```\nand `code` then ~~~ inline tildes\n"
    for size in (1, 4, 100):
        deltas, turn = _stream(shown + RAW_CALL, size, param_types=PARAM_TYPES)
        assert "".join(t for _, t in deltas) == shown
        assert [c.name for c in turn.tool_calls] == ["write_file"]
    _, turn = _stream("a stray ` backtick\n" + RAW_CALL, 3, param_types=PARAM_TYPES)
    assert [c.name for c in turn.tool_calls] == ["write_file"], "an inline span ends with its line"
    _, turn = _stream("four spaces are no fence:\n    ```\n" + RAW_CALL, 3, param_types=PARAM_TYPES)
    assert [c.name for c in turn.tool_calls] == ["write_file"]


def test_reasoning_streamed_as_content_may_leave_a_fence_open() -> None:
    _, turn = _stream("I'll write ```python then</think>\n\nThe answer.\n" + RAW_CALL, 4, param_types=PARAM_TYPES)
    assert (turn.reasoning, turn.content) == ("I'll write ```python then", "The answer.")
    assert [c.name for c in turn.tool_calls] == ["write_file"]


def test_a_tool_call_opened_inside_another_breaks_it_and_nothing_of_it_runs() -> None:
    nested = ("<tool_call>write_file<arg_key>path</arg_key><arg_value>n1.txt</arg_value><arg_key>content</arg_key><arg_value>a"
              "<tool_call>write_file<arg_key>path</arg_key><arg_value>n2.txt</arg_value></tool_call>b</arg_value></tool_call>")
    for size in (1, 5, len(nested)):
        deltas, turn = _stream("Writing.\n" + nested + "\nDone.", size, param_types=PARAM_TYPES)
        assert "".join(t for _, t in deltas) == "Writing.\n"
        assert turn.tool_calls == [] and turn.content == "Writing."
        assert turn.nested_tool_call and turn.unclosed_tool_call == nested + "\nDone."
    _, turn = _stream("<tool_call>git_status</tool_call>" + nested, 4, param_types=PARAM_TYPES)
    assert [c.name for c in turn.tool_calls] == ["git_status"], "a whole call before the broken one still runs"
    assert turn.nested_tool_call and turn.unclosed_tool_call == nested
    _, turn = _stream("<tool_call>read_fi", 4, param_types=PARAM_TYPES)
    assert turn.unclosed_tool_call == "<tool_call>read_fi" and not turn.nested_tool_call

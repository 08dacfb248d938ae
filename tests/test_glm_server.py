"""Tests for the scripted GLM server, seen from the real openai SDK and from raw HTTP."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import openai
import pytest

from glmcode.testing import Fault, GLMServer, Scenario, ScriptedToolCall, ScriptedTurn

MESSAGES = [{"role": "user", "content": "hi"}]


def client_for(server: GLMServer) -> openai.OpenAI:
    """An SDK client with no retries, so every fault is visible."""
    return openai.OpenAI(base_url=server.url, api_key="k", max_retries=0, timeout=10)


def stream_chunks(server: GLMServer, **extra: Any) -> list[Any]:
    """Stream one request through the SDK and collect its chunks."""
    client = client_for(server)
    stream = client.chat.completions.create(model="glm-5.2", messages=MESSAGES, stream=True, **extra)
    return list(stream)


def raw_post(
    server: GLMServer, body: dict[str, Any], conn: http.client.HTTPConnection | None = None
) -> tuple[int, dict[str, str], bytes]:
    """POST a chat request with http.client; returns status, lower-cased headers and body."""
    parts = urlsplit(server.url)
    conn = conn or http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    payload = json.dumps(body).encode()
    headers = {"Content-Type": "application/json", "Authorization": "Bearer raw"}
    conn.request("POST", parts.path + "/chat/completions", payload, headers)
    response = conn.getresponse()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()


def raw_events(server: GLMServer, **extra: Any) -> list[Any]:
    """Stream one request with raw HTTP; returns each event's JSON (or the literal ``[DONE]``)."""
    status, _, body = raw_post(server, {"model": "glm-5.2", "messages": MESSAGES, "stream": True, **extra})
    assert status == 200
    return parse_events(body)


def parse_events(body: bytes) -> list[Any]:
    """Split an SSE body into decoded ``data:`` payloads."""
    events = []
    for block in body.split(b"\n\n"):
        if block.strip():
            assert block.startswith(b"data: "), block
            data = block[len(b"data: ") :].decode()
            events.append(data if data == "[DONE]" else json.loads(data))
    return events


def assemble_tool_calls(chunks: list[Any]) -> dict[int, dict[str, str]]:
    """Accumulate SDK tool-call deltas by index, never overwriting a known id or name."""
    calls: dict[int, dict[str, str]] = {}
    for chunk in chunks:
        for choice in chunk.choices:
            for delta in choice.delta.tool_calls or []:
                call = calls.setdefault(delta.index, {"id": "", "name": "", "arguments": ""})
                call["id"] = call["id"] or (delta.id or "")
                call["name"] = call["name"] or (delta.function.name or "")
                call["arguments"] += delta.function.arguments or ""
    return calls


@pytest.fixture
def server() -> Iterator[GLMServer]:
    with GLMServer() as running:
        yield running


def test_reasoning_then_content_deltas(server: GLMServer) -> None:
    turn = ScriptedTurn(reasoning="Let me think about this carefully.", content="Hello, 世界!", chunk_chars=5)
    server.script([turn])
    chunks = stream_chunks(server)
    kinds = []
    for chunk in chunks[:-1]:
        delta = chunk.choices[0].delta
        assert delta.role == "assistant"
        kinds.append("reasoning" if getattr(delta, "reasoning_content", None) else "content")
    assert kinds == sorted(kinds, key=["reasoning", "content"].index)
    reasoning = "".join(getattr(c.choices[0].delta, "reasoning_content", None) or "" for c in chunks)
    content = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert (reasoning, content) == ("Let me think about this carefully.", "Hello, 世界!")
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert all(len(c.choices[0].delta.content or "") <= 5 for c in chunks)


def test_tool_call_fragments_assemble_by_index(server: GLMServer) -> None:
    exact = '{"path": "src/app.py",  "limit": 20}'
    calls = [
        ScriptedToolCall(name="read_file", arguments=exact),
        ScriptedToolCall(name="bash", arguments={"cmd": "ls -la", "note": "é"}, id="call_fixed"),
    ]
    server.script([ScriptedTurn(content="Checking.", tool_calls=calls, chunk_chars=4)])
    chunks = stream_chunks(server)
    assembled = assemble_tool_calls(chunks)
    assert assembled[0]["name"] == "read_file" and assembled[0]["arguments"] == exact
    assert re.fullmatch(r"call_-\d{19}", assembled[0]["id"])
    assert assembled[1] == {"id": "call_fixed", "name": "bash", "arguments": '{"cmd":"ls -la","note":"é"}'}
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_tool_call_fragment_shapes_and_deterministic_ids(server: GLMServer) -> None:
    turn = ScriptedTurn(tool_calls=[ScriptedToolCall(name="grep", arguments='{"pattern": "x"}')])
    server.script([turn, turn])
    first = [e for e in raw_events(server) if e != "[DONE]" and e["choices"]]
    second = [e for e in raw_events(server) if e != "[DONE]" and e["choices"]]
    fragments = [e["choices"][0]["delta"]["tool_calls"][0] for e in first[:-1]]
    assert fragments[0] == {
        "index": 0, "id": fragments[0]["id"], "type": "function",
        "function": {"name": "grep", "arguments": ""},
    }
    for fragment in fragments[1:]:
        assert fragment.keys() == {"index", "function"} and fragment["function"].keys() == {"arguments"}
    again = GLMServer([turn]).start()
    try:
        replay = [e for e in raw_events(again) if e != "[DONE]" and e["choices"]]
    finally:
        again.stop()
    first_id = fragments[0]["id"]
    assert replay[0]["choices"][0]["delta"]["tool_calls"][0]["id"] == first_id
    assert second[0]["choices"][0]["delta"]["tool_calls"][0]["id"] != first_id


def test_empty_name_in_continuations(server: GLMServer) -> None:
    turn = ScriptedTurn(
        tool_calls=[ScriptedToolCall(name="edit", arguments='{"a": 1, "b": 2}')],
        empty_name_in_continuations=True,
        chunk_chars=6,
    )
    server.script([turn])
    chunks = stream_chunks(server)
    continuation = chunks[1].choices[0].delta.tool_calls[0]
    assert (continuation.id, continuation.function.name) == ("", "")
    assembled = assemble_tool_calls(chunks)
    assert assembled[0]["name"] == "edit" and assembled[0]["arguments"] == '{"a": 1, "b": 2}'


def test_arguments_as_object(server: GLMServer) -> None:
    call = ScriptedToolCall(name="write", arguments={"path": "a.txt", "text": "x"})
    server.script([ScriptedTurn(tool_calls=[call], arguments_as_object=True)])
    events = [e for e in raw_events(server) if e != "[DONE]"]
    fragment = events[0]["choices"][0]["delta"]["tool_calls"][0]
    assert fragment["function"] == {"name": "write", "arguments": {"path": "a.txt", "text": "x"}}
    assert len(events) == 2


def test_reasoning_field_reasoning(server: GLMServer) -> None:
    server.script([ScriptedTurn(reasoning="vllm style", content="ok", reasoning_field="reasoning")])
    events = [e for e in raw_events(server) if e != "[DONE]"]
    deltas = [e["choices"][0]["delta"] for e in events]
    assert "".join(d.get("reasoning", "") for d in deltas) == "vllm style"
    assert not any("reasoning_content" in d for d in deltas)


def test_non_final_chunks_have_no_finish_reason_key(server: GLMServer) -> None:
    server.script([ScriptedTurn(reasoning="r" * 20, content="c" * 20)])
    status, headers, body = raw_post(server, {"model": "glm-5.2", "messages": MESSAGES, "stream": True})
    assert status == 200
    assert headers["content-type"] == "text/event-stream"
    assert headers["transfer-encoding"] == "chunked"
    assert body.endswith(b"data: [DONE]\n\n")
    events = parse_events(body)
    assert events[-1] == "[DONE]"
    *middle, final = events[:-1]
    assert b'"finish_reason"' not in b"".join(json.dumps(e).encode() for e in middle)
    assert all(e["choices"][0]["delta"]["role"] == "assistant" for e in events[:-1])
    assert final["choices"] == [{"index": 0, "delta": {"role": "assistant"}, "finish_reason": "stop"}]
    assert final["object"] == "chat.completion.chunk" and final["model"] == "glm-5.2"


def test_usage_on_final_chunk(server: GLMServer) -> None:
    server.script([ScriptedTurn(reasoning="abcdefgh" * 2, content="xyz")])
    chunks = stream_chunks(server)
    assert all(c.usage is None for c in chunks[:-1])
    usage = chunks[-1].usage
    body_length = len(server.requests[0].body)
    assert usage.prompt_tokens == body_length // 4
    assert usage.completion_tokens == (16 + 3) // 4 + 1
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    assert usage.completion_tokens_details.reasoning_tokens == 4
    assert usage.prompt_tokens_details.cached_tokens == 0


def test_usage_in_separate_chunk_and_override(server: GLMServer) -> None:
    override = {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}
    server.script([ScriptedTurn(content="hi", usage=override, usage_in_separate_chunk=True)])
    chunks = stream_chunks(server)
    assert chunks[-2].choices[0].finish_reason == "stop" and chunks[-2].usage is None
    assert chunks[-1].choices == []
    assert chunks[-1].usage.model_dump(exclude_none=True) == override


def test_cached_tokens_grow_when_the_body_extends_the_previous_one(server: GLMServer) -> None:
    server.script([ScriptedTurn(content="one"), ScriptedTurn(content="two"), ScriptedTurn(content="three")])
    client = client_for(server)
    history = [{"role": "system", "content": "You are glmcode. " * 50}, {"role": "user", "content": "start"}]

    def cached() -> int:
        stream = client.chat.completions.create(model="glm-5.2", messages=history, stream=True)
        return list(stream)[-1].usage.prompt_tokens_details.cached_tokens

    first = cached()
    history += [{"role": "assistant", "content": "one"}, {"role": "user", "content": "more"}]
    second = cached()
    history[0] = {"role": "system", "content": "Changed prompt. " * 50}
    third = cached()
    bodies = [r.body for r in server.requests]
    expected = len(os.path.commonprefix([bodies[0], bodies[1]])) // 4  # noqa: RUF071 -- a byte prefix is wanted, not a path
    assert first == 0 and second == expected and second > 200 and third < 30


def test_prefix_cache_counts_the_longest_prefix_shared_with_any_earlier_request() -> None:
    system = {"role": "system", "content": "You are glmcode. " * 100}
    first = [system, {"role": "user", "content": "task " * 200}]
    restarted = [system, {"role": "user", "content": "summary " * 50}]
    back = [*first, {"role": "assistant", "content": "x"}]

    def usages(prefix_cache: bool) -> tuple[list[tuple[int, int]], list[bytes]]:
        with GLMServer([ScriptedTurn(content="a")] * 3, prefix_cache=prefix_cache) as server:
            client = client_for(server)
            seen = []
            for messages in (first, restarted, back):
                usage = list(client.chat.completions.create(model="glm-5.2", messages=messages, stream=True))[-1].usage
                seen.append((usage.prompt_tokens, usage.prompt_tokens_details.cached_tokens))
            bodies = [r.body for r in server.requests]
        return seen, bodies

    plain, bodies = usages(False)
    cached, _ = usages(True)
    shared = len(os.path.commonprefix([bodies[0], bodies[2]]))  # noqa: RUF071 -- a byte prefix is wanted, not a path
    # without it: only the previous request counts, so going back to the first prefix misses
    assert plain[2][1] == len(os.path.commonprefix([bodies[1], bodies[2]])) // 4  # noqa: RUF071
    # with it: the third request finds the first one's prefix, to the last whole 64-byte block
    assert cached[0][1] == 0
    assert cached[2][1] == (shared // 64 * 64) // 4 > plain[2][1]
    assert cached[1][1] == plain[1][1]  # a prefix the previous request holds is counted to the byte


def test_keep_alive_connection_is_reused(server: GLMServer) -> None:
    server.script([ScriptedTurn(content="a"), ScriptedTurn(content="b")])
    parts = urlsplit(server.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    body = {"model": "glm-5.2", "messages": MESSAGES, "stream": True}
    raw_post(server, body, conn)
    first_socket = conn.sock
    status, _, payload = raw_post(server, body, conn)
    assert status == 200 and conn.sock is first_socket
    assert parse_events(payload)[0]["choices"][0]["delta"]["content"] == "b"


def test_non_streaming_completion(server: GLMServer) -> None:
    call = ScriptedToolCall(name="ls", arguments={"path": "."})
    server.script([ScriptedTurn(reasoning="hmm", content="Listing.", tool_calls=[call])])
    response = client_for(server).chat.completions.create(model="glm-5.2", messages=MESSAGES)
    message = response.choices[0].message
    assert (message.content, getattr(message, "reasoning_content", None)) == ("Listing.", "hmm")
    assert message.tool_calls[0].function.arguments == '{"path":"."}'
    assert response.choices[0].finish_reason == "tool_calls"
    assert response.object == "chat.completion" and response.usage.total_tokens > 0


def test_rate_limit_with_retry_after_and_code(server: GLMServer) -> None:
    fault = Fault(kind="http_error", status=429, code="1305", message="overloaded", retry_after=3)
    server.script([ScriptedTurn(content="ok", faults=[fault])])
    with pytest.raises(openai.RateLimitError) as caught:
        stream_chunks(server)
    error = caught.value
    assert error.status_code == 429 and error.code == "1305"
    assert error.body == {"code": "1305", "message": "overloaded"}
    assert error.response.headers["retry-after"] == "3"


def test_drop_raises_while_iterating(server: GLMServer) -> None:
    server.script([ScriptedTurn(content="partial content here", faults=[Fault(kind="drop", after_chunks=2)])])
    received = []
    with pytest.raises(openai.APIConnectionError):
        stream = client_for(server).chat.completions.create(model="glm-5.2", messages=MESSAGES, stream=True)
        for chunk in stream:
            received.append(chunk.choices[0].delta.content)
    assert received == ["partial ", "content "]


def test_malformed_event_raises(server: GLMServer) -> None:
    server.script([ScriptedTurn(content="some text", faults=[Fault(kind="malformed", after_chunks=1)])])
    with pytest.raises(ValueError):
        stream_chunks(server)
    server.script([ScriptedTurn(content="x", faults=[Fault(kind="malformed")])], replace=True)
    status, _, body = raw_post(server, {"model": "glm-5.2", "messages": MESSAGES, "stream": True})
    assert status == 200 and body.startswith(b'data: {"id":data: {"id":"') and b"[DONE]" not in body


def test_error_in_stream_raises_api_error(server: GLMServer) -> None:
    fault = Fault(kind="error_in_stream", code="1234", message="network error", after_chunks=1)
    server.script([ScriptedTurn(content="some text", faults=[fault])])
    with pytest.raises(openai.APIError) as caught:
        stream_chunks(server)
    assert caught.value.body == {"code": "1234", "message": "network error"}


def test_json_error_with_status_200_on_a_streaming_request(server: GLMServer) -> None:
    server.script([ScriptedTurn(content="ok", faults=[Fault(kind="json_error_200")])])
    status, headers, body = raw_post(server, {"model": "glm-5.2", "messages": MESSAGES, "stream": True})
    assert status == 200 and headers["content-type"] == "application/json"
    assert json.loads(body)["error"]["code"] == "1305"


def test_finish_reason_fault(server: GLMServer) -> None:
    fault = Fault(kind="finish_reason", finish_reason="network_error", after_chunks=1)
    server.script([ScriptedTurn(content="abcdefghijkl", faults=[fault])])
    chunks = stream_chunks(server)
    assert [c.choices[0].delta.content for c in chunks[:-1]] == ["abcdefgh"]
    assert chunks[-1].choices[0].finish_reason == "network_error"
    assert chunks[-1].usage.completion_tokens == 8 // 4 + 1


def test_faults_on_non_streaming_requests(server: GLMServer) -> None:
    faults = [
        Fault(kind="drop"),
        Fault(kind="malformed"),
        Fault(kind="error_in_stream", code="1234"),
        Fault(kind="finish_reason", finish_reason="sensitive", after_chunks=1),
    ]
    server.script([ScriptedTurn(content="abcdefghijkl", faults=faults)])
    body = {"model": "glm-5.2", "messages": MESSAGES}
    with pytest.raises(http.client.RemoteDisconnected):
        raw_post(server, body)
    status, _, payload = raw_post(server, body)
    assert status == 200
    with pytest.raises(ValueError):
        json.loads(payload)
    status, _, payload = raw_post(server, body)
    assert status == 200 and json.loads(payload)["error"]["code"] == "1234"
    status, _, payload = raw_post(server, body)
    choice = json.loads(payload)["choices"][0]
    assert (choice["finish_reason"], choice["message"]["content"]) == ("sensitive", "abcdefgh")
    status, _, payload = raw_post(server, body)
    assert json.loads(payload)["choices"][0]["message"]["content"] == "abcdefghijkl"


def test_faults_are_consumed_then_the_turn_is_served(server: GLMServer) -> None:
    faults = [Fault(kind="http_error", status=500), Fault(kind="drop"), Fault(kind="delay", seconds=0.2)]
    server.script([ScriptedTurn(content="finally", faults=faults)])
    with pytest.raises(openai.InternalServerError):
        stream_chunks(server)
    with pytest.raises(openai.APIConnectionError):
        stream_chunks(server)
    started = time.monotonic()
    chunks = stream_chunks(server)
    assert time.monotonic() - started >= 0.2
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "finally"
    assert [r.outcome for r in server.requests] == ["fault:http_error", "fault:drop", "fault:delay,turn"]
    assert server.remaining == 0


def test_exhausted_queue_is_a_loud_400(server: GLMServer) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        stream_chunks(server)
    assert caught.value.code == "1214" and "no scripted turn left" in caught.value.message


def test_callable_turns_see_the_request(server: GLMServer) -> None:
    seen: list[dict[str, Any]] = []

    def echo(request: dict[str, Any]) -> ScriptedTurn:
        seen.append(request)
        return ScriptedTurn(content="you said " + request["messages"][-1]["content"])

    server.script([echo])
    chunks = stream_chunks(server)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "you said hi"
    assert seen[0]["messages"] == MESSAGES and seen[0]["stream"] is True


def test_requests_are_recorded_with_headers(server: GLMServer) -> None:
    server.script([ScriptedTurn(content="x", faults=[Fault(kind="http_error", status=503)])])
    with pytest.raises(openai.APIStatusError):
        stream_chunks(server)
    stream_chunks(server, extra_body={"thinking": {"type": "enabled", "clear_thinking": False}})
    assert len(server.requests) == 2
    recorded = server.requests[1]
    assert recorded.method == "POST" and recorded.path == "/v1/chat/completions"
    assert recorded.headers["authorization"] == "Bearer k"
    assert recorded.json["thinking"] == {"type": "enabled", "clear_thinking": False}
    assert json.loads(recorded.body) == recorded.json


def test_models_endpoint() -> None:
    with GLMServer(Scenario(turns=[], model="glm-test")) as server:
        models = client_for(server).models.list()
    assert [m.id for m in models.data] == ["glm-test"]


def test_model_echo_and_chunk_delay() -> None:
    with GLMServer(Scenario(turns=[ScriptedTurn(content="abcdefghijklmnop")], chunk_delay_s=0.05)) as server:
        started = time.monotonic()
        chunks = stream_chunks(server)
        elapsed = time.monotonic() - started
    assert elapsed >= 0.1 and {c.model for c in chunks} == {"glm-5.2"}


def test_client_disconnect_mid_stream_and_quick_stop(capfd: pytest.CaptureFixture[str]) -> None:
    turns = [ScriptedTurn(content="x" * 400, chunk_chars=1), ScriptedTurn(content="after")]
    server = GLMServer(Scenario(turns=turns, chunk_delay_s=0.005)).start()
    stream = client_for(server).chat.completions.create(model="glm-5.2", messages=MESSAGES, stream=True)
    next(iter(stream))
    stream.close()
    chunks = stream_chunks(server)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "after"
    parts = urlsplit(server.url)
    idle = socket.create_connection((parts.hostname, parts.port))
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 1
    idle.close()
    time.sleep(0.1)
    assert capfd.readouterr().err == ""


def test_cli_serves_until_sigterm(tmp_path: Path) -> None:
    scenario = tmp_path / "scenario.json"
    scenario.write_text(json.dumps({"turns": [{"content": "from cli"}]}))
    log = tmp_path / "requests.jsonl"
    process = subprocess.Popen(
        [sys.executable, "-m", "glmcode.testing.glm_server", str(scenario), "--log", str(log)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    try:
        line = process.stdout.readline()
        match = re.fullmatch(r"listening on (http://127\.0\.0\.1:\d+/v1)\n", line)
        assert match, line
        client = openai.OpenAI(base_url=match.group(1), api_key="cli-key", max_retries=0, timeout=10)
        stream = client.chat.completions.create(model="glm-5.2", messages=MESSAGES, stream=True)
        assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == "from cli"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=5) == 0
    finally:
        if process.poll() is None:
            process.kill()
    assert process.stderr.read() == ""
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    assert entries[0]["headers"]["authorization"] == "Bearer cli-key"
    assert entries[0]["json"]["messages"] == MESSAGES


# --- issue 11: wire shapes of other GLM hosts ----------------------------------------------------


def _tool_fragments(events: list[Any]) -> list[dict[str, Any]]:
    return [f for e in events if isinstance(e, dict) and e.get("choices") for f in e["choices"][0]["delta"].get("tool_calls", [])]


def test_same_index_calls_are_streamed_at_index_0_with_new_ids(server: GLMServer) -> None:
    calls = [ScriptedToolCall(name="read_file", arguments={"path": "a"}), ScriptedToolCall(name="list_files", arguments={})]
    server.script([ScriptedTurn(tool_calls=calls, tool_call_index="same", chunk_chars=4)])
    fragments = _tool_fragments(raw_events(server))
    assert {f["index"] for f in fragments} == {0}
    heads = [f for f in fragments if "id" in f]
    assert [h["function"]["name"] for h in heads] == ["read_file", "list_files"] and heads[0]["id"] != heads[1]["id"]


def test_calls_without_index_carry_their_id_on_every_fragment(server: GLMServer) -> None:
    server.script([ScriptedTurn(tool_calls=[ScriptedToolCall(name="read_file", arguments={"path": "abc"})], tool_call_index="none", chunk_chars=3)])
    fragments = _tool_fragments(raw_events(server))
    assert len(fragments) > 2 and all("index" not in f and f["id"] == fragments[0]["id"] for f in fragments)


def test_raw_text_tool_calls_complete_and_unclosed(server: GLMServer) -> None:
    calls = [ScriptedToolCall(name="write_file", arguments={"path": "a", "content": "x\n"}), ScriptedToolCall(name="read_file", arguments={"path": "a", "limit": 2})]
    server.script([ScriptedTurn(content="Hi ", tool_calls=calls, tool_calls_as_text=True), ScriptedTurn(tool_calls=calls[:1], tool_calls_as_text=True, unclose_last_tool_call=True)])
    events = raw_events(server)
    text = "".join(e["choices"][0]["delta"].get("content", "") for e in events if isinstance(e, dict) and e["choices"])
    assert text == (
        "Hi <tool_call>write_file<arg_key>path</arg_key><arg_value>a</arg_value><arg_key>content</arg_key><arg_value>x\n</arg_value></tool_call>"
        "<tool_call>read_file<arg_key>path</arg_key><arg_value>a</arg_value><arg_key>limit</arg_key><arg_value>2</arg_value></tool_call>"
    )
    assert _tool_fragments(events) == [] and events[-2]["choices"][0]["finish_reason"] == "stop"
    unclosed = raw_events(server)
    text = "".join(e["choices"][0]["delta"].get("content", "") for e in unclosed if isinstance(e, dict) and e["choices"])
    assert text.startswith("<tool_call>write_file") and not text.endswith("</tool_call>")


def test_usage_only_when_asked_or_never(server: GLMServer) -> None:
    server.script([ScriptedTurn(content="a", usage_mode="when_asked")] * 2 + [ScriptedTurn(content="b", usage_mode="never")])
    unasked = raw_events(server)
    assert not any(isinstance(e, dict) and e.get("usage") for e in unasked)
    asked = raw_events(server, stream_options={"include_usage": True})
    assert asked[-2]["choices"] == [] and asked[-2]["usage"]["prompt_tokens"] > 0
    assert asked[-3]["choices"][0]["finish_reason"] == "stop" and "usage" not in asked[-3]
    never = raw_events(server, stream_options={"include_usage": True})
    assert not any(isinstance(e, dict) and e.get("usage") for e in never)


@pytest.mark.parametrize("reason", ["content_filter", "abort", "error", "model_context_window_exceeded", "something_new"])
def test_any_finish_reason_can_be_scripted(server: GLMServer, reason: str) -> None:
    server.script([ScriptedTurn(content="x", finish_reason=reason)])
    assert raw_events(server)[-2]["choices"][0]["finish_reason"] == reason

"""The GLM client: request heads per provider, error classification, and retries/cancel against
the scripted server (DESIGN.md §2 rules 1, 2, 5, 6)."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from glmcode.config import Config, load_config
from glmcode.model.client import (
    APIFailure,
    ContextOverflow,
    GLMClient,
    RequestCancelled,
    _from_error_object,
    _retry_after,
    is_context_overflow,
    request_head,
)
from glmcode.model.conversation import Conversation
from glmcode.testing import Fault, GLMServer, Scenario, ScriptedTurn

TOOLS = [{"type": "function", "function": {"name": "read_file", "description": "d", "parameters": {"type": "object", "properties": {}}}}]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith(("GLMCODE_", "ZAI_")) or name == "API_KEY":
            monkeypatch.delenv(name)
    monkeypatch.setenv("GLMCODE_CONFIG_DIR", str(tmp_path / "user-config"))


def make_config(tmp_path: Path, **flags: Any) -> Config:
    return load_config(tmp_path, {"api_key": "sk-test-123456", **flags})


# --- request_head per provider -------------------------------------------------------------


def test_zai_head_with_tools(tmp_path: Path) -> None:
    head = request_head(make_config(tmp_path), TOOLS)
    assert head == {
        "model": "glm-5.2",
        "stream": True,
        "max_tokens": 65_536,
        "thinking": {"type": "enabled", "clear_thinking": False},
        "tool_stream": True,
        "tools": TOOLS,
        "tool_choice": "auto",
    }
    assert list(head)[:3] == ["model", "stream", "max_tokens"]


def test_zai_head_without_tools_has_no_tool_stream(tmp_path: Path) -> None:
    assert request_head(make_config(tmp_path, provider="zai-coding"), []) == {
        "model": "glm-5.2",
        "stream": True,
        "max_tokens": 65_536,
        "thinking": {"type": "enabled", "clear_thinking": False},
    }


def test_zai_reasoning_effort_only_with_effort_and_thinking(tmp_path: Path) -> None:
    with_effort = request_head(make_config(tmp_path, effort="high"), TOOLS)
    assert with_effort["reasoning_effort"] == "high"
    assert with_effort["thinking"] == {"type": "enabled", "clear_thinking": False}

    no_thinking = request_head(make_config(tmp_path, effort="high", thinking=False), TOOLS)
    assert "reasoning_effort" not in no_thinking
    assert no_thinking["thinking"] == {"type": "disabled", "clear_thinking": False}

    assert "reasoning_effort" not in request_head(make_config(tmp_path), TOOLS)


def test_sampling_parameters_are_passed(tmp_path: Path) -> None:
    head = request_head(make_config(tmp_path, temperature=0.2, top_p=0.9, max_tokens=4096), [])
    assert (head["temperature"], head["top_p"], head["max_tokens"]) == (0.2, 0.9, 4096)
    default = request_head(make_config(tmp_path), [])
    assert "temperature" not in default and "top_p" not in default


def test_nvidia_head_uses_chat_template_kwargs_and_sends_no_tools(tmp_path: Path) -> None:
    head = request_head(make_config(tmp_path, provider="nvidia", effort="low"), TOOLS)
    assert head == {
        "model": "z-ai/glm-5.2",
        "stream": True,
        "max_tokens": 65_536,
        "stream_options": {"include_usage": True},
        "chat_template_kwargs": {"enable_thinking": True, "clear_thinking": False},
        "reasoning_effort": "low",
    }
    off = request_head(make_config(tmp_path, provider="nvidia", thinking=False), TOOLS)
    assert off["chat_template_kwargs"] == {"enable_thinking": False, "clear_thinking": False}


@pytest.mark.parametrize(
    ("provider", "extra", "model"),
    [
        ("hyperstack", {}, "zai-org/GLM-5.2"),
        ("openai-compatible", {"base_url": "http://localhost:8000/v1"}, "glm-5.2"),
        ("cloudflare", {"base_url": "https://api.cloudflare.com/client/v4/accounts/abc/ai/v1"}, "@cf/zai-org/glm-5.2"),
    ],
)
def test_other_hosts_get_no_glm_specific_fields_and_ask_for_usage(tmp_path: Path, provider: str, extra: dict, model: str) -> None:
    head = request_head(make_config(tmp_path, provider=provider, **extra), TOOLS)
    assert head == {
        "model": model, "stream": True, "max_tokens": 65_536, "stream_options": {"include_usage": True},
        "tools": TOOLS, "tool_choice": "auto",
    }


def test_stream_usage_is_a_preset_capability_the_config_can_override(tmp_path: Path) -> None:
    assert "stream_options" not in request_head(make_config(tmp_path), TOOLS)  # Z.ai sends usage unasked
    assert "stream_options" not in request_head(make_config(tmp_path, provider="zai-coding"), TOOLS)
    local = {"provider": "openai-compatible", "base_url": "http://localhost:8000/v1"}
    assert "stream_options" not in request_head(make_config(tmp_path, stream_usage=False, **local), TOOLS)
    assert request_head(make_config(tmp_path, stream_usage=True), TOOLS)["stream_options"] == {"include_usage": True}


# --- error classification --------------------------------------------------------------------


@pytest.mark.parametrize("code", ["1302", "1303", "1305", "1312"])
def test_retryable_business_codes(code: str) -> None:
    failure = _from_error_object({"code": code, "message": "busy"}, 429)
    assert (failure.retryable, failure.code, failure.status, failure.message) == (True, code, 429, "busy")


@pytest.mark.parametrize("code", ["1113", "1210", "1211", "1214", "1301", "1308"])
@pytest.mark.parametrize("status", [429, 400, 200, None])
def test_fatal_business_codes_whatever_the_status(code: str, status: int | None) -> None:
    failure = _from_error_object({"code": code, "message": "no"}, status)
    assert failure.retryable is False
    assert (failure.code, failure.status) == (code, status)


def test_integer_codes_are_normalised_to_strings() -> None:
    assert _from_error_object({"code": 1302, "message": "m"}, 429).code == "1302"
    assert _from_error_object({"code": 1302, "message": "m"}, 429).retryable is True
    assert _from_error_object({"code": 1113, "message": "m"}, 429).retryable is False


@pytest.mark.parametrize(
    ("status", "retryable"),
    [(429, True), (500, True), (502, True), (503, True), (529, True), (401, False), (403, False), (400, False), (404, False)],
)
def test_http_status_without_a_code(status: int, retryable: bool) -> None:
    for error in ({"message": "m"}, {"code": "", "message": "m"}, {"code": None, "message": "m"}):
        failure = _from_error_object(error, status)
        assert (failure.retryable, failure.code) == (retryable, None)


def test_in_stream_error_without_code_or_status_is_retryable() -> None:
    failure = _from_error_object({"message": "stream broke"}, None)
    assert (failure.retryable, failure.code, failure.status) == (True, None, None)
    assert _from_error_object({}, None).message == "no message"


@pytest.mark.parametrize(
    ("error", "status"),
    [
        ({"code": "1261", "message": "Prompt exceeds max length"}, 400),
        ({"code": 1261, "message": "Prompt exceeds max length"}, None),
        ({"code": "context_length_exceeded", "message": "This model's maximum context length is 8192 tokens."}, 400),
        ({"code": 400, "message": "This model's maximum context length is 16384 tokens. However, you requested 122946 tokens"}, 400),
        ({"code": 400, "message": "Input prompt (35247 tokens) is too long and exceeds limit of 1000"}, 400),
        ({"message": "The prompt (total length 25938) is too long to fit into the model (context length 4096)."}, 400),
        ({"code": 400, "message": "The input (61709 tokens) is longer than the model's context length (40960 tokens)."}, 400),
        ({"code": 500, "message": "the request exceeds the available context size", "type": "exceed_context_size_error"}, 500),
        ({"code": 400, "message": "the request exceeds the available context size, try increasing it"}, 400),
        ({"message": "prompt is too long: 210000 tokens > 200000 maximum"}, 400),
        ({"message": "Request Entity Too Large"}, 413),
    ],
)
def test_context_overflow_in_every_hosts_wording_is_a_distinct_unretried_failure(error: dict, status: int | None) -> None:
    failure = _from_error_object(error, status)
    assert isinstance(failure, ContextOverflow)
    assert failure.retryable is False and failure.kind == "context_overflow"


@pytest.mark.parametrize(
    ("error", "window"),
    [
        ({"message": "This model's maximum context length is 16384 tokens. However, you requested 122946 tokens"}, 16384),
        ({"message": "The input (61709 tokens) is longer than the model's context length (40960 tokens)."}, 40960),
        ({"message": "The prompt (total length 25938) is too long to fit into the model (context length 4096)."}, 4096),
        ({"message": "Input prompt (35247 tokens) is too long and exceeds limit of 1000"}, 1000),
        ({"message": "the request exceeds the available context size", "type": "exceed_context_size_error", "n_ctx": 8192}, 8192),
        ({"code": "1261", "message": "Prompt exceeds max length"}, None),
    ],
)
def test_an_overflow_keeps_the_window_the_host_states(error: dict, window: int | None) -> None:
    failure = _from_error_object(error, 400)
    assert isinstance(failure, ContextOverflow) and failure.window == window


def own_words(body: object) -> str:
    """The message an error body of the scripted server's overflow shapes carries."""
    if isinstance(body, list):
        body = body[0]
    if isinstance(body, dict) and "error" in body:
        body = body["error"]
    return body if isinstance(body, str) else str(body["message"])  # type: ignore[index]


@pytest.mark.parametrize(
    ("shape", "window"), [("tgi", 8192), ("gemini", 1_048_576), ("cohere", None), ("openai", 8192), ("llamacpp", 8192)]
)
def test_each_hosts_overflow_body_through_the_sdk_is_an_overflow_with_its_cause(tmp_path: Path, shape: str, window: int | None) -> None:
    from glmcode.testing.glm_script import OVERFLOWS

    with GLMServer([ScriptedTurn(faults=[OVERFLOWS[shape]])]) as server:
        config = server_config(tmp_path, server)
        with pytest.raises(ContextOverflow) as caught:
            GLMClient(config).complete(body_for(config), lambda k, t: None)
        assert len(server.requests) == 1, "an overflow is not retried as it is"
    assert caught.value.window == window
    assert caught.value.message == own_words(OVERFLOWS[shape].body), "the host's own words are kept"


@pytest.mark.parametrize(
    "body", [{"error": "model is overloaded, try later"}, [{"error": {"message": "model is overloaded, try later"}}], "model is overloaded, try later"]
)
def test_an_error_body_that_is_a_string_or_an_array_keeps_its_cause(tmp_path: Path, body: object) -> None:
    with GLMServer([ScriptedTurn(faults=[Fault(kind="http_error", status=422, body=body)])]) as server:
        config = server_config(tmp_path, server)
        with pytest.raises(APIFailure) as caught:
            GLMClient(config).complete(body_for(config), lambda k, t: None)
    assert caught.value.status == 422 and "model is overloaded, try later" in caught.value.describe("tgi")


@pytest.mark.parametrize(
    ("message", "status"),
    [
        ("Request too large for gpt-4 in organization org-x on tokens per min (TPM): Limit 10000, Requested 12000.", 429),
        ("The upstream request took too long", 400),
        ("max_tokens is too large: 200000", 400),
        ("maximum context length is 8192 tokens", 503),
        ("Insufficient balance", 400),
    ],
)
def test_other_failures_are_not_taken_for_an_overflow(message: str, status: int) -> None:
    assert not is_context_overflow(None, status, message)
    assert not isinstance(_from_error_object({"message": message}, status), ContextOverflow)


def test_retry_after_is_kept_on_the_failure() -> None:
    assert _from_error_object({"code": "1302", "message": "m"}, 429, 2.5).retry_after == 2.5


def test_describe() -> None:
    assert APIFailure("Insufficient balance", retryable=False, code="1113", status=429).describe("zai") == (
        "zai API error 1113 (HTTP 429): Insufficient balance"
    )
    assert APIFailure("busy", retryable=True, code="1305").describe("zai-coding") == "zai-coding API error 1305: busy"
    assert APIFailure("dropped", retryable=True).describe("nvidia") == "nvidia API error: dropped"
    assert APIFailure("Unauthorized", retryable=False, status=401).describe("hyperstack") == (
        "hyperstack API error (HTTP 401): Unauthorized"
    )


def test_retry_after_headers() -> None:
    assert _retry_after(httpx.Headers({"Retry-After": "3"})) == 3.0
    assert _retry_after(httpx.Headers({"retry-after": "0.5"})) == 0.5
    assert _retry_after(httpx.Headers({"Retry-After-Ms": "1500"})) == 1.5
    assert _retry_after(httpx.Headers({"retry-after-ms": "250", "retry-after": "9"})) == 0.25
    assert _retry_after(httpx.Headers({"retry-after-ms": "soon", "retry-after": "2"})) == 2.0
    assert _retry_after(httpx.Headers({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"})) is None
    assert _retry_after(httpx.Headers({})) is None


# --- against the scripted server -------------------------------------------------------------


def body_for(config: Config) -> bytes:
    conversation = Conversation(request_head(config, []))
    conversation.append({"role": "user", "content": "hi"})
    return conversation.body()


def server_config(tmp_path: Path, server: GLMServer, **flags: Any) -> Config:
    return make_config(tmp_path, base_url=server.url, retry_initial_s=0.01, retry_max_s=0.05, **flags)


def test_complete_streams_deltas_and_returns_the_turn(tmp_path: Path) -> None:
    with GLMServer([ScriptedTurn(reasoning="think", content="Hello there", chunk_chars=4)]) as server:
        config = server_config(tmp_path, server)
        deltas: list[tuple[str, str]] = []
        turn = GLMClient(config).complete(body_for(config), lambda kind, text: deltas.append((kind, text)))
        request = server.requests[0]
    assert "".join(t for k, t in deltas if k == "reasoning") == "think"
    assert "".join(t for k, t in deltas if k == "text") == "Hello there"
    assert (turn.reasoning, turn.content, turn.finish_reason) == ("think", "Hello there", "stop")
    assert turn.usage["prompt_tokens"] > 0
    assert request.body == body_for(config)  # sent byte for byte, no SDK transform
    assert request.headers["authorization"] == "Bearer sk-test-123456"


def test_a_request_body_goes_out_whole_with_its_length_and_again_on_a_retry(tmp_path: Path) -> None:
    turn = ScriptedTurn(content="ok", faults=[Fault(kind="http_error", status=503)])
    with GLMServer([turn]) as server:
        config = server_config(tmp_path, server)
        conversation = Conversation(request_head(config, TOOLS))
        conversation.append({"role": "user", "content": "héllo " * 100_000})  # several chunks
        body = conversation.request_body()
        assert GLMClient(config).complete(body, lambda k, t: None).content == "ok"
        requests = server.requests
    assert [r.outcome for r in requests] == ["fault:http_error", "turn"]
    for request in requests:
        assert request.body == conversation.body()
        assert request.headers["content-length"] == str(len(conversation.body()))
        assert "transfer-encoding" not in request.headers


def test_retry_after_is_honoured(tmp_path: Path) -> None:
    turn = ScriptedTurn(content="ok", faults=[Fault(kind="http_error", status=429, code="1302", retry_after=0.6)])
    retries: list[tuple[int, str, float]] = []
    with GLMServer([turn]) as server:
        config = server_config(tmp_path, server)
        client = GLMClient(config, on_retry=lambda *a: retries.append(a))
        started = time.monotonic()
        result = client.complete(body_for(config), lambda k, t: None)
        elapsed = time.monotonic() - started
        outcomes = [r.outcome for r in server.requests]
    assert result.content == "ok"
    assert elapsed >= 0.6
    assert outcomes == ["fault:http_error", "turn"]
    assert len(retries) == 1
    attempt, reason, wait = retries[0]
    assert (attempt, wait) == (1, 0.6)
    assert reason.startswith("zai API error 1302 (HTTP 429): ")


def test_fatal_json_error_body_with_status_200_is_not_retried(tmp_path: Path) -> None:
    turn = ScriptedTurn(content="never", faults=[Fault(kind="json_error_200", code="1113", message="Insufficient balance")])
    with GLMServer([turn]) as server:
        config = server_config(tmp_path, server)
        retries: list[Any] = []
        with pytest.raises(APIFailure) as caught:
            GLMClient(config, on_retry=lambda *a: retries.append(a)).complete(body_for(config), lambda k, t: None)
        requests = len(server.requests)
    assert requests == 1 and retries == []
    assert (caught.value.code, caught.value.status, caught.value.retryable) == ("1113", 200, False)
    assert caught.value.describe("zai") == "zai API error 1113 (HTTP 200): Insufficient balance"


def test_retryable_json_error_body_is_retried(tmp_path: Path) -> None:
    turn = ScriptedTurn(content="fine", faults=[Fault(kind="json_error_200")])  # code 1305
    with GLMServer([turn]) as server:
        config = server_config(tmp_path, server)
        assert GLMClient(config).complete(body_for(config), lambda k, t: None).content == "fine"
        assert len(server.requests) == 2


def test_fatal_error_inside_the_stream_is_not_retried(tmp_path: Path) -> None:
    turn = ScriptedTurn(content="abcdefgh" * 4, faults=[Fault(kind="error_in_stream", code="1301", message="unsafe", after_chunks=2)])
    with GLMServer([turn]) as server:
        config = server_config(tmp_path, server)
        with pytest.raises(APIFailure) as caught:
            GLMClient(config).complete(body_for(config), lambda k, t: None)
        assert len(server.requests) == 1
    assert (caught.value.code, caught.value.retryable, caught.value.message) == ("1301", False, "unsafe")


def test_attempts_are_capped(tmp_path: Path) -> None:
    faults = [Fault(kind="http_error", status=503) for _ in range(5)]
    with GLMServer([ScriptedTurn(content="late", faults=faults)]) as server:
        config = server_config(tmp_path, server, retry_attempts=3)
        with pytest.raises(APIFailure) as caught:
            GLMClient(config).complete(body_for(config), lambda k, t: None)
        assert len(server.requests) == 3
    assert (caught.value.status, caught.value.retryable) == (503, True)


def _complete_in_thread(client: GLMClient, body: bytes, first_delta: threading.Event) -> dict[str, Any]:
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["turn"] = client.complete(body, lambda k, t: first_delta.set())
        except BaseException as exc:
            outcome["error"] = exc
        outcome["ended"] = time.monotonic()

    outcome["thread"] = threading.Thread(target=run, daemon=True)
    outcome["thread"].start()
    return outcome


def test_cancel_from_another_thread_stops_a_slow_stream(tmp_path: Path) -> None:
    scenario = Scenario(turns=[ScriptedTurn(content="x" * 200, chunk_chars=1)], chunk_delay_s=0.05)  # ~10 s
    with GLMServer(scenario) as server:
        config = server_config(tmp_path, server)
        client = GLMClient(config)
        first_delta = threading.Event()
        outcome = _complete_in_thread(client, body_for(config), first_delta)
        assert first_delta.wait(5)
        cancelled_at = time.monotonic()
        client.cancel()
        outcome["thread"].join(5)
        assert not outcome["thread"].is_alive()
        assert len(server.requests) == 1  # not retried
    assert isinstance(outcome.get("error"), RequestCancelled)
    assert outcome["ended"] - cancelled_at < 1.0


def test_cancel_while_waiting_for_the_response_headers(tmp_path: Path) -> None:
    turn = ScriptedTurn(content="late", faults=[Fault(kind="delay", seconds=2)])
    with GLMServer([turn]) as server:
        config = server_config(tmp_path, server)
        client = GLMClient(config)
        outcome = _complete_in_thread(client, body_for(config), threading.Event())
        deadline = time.monotonic() + 5
        while not server.requests and time.monotonic() < deadline:
            time.sleep(0.01)
        cancelled_at = time.monotonic()
        client.cancel()
        outcome["thread"].join(4)
    assert isinstance(outcome.get("error"), RequestCancelled)
    assert outcome["ended"] - cancelled_at < 1.0


def test_cancel_during_a_retry_wait(tmp_path: Path) -> None:
    turn = ScriptedTurn(content="ok", faults=[Fault(kind="http_error", status=429, code="1302", retry_after=4)])
    with GLMServer([turn]) as server:
        config = server_config(tmp_path, server)
        waiting = threading.Event()
        client = GLMClient(config, on_retry=lambda *a: waiting.set())
        outcome = _complete_in_thread(client, body_for(config), threading.Event())
        assert waiting.wait(5)
        cancelled_at = time.monotonic()
        client.cancel()
        outcome["thread"].join(6)
        requests = len(server.requests)
    assert isinstance(outcome.get("error"), RequestCancelled)
    assert outcome["ended"] - cancelled_at < 1.0
    assert requests == 1


# --- issue 11: every finish_reason has an outcome; usage asked for where the host needs it --------


@pytest.mark.parametrize("reason", ["stop", "tool_calls", "length", "function_call"])
def test_finished_reasons_return_the_turn(tmp_path: Path, reason: str) -> None:
    with GLMServer([ScriptedTurn(content="x", finish_reason=reason)]) as server:
        config = server_config(tmp_path, server)
        assert GLMClient(config).complete(body_for(config), lambda k, t: None).finish_reason == reason


@pytest.mark.parametrize("reason", ["sensitive", "content_filter"])
def test_content_filter_fails_at_once_with_the_cause(tmp_path: Path, reason: str) -> None:
    with GLMServer([ScriptedTurn(content="partial answer", finish_reason=reason), ScriptedTurn(content="never")]) as server:
        config = server_config(tmp_path, server)
        with pytest.raises(APIFailure) as caught:
            GLMClient(config).complete(body_for(config), lambda k, t: None)
        assert len(server.requests) == 1
    assert (caught.value.kind, caught.value.code, caught.value.retryable) == ("content_filter", None, False)
    assert caught.value.describe("zai") == f"the provider's content filter stopped the answer (finish_reason {reason})", (
        "no error code is claimed: the host sent none"
    )


@pytest.mark.parametrize("reason", ["network_error", "error", "abort"])
def test_broken_off_streams_are_retried_then_fail_with_the_cause(tmp_path: Path, reason: str) -> None:
    faults = [Fault(kind="finish_reason", finish_reason=reason, after_chunks=1)]
    with GLMServer([ScriptedTurn(content="recovered", faults=faults)]) as server:
        config = server_config(tmp_path, server)
        assert GLMClient(config).complete(body_for(config), lambda k, t: None).content == "recovered"
    faults = [Fault(kind="finish_reason", finish_reason=reason, after_chunks=1) for _ in range(3)]
    with GLMServer([ScriptedTurn(content="late", faults=faults)]) as server:
        config = server_config(tmp_path, server, retry_attempts=2)
        with pytest.raises(APIFailure) as caught:
            GLMClient(config).complete(body_for(config), lambda k, t: None)
        assert len(server.requests) == 2
    assert caught.value.retryable and f"finish_reason {reason}" in caught.value.message


def test_context_window_exceeded_raises_its_own_error(tmp_path: Path) -> None:
    with GLMServer([ScriptedTurn(content="", finish_reason="model_context_window_exceeded")]) as server:
        config = server_config(tmp_path, server)
        with pytest.raises(ContextOverflow) as caught:
            GLMClient(config).complete(body_for(config), lambda k, t: None)
        assert len(server.requests) == 1
    assert isinstance(caught.value, APIFailure) and (caught.value.kind, caught.value.retryable) == ("context_overflow", False)


def test_context_window_exceeded_after_some_output_is_an_answer_cut_off(tmp_path: Path) -> None:
    with GLMServer([ScriptedTurn(reasoning="thinking", content="half an ans", finish_reason="model_context_window_exceeded")]) as server:
        config = server_config(tmp_path, server)
        turn = GLMClient(config).complete(body_for(config), lambda k, t: None)
    assert (turn.content, turn.finish_reason) == ("half an ans", "model_context_window_exceeded"), (
        "the request fit; the answer ran into the window"
    )


@pytest.mark.parametrize("reason", ["eos", "recitation", "weird\x1b[31m"])
def test_an_unknown_finish_reason_is_never_success(tmp_path: Path, reason: str) -> None:
    with GLMServer([ScriptedTurn(content="looks fine", finish_reason=reason)]) as server:
        config = server_config(tmp_path, server)
        with pytest.raises(APIFailure) as caught:
            GLMClient(config).complete(body_for(config), lambda k, t: None)
    assert (caught.value.kind, caught.value.retryable) == ("finish_reason", False)
    assert repr(reason) in caught.value.message


def test_usage_arrives_from_a_host_that_sends_it_only_when_asked(tmp_path: Path) -> None:
    turns = [ScriptedTurn(content="a", usage_mode="when_asked"), ScriptedTurn(content="b", usage_mode="when_asked")]
    with GLMServer(turns) as server:
        local = server_config(tmp_path, server, provider="openai-compatible")
        asked = GLMClient(local).complete(body_for(local), lambda k, t: None)
        silent = server_config(tmp_path, server, provider="openai-compatible", stream_usage=False)
        unasked = GLMClient(silent).complete(body_for(silent), lambda k, t: None)
        sent = [r.json.get("stream_options") for r in server.requests]
    assert sent == [{"include_usage": True}, None]
    assert asked.usage_reported and asked.usage is not None and asked.usage["prompt_tokens"] > 0
    assert not unasked.usage_reported and unasked.usage is None

"""The GLM client: one streamed Chat Completions request, retried as GLM needs (DESIGN.md §2).

Built on the `openai` SDK's transport (imported on first use: it costs most of a second), but
the request body is the pre-encoded bytes from `Conversation.body()` and the events are read
as plain dicts to the end of the body (`glmcode.model.sse`), so the cost of a turn does not grow with
the length of the history and the connection is reused from turn to turn.

Retries (tenacity): 429/5xx without a fatal business code, Z.ai codes 1302/1303/1305/1312,
dropped or garbled streams, HTTP 200 bodies carrying an `error` object, and streams the
provider broke off (`finish_reason` network_error, error, abort); `Retry-After` is honoured.
Everything else fails fast with an `APIFailure` naming the provider's error code or the finish
reason (`_check_finish`: every finish reason has a defined outcome).
A base URL that cannot be reached at all (connection refused, host name not resolved) fails
fast too, naming the URL, until the host has answered once: after that the same error is a host
restarting, and is retried.

A request longer than the model's window fails as a `ContextOverflow` (never retried: the same
body would fail again; the agent compacts instead). Recognised: Z.ai's code 1261 ("Prompt
exceeds max length"), `finish_reason: model_context_window_exceeded`, HTTP 413, an error
`code` or `type` naming it (any status), and 4xx bodies or in-stream errors worded the way
OpenAI (`context_length_exceeded`, "maximum context length is"), vLLM ("... is too long and
exceeds limit", "too long to fit into the model"), SGLang ("is longer than the model's context
length") and llama.cpp (`exceed_context_size_error`, "exceeds the available context size")
word it; the window the host states, when it does, comes with it. A 429 never counts: "Request too large ... tokens per min"
is a rate limit.
"""

from __future__ import annotations

import json
import re
import socket
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from glmcode.model.conversation import RequestBody
from glmcode.model.sse import StreamBroken, iter_data
from glmcode.model.turn import AssistantTurn, ParamTypes, TurnAccumulator

if TYPE_CHECKING:
    from glmcode.config import Config

RETRYABLE_CODES = frozenset({"500", "1120", "1231", "1234", "1302", "1303", "1305", "1312"})
"""Z.ai business codes that mean "try again later"."""
RETRYABLE_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 520, 522, 524, 529})
MAX_RETRY_AFTER_S = 300.0
CONTEXT_OVERFLOW_CODES = frozenset({"1261", "context_length_exceeded", "exceed_context_size_error", "string_above_max_length"})
"""Error codes (or `type`s) that mean the request is longer than the model's context window."""
_OVERFLOW_WORDING = re.compile(
    r"context[ _-]?(length|window|size)[ _-]?(is )?exceeded|maximum context length|prompt exceeds max length"
    r"|exceeds? (the )?(available|maximum|max) context|longer than the model'?s context length"
    r"|too long to fit into the model|(prompt|input|request|messages?)\b[^.]{0,80}\b(?<!took )too long"
    r"|exceeds? (the )?(context|model'?s) (window|length|limit)|(input|prompt) length[^.]{0,40}exceeds"
    r"|`?inputs`? tokens \+ `?max_new_tokens`? must be <="  # TGI
    r"|input token count[^.]{0,40}exceeds the maximum number of tokens"  # Gemini
    r"|too many tokens: (total number of tokens|size limit exceeded)",  # Cohere
    re.IGNORECASE,
)
"""How hosts word a context overflow in an error message (see the module docstring)."""

OnDelta = Callable[[str, str], None]
OnRetry = Callable[[int, str, float], None]


class APIFailure(Exception):
    """A model request failed. `retryable` decides whether another attempt is made."""

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        code: str | None = None,
        status: int | None = None,
        retry_after: float | None = None,
        kind: str = "api",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.code = code
        self.status = status
        self.retry_after = retry_after
        self.kind = kind

    def describe(self, provider: str) -> str:
        """One line for the user: provider, error code, HTTP status, message (a `connection`
        failure's message names the URL it could not reach and stands alone, and so does a
        failure the host sent no error for, such as a content-filter finish reason)."""
        if self.kind == "connection" or (self.kind == "content_filter" and self.code is None and self.status is None):
            return self.message
        where = "".join(
            part for part in (f" {self.code}" if self.code else "", f" (HTTP {self.status})" if self.status else "")
        )
        return f"{provider} API error{where}: {self.message}"


class ContextOverflow(APIFailure):
    """The request is longer than the model's context window: never retried as it is.

    `window` is the context window in tokens when the host said it (OpenAI, vLLM, SGLang and
    llama.cpp do, in the message or an `n_ctx` field), else None.
    """

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None, window: int | None = None) -> None:
        super().__init__(message, retryable=False, code=code, status=status, kind="context_overflow")
        self.window = window


_STATED_WINDOW = re.compile(
    r"maximum context length is (\d+)|model'?s context length \((\d+)|\(context length (\d+)\)"
    r"|exceeds limit of (\d+)|maximum model length (?:of |is )?(\d+)"
    r"|max_new_tokens`? must be <= (\d+)|maximum number of tokens allowed \((\d+)\)|tokens in the prompt cannot exceed (\d+)",
    re.IGNORECASE,
)


def stated_window(error: dict[str, Any]) -> int | None:
    """The context window an overflow error states (`n_ctx`, or a number in its wording), or None."""
    n_ctx = error.get("n_ctx")
    if isinstance(n_ctx, int) and not isinstance(n_ctx, bool) and n_ctx > 0:
        return n_ctx
    match = _STATED_WINDOW.search(str(error.get("message") or ""))
    if match is None:
        return None
    value = int(next(group for group in match.groups() if group))
    return value if value > 0 else None


def is_context_overflow(code: str | None, status: int | None, message: str) -> bool:
    """Whether an error (business code or type, HTTP status, message) says the prompt is too long."""
    if status == 413 or (code is not None and code in CONTEXT_OVERFLOW_CODES):
        return True
    if status is not None and (status == 429 or status >= 500):
        return False  # a rate limit ("Request too large ... per min") or a server fault, not the window
    return bool(_OVERFLOW_WORDING.search(message))


class RequestCancelled(Exception):
    """The user cancelled the request; `partial` holds the text streamed before (no tool calls)."""

    def __init__(self, partial: AssistantTurn | None = None) -> None:
        super().__init__("the request was cancelled")
        self.partial = partial


def request_head(config: Config, tools: list[dict[str, Any]]) -> dict[str, Any]:
    """The fixed part of every request of a session: model, GLM switches, tools (in order)."""
    settings, provider = config.settings, config.provider
    head: dict[str, Any] = {"model": config.model, "stream": True, "max_tokens": settings.max_tokens}
    if provider.stream_usage:
        head["stream_options"] = {"include_usage": True}
    if settings.temperature is not None:
        head["temperature"] = settings.temperature
    if settings.top_p is not None:
        head["top_p"] = settings.top_p
    if provider.zai_extras:
        head["thinking"] = {"type": "enabled" if settings.thinking else "disabled", "clear_thinking": False}
        if tools:
            head["tool_stream"] = True
    elif provider.chat_template_kwargs:
        head["chat_template_kwargs"] = {"enable_thinking": settings.thinking, "clear_thinking": False}
    if settings.effort and settings.thinking:
        head["reasoning_effort"] = settings.effort
    if tools and provider.function_calling:
        head["tools"] = tools
        head["tool_choice"] = "auto"
    return head


class GLMClient:
    """Sends request bodies and streams the answers back, with GLM's retry rules."""

    def __init__(self, config: Config, on_retry: OnRetry | None = None) -> None:
        self.config = config
        self._on_retry = on_retry or (lambda attempt, reason, wait: None)
        self._sdk: Any = None
        self._active: Any = None
        self._headers: dict[str, Any] = {}
        self._cancelled = threading.Event()
        self._wakeup: threading.Event | None = None
        self._reached = False
        """Whether the host has answered a request of this client (then an unreachable host is retried)."""
        settings = config.settings
        self._backoff = wait_exponential_jitter(
            multiplier=settings.retry_initial_s, max=settings.retry_max_s, jitter=settings.retry_initial_s
        )

    def complete(
        self, body: bytes | RequestBody, on_delta: OnDelta, *, turn_number: int = 0, param_types: ParamTypes | None = None
    ) -> AssistantTurn:
        """Stream one response for `body`, calling `on_delta(kind, text)` as text arrives.

        A `RequestBody` is sent chunk by chunk with its `Content-Length` (no copy of the whole
        history), and from its start again on a retry."""
        self._cancelled.clear()
        retrying = Retrying(
            stop=stop_after_attempt(self.config.settings.retry_attempts),
            wait=self._wait,
            retry=retry_if_exception(lambda exc: isinstance(exc, APIFailure) and exc.retryable),
            before_sleep=self._before_sleep,
            sleep=self._sleep,
            reraise=True,
        )
        return retrying(self._stream_once, body, on_delta, turn_number, param_types or {})

    def reconfigure(self, config: Config) -> None:
        """Use new settings from the next request on (a new endpoint or key gets a new connection)."""
        if (config.base_url, config.api_key, config.provider.auth) != (self.config.base_url, self.config.api_key, self.config.provider.auth):
            self._sdk = None
            self._reached = False
        self.config = config

    def cancel(self) -> None:
        """Abort the request in flight (from another thread); `complete` raises `RequestCancelled`."""
        self._cancelled.set()
        wakeup, active = self._wakeup, self._active
        if wakeup is not None:
            wakeup.set()
        if active is not None:
            active.close()

    def _stream_once(
        self, body: bytes | RequestBody, on_delta: OnDelta, turn_number: int, param_types: ParamTypes
    ) -> AssistantTurn:
        if self._cancelled.is_set():
            raise RequestCancelled()
        openai = self._import_openai()
        accumulator = TurnAccumulator(param_types)
        try:
            stream = self._open_stream(openai, body)
            self._reached = True
            self._active = stream
            _raise_for_json_body(stream.response)
            for data in iter_data(stream.response):
                if self._cancelled.is_set():
                    raise RequestCancelled(accumulator.partial())
                chunk = _parse_chunk(data)
                try:
                    deltas = accumulator.feed(chunk)
                except (AttributeError, TypeError, ValueError) as exc:  # objects where the protocol has none
                    raise APIFailure(f"malformed stream chunk ({type(exc).__name__}): {data[:200]!r}", retryable=True) from None
                for kind, text in deltas:
                    try:
                        on_delta(kind, text)
                    except Exception as exc:  # the front end's failure, not the stream's: never retried
                        raise _FrontEndFailed() from exc
        except _FrontEndFailed as failed:
            assert failed.__cause__ is not None
            raise failed.__cause__ from None
        except (RequestCancelled, APIFailure):
            raise
        except Exception as exc:
            if self._cancelled.is_set():
                raise RequestCancelled(accumulator.partial()) from exc
            failure = self._unreachable(exc) or _classify(exc, openai)
            if failure is None:
                raise
            raise failure from exc
        finally:
            if self._active is not None:
                self._active.close()
            self._active = None
        _check_finish(accumulator)
        return accumulator.finish(turn_number)

    def _unreachable(self, exc: BaseException) -> APIFailure | None:
        """A fail-fast `APIFailure` (kind `connection`) when the base URL could not be reached at
        all — connection refused or a host name that does not resolve — and this client has never
        reached it: retrying would only wait. None for anything else (timeouts and dropped streams
        keep their backoff), and once the host has answered (a refusal then is a restart)."""
        if self._reached:
            return None
        cause = _connect_cause(exc)
        if cause is None:
            return None
        return APIFailure(
            f"cannot reach {self.config.base_url}: {cause}; check the URL (--base-url, GLMCODE_BASE_URL, "
            "config base_url or the provider preset), then run `glmcode doctor`",
            retryable=False,
            kind="connection",
        )

    def _open_stream(self, openai: Any, body: bytes | RequestBody) -> Any:
        """Send the request and wait for the response headers, in a way `cancel()` can cut short.

        The SDK blocks until the headers arrive (a slow first byte can take long), with nothing a
        cancel could close; so the request is sent from a daemon thread (one that never holds up
        the process's exit), and a cancelled request's stream is closed whenever it turns up.
        """
        future: Future = Future()
        content: bytes | Iterator[bytes] = body if isinstance(body, bytes) else iter(body)
        headers = self._headers
        if isinstance(body, RequestBody):  # a length, so httpx sends it as it is rather than chunked
            headers = {**headers, "Content-Length": str(len(body))}

        def send() -> None:
            try:
                future.set_result(self._sdk.post(
                    "/chat/completions", cast_to=object, content=content,
                    options={"headers": headers}, stream=True, stream_cls=openai.Stream[object],
                ))
            except BaseException as exc:  # handed to the waiting thread, which classifies it
                future.set_exception(exc)

        threading.Thread(target=send, name="glmcode-request", daemon=True).start()
        arrived = self._wakeup = threading.Event()
        future.add_done_callback(lambda _: arrived.set())
        if self._cancelled.is_set():
            arrived.set()
        arrived.wait()
        self._wakeup = None
        if self._cancelled.is_set() and not future.done():
            future.add_done_callback(_close_late_stream)
            raise RequestCancelled()
        return future.result()

    def _import_openai(self) -> Any:
        import openai

        if self._sdk is None:
            config = self.config
            self._headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
            if config.provider.auth == "api_key_header":
                self._headers.update({"api_key": config.api_key, "Authorization": openai.Omit()})
            self._sdk = openai.OpenAI(
                api_key=config.api_key or "none",
                base_url=config.base_url,
                max_retries=0,
                timeout=openai.Timeout(config.settings.request_timeout_s, connect=15.0),
            )
        return openai

    def _wait(self, state: Any) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, APIFailure) and exc.retry_after is not None:
            return min(max(exc.retry_after, 0.0), MAX_RETRY_AFTER_S)
        return self._backoff(state)

    def _sleep(self, seconds: float) -> None:
        """Wait between attempts; `cancel()` cuts the wait short."""
        if self._cancelled.wait(seconds):
            raise RequestCancelled()

    def _before_sleep(self, state: Any) -> None:
        exc = state.outcome.exception()
        reason = exc.describe(self.config.provider.name) if isinstance(exc, APIFailure) else repr(exc)
        wait = state.next_action.sleep if state.next_action else 0.0
        self._on_retry(state.attempt_number, reason, round(wait, 3))


class _FrontEndFailed(Exception):
    """Carries an exception raised by the `on_delta` callback past the stream's own error handling."""


def _parse_chunk(data: str) -> dict[str, Any]:
    """One event's JSON; an `error` object in the stream becomes an `APIFailure`.

    Control characters written raw inside its strings (JSON wants them escaped; lax hosts do not
    escape them) are taken as they are: the text they belong to is unambiguous."""
    if data.startswith("[DONE]"):
        return {}
    try:
        chunk = json.loads(data, strict=False)
    except ValueError:
        raise APIFailure(f"malformed stream chunk: {data[:200]!r}", retryable=True) from None
    if not isinstance(chunk, dict):
        raise APIFailure(f"malformed stream chunk: {data[:200]!r}", retryable=True)
    if isinstance(chunk.get("error"), dict):
        raise _from_error_object(chunk["error"], None)
    return chunk


def _close_late_stream(future: Future) -> None:
    """Close the stream of a request that was cancelled before its headers arrived."""
    if not future.cancelled() and future.exception() is None:
        future.result().close()


FINISHED = frozenset({"stop", "tool_calls", "function_call", "length"})
"""Finish reasons of a complete answer (`length`: cut by the output limit, the agent continues
it; `function_call`: the legacy OpenAI spelling of `tool_calls`)."""
FILTERED = frozenset({"sensitive", "content_filter"})
"""The provider's content filter stopped the answer: fail, not retried, exit 3 (the host sends no
error code with a finish reason, so none is claimed; Z.ai's in-stream error for it is 1301)."""
DROPPED = frozenset({"network_error", "error", "abort", "aborted"})
"""The provider broke the answer off: retried like a dropped stream, then failed with the cause."""
CONTEXT_EXCEEDED = "model_context_window_exceeded"
OUTPUT_CUT = frozenset({"length", CONTEXT_EXCEEDED})
"""Finish reasons of an answer cut off by a limit on its output: the output token limit, or the
context window reached while the answer streamed (`model_context_window_exceeded` after some
output: the request fit, the answer ran into the window). The agent continues such an answer."""


def _check_finish(accumulator: TurnAccumulator) -> None:
    """Give every `finish_reason` its outcome (DESIGN.md §2 rule 5); none reads as success by default.

    `FINISHED` reasons return; a stream with no finish reason and `DROPPED` reasons raise a
    retryable `APIFailure`; `FILTERED` reasons raise a fatal one of kind `content_filter`;
    `model_context_window_exceeded` raises `ContextOverflow` when nothing streamed before it
    (the input did not fit) and returns when the answer had begun (its output ran into the
    window: `OUTPUT_CUT`, continued like `length`); any other value raises a fatal
    `APIFailure` of kind `finish_reason` naming it.
    """
    reason = accumulator.finish_reason
    if reason in FINISHED or (reason == CONTEXT_EXCEEDED and accumulator.has_output):
        return
    if reason is None:
        raise APIFailure(
            f"the stream ended before the model finished ({accumulator.chunks} chunks, no finish_reason)",
            retryable=True, kind="stream",
        )
    if reason in DROPPED:
        raise APIFailure(f"the provider broke the answer off (finish_reason {reason})", retryable=True, kind="stream")
    if reason in FILTERED:
        raise APIFailure(
            f"the provider's content filter stopped the answer (finish_reason {reason})",
            retryable=False, kind="content_filter",
        )
    if reason == CONTEXT_EXCEEDED:
        raise ContextOverflow(f"the conversation no longer fits the model's context window (finish_reason {reason})")
    raise APIFailure(
        f"the provider ended the answer with an unknown finish_reason {reason[:80]!r}; it is not taken as success",
        retryable=False, kind="finish_reason",
    )


def _raise_for_json_body(response: Any) -> None:
    """GLM may answer a streaming request with HTTP 200 and a JSON error body instead of SSE."""
    content_type = response.headers.get("content-type", "")
    if "event-stream" in content_type:
        return
    raw = response.read()
    try:
        data = json.loads(raw)
    except ValueError:
        raise APIFailure(f"unexpected {content_type or 'untyped'} response instead of a stream: {raw[:200]!r}", retryable=True) from None
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict):
        raise _from_error_object(error, response.status_code)
    raise APIFailure(f"unexpected JSON response instead of a stream: {raw[:200]!r}", retryable=True)


def _error_object(body: object, fallback: str) -> dict[str, Any]:
    """The error object of an error response's `body` as the SDK hands it over (the value of its
    `error` key when it had one): an object as is; a string (TGI's `{"error": "…"}`) as its
    message; an array (Gemini's `[{"error": {…}}]`) by its first object. `fallback` (the SDK's
    `Error code: N - …`) is the message when the body holds none."""
    if isinstance(body, list):
        body = next((item for item in body if isinstance(item, dict)), None)
        if isinstance(body, dict) and isinstance(body.get("error"), (dict, str)):
            body = body["error"]
    if isinstance(body, dict):
        return body if body.get("message") else {**body, "message": fallback}
    if isinstance(body, str) and body.strip():
        return {"message": body}
    return {"message": fallback}


def _from_error_object(error: dict[str, Any], status: int | None, retry_after: float | None = None) -> APIFailure:
    code = error.get("code")
    code = str(code) if code not in (None, "") else None
    message = str(error.get("message") or "no message")
    kind = error.get("type")
    if is_context_overflow(code, status, message) or (isinstance(kind, str) and kind in CONTEXT_OVERFLOW_CODES):
        return ContextOverflow(message, code=code, status=status, window=stated_window(error))
    if code is not None and code.isdigit() and int(code) >= 1000:
        retryable = code in RETRYABLE_CODES
    elif code in RETRYABLE_CODES:
        retryable = True
    else:
        retryable = status is None or status in RETRYABLE_STATUS or status == 200
    return APIFailure(message, retryable=retryable, code=code, status=status, retry_after=retry_after)


def _connect_cause(exc: BaseException) -> str | None:
    """`connection refused` or `host name not resolved (…)` when `exc` (or an exception it was
    raised from or during) is one; None otherwise."""
    seen: set[int] = set()
    node: BaseException | None = exc
    while node is not None and id(node) not in seen:
        seen.add(id(node))
        if isinstance(node, socket.gaierror):
            return f"host name not resolved ({node.strerror or node})"
        if isinstance(node, ConnectionRefusedError):
            return "connection refused"
        node = node.__cause__ or node.__context__
    return None


def _retry_after(headers: Any) -> float | None:
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value:
            try:
                return float(value) * scale
            except ValueError:
                continue
    return None


def _classify(exc: Exception, openai: Any) -> APIFailure | None:
    """Map an SDK or decoding exception to an `APIFailure`; None for a bug that must surface."""
    if isinstance(exc, StreamBroken):
        return APIFailure(f"connection failed or dropped: {exc}", retryable=True)
    if isinstance(exc, openai.APIStatusError):
        return _from_error_object(_error_object(exc.body, exc.message), exc.status_code, _retry_after(exc.response.headers))
    if isinstance(exc, openai.APITimeoutError):
        return APIFailure("the request timed out", retryable=True)
    if isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__ or exc
        return APIFailure(f"connection failed or dropped: {type(cause).__name__}: {cause}", retryable=True)
    if isinstance(exc, openai.APIError):
        return _from_error_object(_error_object(exc.body, exc.message), None)
    if isinstance(exc, ValueError):
        return APIFailure(f"malformed stream chunk: {exc}", retryable=True)
    return None

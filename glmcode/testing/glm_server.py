"""A scripted GLM server: a real HTTP server that streams Chat Completions the way GLM does.

End-to-end tests point the real ``glmcode`` command (or the ``openai`` SDK) at ``server.url``
and script what the "model" answers, including the failures GLM produces in the wild::

    with GLMServer([ScriptedTurn(reasoning="hm", content="hi")]) as server:
        client = openai.OpenAI(base_url=server.url, api_key="k")

A scenario is a queue of turns. Each request to ``/chat/completions`` takes the turn at the head
of the queue: first its faults, one per request, then the turn itself. The models forbid unknown
fields so a typo in a scenario file fails loudly instead of being ignored.

Two switches model a long session: ``context_window`` makes the server refuse requests longer
than that many tokens (its count: body bytes / 4) the way a host does (``overflow`` picks the
shape: Z.ai's 1261, the finish reason, OpenAI's, vLLM's... see ``OVERFLOWS``), without using up a
queued turn; ``side_answers`` answers some requests (say, every compaction summary request)
whenever they come, also without using up the queue.

Run it standalone with ``python -m glmcode.testing.glm_server SCENARIO.json [--port N]
[--log requests.jsonl]``; it prints ``listening on http://127.0.0.1:PORT/v1`` and serves until
SIGTERM or SIGINT. Wire shapes live in ``glm_wire``, connection handling in ``glm_http``, the
scenario models in ``glm_script``.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from glmcode.testing import glm_wire as wire
from glmcode.testing.glm_http import Action, RecordedRequest, ScriptedHTTPServer
from glmcode.testing.glm_script import (
    OVERFLOWS,
    Fault,
    OverflowShape,
    Scenario,
    ScriptedToolCall,
    ScriptedTurn,
    load_scenario,
)

__all__ = [
    "Fault",
    "GLMServer",
    "RecordedRequest",
    "Scenario",
    "ScriptedToolCall",
    "ScriptedTurn",
    "TurnSource",
    "load_scenario",
    "main",
]

TurnSource = ScriptedTurn | Callable[[dict[str, Any]], ScriptedTurn]
"""A queued turn: fixed, or a callable that builds it from the parsed request JSON."""
SideAnswers = Callable[[dict[str, Any]], ScriptedTurn | None]
"""Looks at each request's JSON first: a turn answers it (the queue is left as it is), None lets
the queue answer."""


@dataclass
class _Entry:
    """A queued turn and how far its faults have been consumed."""

    source: TurnSource
    turn: ScriptedTurn | None = None
    turn_number: int = 0
    faults_served: int = 0

    def next_fault(self) -> Fault | None:
        """Consume and return the next unserved fault, or None when the turn itself is due."""
        assert self.turn is not None
        if self.faults_served >= len(self.turn.faults):
            return None
        self.faults_served += 1
        return self.turn.faults[self.faults_served - 1]


class GLMServer:
    """A scripted GLM endpoint on a background thread; also a context manager."""

    def __init__(
        self,
        scenario: Scenario | Sequence[TurnSource | dict[str, Any]] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        log_path: str | Path | None = None,
        prefix_cache: bool = False,
    ) -> None:
        """Serve `scenario` (a `Scenario`, or a list of turns) on `host:port` (0: any free port).

        `log_path` appends each request as a JSON line. `cached_tokens` in usage is the common
        prefix with the previous request (4 bytes a token); with `prefix_cache` it is the longest
        prefix shared with any earlier request, in 16-token blocks (`glm_wire.PrefixCache`), as a
        provider's prefix cache would report it — the larger of the two.
        """
        settings = scenario if isinstance(scenario, Scenario) else Scenario()
        self.model = settings.model
        self.chunk_delay_s = settings.chunk_delay_s
        self.requests: list[RecordedRequest] = []
        self._host, self._port = host, port
        self._log_path = Path(log_path) if log_path is not None else None
        self._lock = threading.RLock()
        self._queue: deque[_Entry] = deque()
        self._previous_body = b""
        self._prefix_cache = wire.PrefixCache() if prefix_cache else None
        self._turns_started = 0
        self._chat_requests = 0
        self._httpd: ScriptedHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.context_window: int | None = None
        """Refuse requests of more tokens than this (bytes / 4), as ``overflow`` says; None: no limit."""
        self.overflow: OverflowShape = "zai"
        """How an over-long request is refused (a key of ``OVERFLOWS``)."""
        self.side_answers: SideAnswers | None = None
        """Answers some requests before the queue (see ``SideAnswers``)."""
        self.script(settings.turns if isinstance(scenario, Scenario) else list(scenario or []))

    @property
    def url(self) -> str:
        """The base URL to give a client, ending in ``/v1``."""
        if self._httpd is None:
            raise RuntimeError("GLMServer is not started")
        host, port = self._httpd.server_address[:2]
        if isinstance(host, bytes):
            host = host.decode()
        return f"http://{host}:{port}/v1"

    @property
    def remaining(self) -> int:
        """How many turns are still queued (a turn with pending faults counts once)."""
        with self._lock:
            return len(self._queue)

    def script(self, turns: Sequence[TurnSource | dict[str, Any]], *, replace: bool = False) -> None:
        """Append turns to the queue, or replace the whole queue with ``replace=True``."""
        entries = [_Entry(_as_source(turn)) for turn in turns]
        with self._lock:
            if replace:
                self._queue.clear()
            self._queue.extend(entries)

    def start(self) -> GLMServer:
        """Bind and serve on a daemon thread; returns self."""
        if self._httpd is None:
            self._httpd = ScriptedHTTPServer((self._host, self._port), self)
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and cut open keep-alive connections."""
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        httpd.shutdown()
        httpd.server_close()
        httpd.close_connections()
        if thread is not None:
            thread.join(timeout=1)
        self._httpd = self._thread = None

    def __enter__(self) -> GLMServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _record(self, request: RecordedRequest) -> None:
        """Keep the request and, with a log path, append it as one JSON line."""
        with self._lock:
            self.requests.append(request)
            if self._log_path is not None:
                line = {
                    "method": request.method,
                    "path": request.path,
                    "headers": request.headers,
                    "json": request.json,
                    "outcome": request.outcome,
                }
                with self._log_path.open("a", encoding="utf-8") as log:
                    log.write(json.dumps(line, ensure_ascii=False) + "\n")

    def _dispatch(self, request: RecordedRequest) -> Action:
        """Decide what a chat request gets: the next fault, the head turn, or nothing left."""
        with self._lock:
            self._chat_requests += 1
            cached = wire.common_prefix_len(request.body, self._previous_body)
            if self._prefix_cache is not None:
                cached = max(cached, self._prefix_cache.lookup_and_add(request.body))
            self._previous_body = request.body
            action = Action(None, None, None)
            tokens = len(request.body) // 4
            if self.context_window is not None and tokens > self.context_window:
                action.turn, action.fault = ScriptedTurn(), OVERFLOWS[self.overflow]
                action.ctx = self._context(request, 0, cached)
                action.outcome.append("overflow")
                return action
            side = self.side_answers(request.json) if self.side_answers is not None else None
            if side is not None:  # a side turn's first fault, if it has one, answers every time
                action.turn, action.ctx = side, self._context(request, 0, cached)
                action.fault = side.faults[0] if side.faults else None
                action.outcome.append("side")
                return action
            while self._queue:
                entry = self._resolve_head(request.json)
                fault = entry.next_fault()
                action.turn, action.fault = entry.turn, fault
                action.ctx = self._context(request, entry.turn_number, cached)
                action.outcome.append(f"fault:{fault.kind}" if fault else "turn")
                if fault is None:
                    self._queue.popleft()
                    return action
                if fault.kind != "delay":
                    return action
                action.delay += fault.seconds
            action.turn = action.fault = None
            action.outcome.append("exhausted")
            return action

    def _resolve_head(self, request_json: dict[str, Any]) -> _Entry:
        """The head entry with its turn built (a callable is called once, on first use)."""
        entry = self._queue[0]
        if entry.turn is None:
            source = entry.source
            built = source if isinstance(source, ScriptedTurn) else source(request_json)
            entry.turn = built if isinstance(built, ScriptedTurn) else ScriptedTurn.model_validate(built)
            self._turns_started += 1
            entry.turn_number = self._turns_started
        return entry

    def _context(self, request: RecordedRequest, turn_number: int, cached: int) -> wire.ResponseContext:
        """Per-request ids, model and prompt token counts."""
        model = request.json.get("model")
        options = request.json.get("stream_options")
        return wire.ResponseContext(
            response_id=f"2026{self._chat_requests:016d}",
            created=int(time.time()),
            model=model if isinstance(model, str) and model else self.model,
            turn_number=turn_number,
            prompt_tokens=len(request.body) // 4,
            cached_tokens=cached // 4,
            usage_requested=isinstance(options, dict) and options.get("include_usage") is True,
        )


def _as_source(turn: TurnSource | dict[str, Any]) -> TurnSource:
    """Accept turns as models, plain dicts (validated now) or callables."""
    if isinstance(turn, dict):
        return ScriptedTurn.model_validate(turn)
    return turn


def main(argv: Sequence[str] | None = None) -> int:
    """Serve a scenario file until SIGTERM or SIGINT."""
    parser = argparse.ArgumentParser(
        prog="python -m glmcode.testing.glm_server", description="Scripted GLM Chat Completions server."
    )
    parser.add_argument("scenario", type=Path, help="scenario JSON: a Scenario object or a list of turns")
    parser.add_argument("--port", type=int, default=0, help="port to bind (default: any free port)")
    parser.add_argument("--log", type=Path, help="append each request as a JSON line to this file")
    parser.add_argument("--prefix-cache", action="store_true", help="cached_tokens: the longest prefix shared with any earlier request")
    args = parser.parse_args(argv)
    scenario = load_scenario(args.scenario)
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    with GLMServer(scenario, port=args.port, log_path=args.log, prefix_cache=args.prefix_cache) as server:
        print(f"listening on {server.url}", flush=True)
        while not stopping.wait(0.1):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())

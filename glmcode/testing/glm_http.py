"""HTTP side of the scripted GLM server: connection handling and response writing.

``ScriptedHTTPServer`` is a ``ThreadingHTTPServer`` speaking HTTP/1.1 with keep-alive; it asks
its script (a ``GLMServer``) what to answer and ``_Responder`` writes that answer as GLM would, streaming
with chunked transfer encoding or as one JSON body. Client disconnects are ignored quietly.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import urlsplit

from glmcode.testing import glm_wire as wire
from glmcode.testing.glm_script import Fault, ScriptedTurn

EXHAUSTED_MESSAGE = "scripted GLM server: no scripted turn left for this request"


@dataclass
class RecordedRequest:
    """One request as the server received it; ``outcome`` says what was served for it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    json: Any = None
    outcome: str = ""
    client_port: int = 0
    """The client's TCP port: requests on one kept-alive connection share it."""


@dataclass
class Action:
    """What one chat request is answered with."""

    turn: ScriptedTurn | None
    fault: Fault | None
    ctx: wire.ResponseContext | None
    delay: float = 0.0
    outcome: list[str] = field(default_factory=list)


class Script(Protocol):
    """What the HTTP side asks of the scripted server (`GLMServer` is one)."""

    model: str
    """The model id `/models` lists."""
    chunk_delay_s: float
    """Pause between streamed chunks, in seconds."""

    def _record(self, request: RecordedRequest) -> None:
        """Keep a request (with its outcome) for the test to inspect."""

    def _dispatch(self, request: RecordedRequest) -> Action:
        """Decide the answer to a chat request (the next fault, or the next turn)."""


class ScriptedHTTPServer(ThreadingHTTPServer):
    """Threading server that never waits for handler threads and can cut live connections."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], glm: Script) -> None:
        self.glm = glm
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def track(self, connection: socket.socket, live: bool) -> None:
        """Add or remove a client connection from the set cut on shutdown."""
        with self._connections_lock:
            if live:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def close_connections(self) -> None:
        """Shut down every open client connection so handler threads exit."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet about clients that went away; report real server bugs."""
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    """Serves one client connection (keep-alive) for the scripted GLM server."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    """Each SSE event goes out at once, as a real streaming server sends it."""
    server: ScriptedHTTPServer

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, live=True)

    def handle(self) -> None:
        """Serve requests until the client or a fault closes the connection."""
        try:
            super().handle()
        except OSError:
            self.close_connection = True

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        finally:
            self.server.track(self.connection, live=False)

    def log_message(self, format: str, *args: Any) -> None:
        """No request log lines on stderr."""

    def do_GET(self) -> None:
        request = self._read_request()
        if _route(request.path) == "models":
            request.outcome = "models"
            self.server.glm._record(request)
            created = int(time.time())
            model = {"id": self.server.glm.model, "object": "model", "created": created, "owned_by": "z-ai"}
            self.send_json(200, {"object": "list", "data": [model]})
        else:
            self._not_found(request)

    def do_POST(self) -> None:
        request = self._read_request()
        if _route(request.path) == "chat":
            self._chat(request)
        else:
            self._not_found(request)

    def _not_found(self, request: RecordedRequest) -> None:
        request.outcome = "not_found"
        self.server.glm._record(request)
        self.send_json(404, wire.error_body("1222", f"scripted GLM server: no API at {request.path}"))

    def _read_request(self) -> RecordedRequest:
        """Read the body (Content-Length or chunked) and parse it as JSON when possible."""
        body = _read_body(self)
        headers: dict[str, str] = {}
        for key, value in self.headers.items():
            key = key.lower()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = None
        return RecordedRequest(self.command, self.path, headers, body, parsed, client_port=self.client_address[1])

    def _chat(self, request: RecordedRequest) -> None:
        """Answer a chat completion request from the script."""
        glm = self.server.glm
        if not isinstance(request.json, dict):
            request.outcome = "bad_request"
            glm._record(request)
            self.send_json(400, wire.error_body("1210", "scripted GLM server: body is not a JSON object"))
            return
        try:
            action = glm._dispatch(request)
        except Exception as exc:
            traceback.print_exc()
            request.outcome = "script_error"
            glm._record(request)
            self.send_json(500, wire.error_body("500", f"scripted GLM server: scripted turn raised {exc!r}"))
            return
        request.outcome = ",".join(action.outcome)
        glm._record(request)
        if action.delay:
            time.sleep(action.delay)
        if action.turn is None or action.ctx is None:
            self.send_json(400, wire.error_body("1214", EXHAUSTED_MESSAGE))
            return
        stream = request.json.get("stream") is True
        responder = _Responder(self, action.turn, action.ctx, glm.chunk_delay_s)
        if action.fault is None:
            responder.serve(stream)
        else:
            responder.serve_fault(action.fault, stream)

    def send_json(
        self, status: int, payload: dict[str, Any] | list[Any], headers: dict[str, str] | None = None
    ) -> None:
        """A complete JSON response with Content-Length, so the connection stays reusable."""
        self.send_bytes(status, wire.dumps(payload), "application/json", headers)

    def send_bytes(
        self,
        status: int,
        body: bytes,
        content_type: str,
        headers: dict[str, str] | None = None,
        close: bool = False,
    ) -> None:
        """Send a whole response; with ``close`` the connection is closed afterwards."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)


def _route(path: str) -> str | None:
    """Which API a path addresses: ``chat`` for */chat/completions, ``models`` for */models."""
    clean = urlsplit(path).path.rstrip("/")
    if clean.endswith("/chat/completions"):
        return "chat"
    if clean.endswith("/models"):
        return "models"
    return None


def _read_body(handler: BaseHTTPRequestHandler) -> bytes:
    """The request body, framed by Content-Length or chunked transfer encoding."""
    if "chunked" in handler.headers.get("Transfer-Encoding", "").lower():
        parts: list[bytes] = []
        while True:
            size = int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while handler.rfile.readline().strip():
                    pass
                return b"".join(parts)
            parts.append(handler.rfile.read(size))
            handler.rfile.readline()
    length = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(length) if length else b""


class _Responder:
    """Writes one turn, or one fault, as a streaming or non-streaming GLM response."""

    def __init__(
        self, handler: _Handler, turn: ScriptedTurn, ctx: wire.ResponseContext, chunk_delay_s: float
    ) -> None:
        self.handler = handler
        self.turn = turn
        self.ctx = ctx
        self.chunk_delay_s = chunk_delay_s
        self.pieces = wire.turn_pieces(turn, ctx.turn_number)
        self._events_sent = 0

    def serve(self, stream: bool) -> None:
        """Serve the whole turn."""
        self._finish(self.pieces, self.turn.resolved_finish_reason(), stream)

    def serve_fault(self, fault: Fault, stream: bool) -> None:
        """Serve a fault in place of the turn."""
        if fault.kind == "http_error":
            headers = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after is not None else {}
            if isinstance(fault.body, str):
                self.handler.send_bytes(fault.status, fault.body.encode(), "text/plain", headers)
            else:
                self.handler.send_json(fault.status, fault.body or wire.error_body(fault.error_code(), fault.message), headers)
        elif fault.kind == "json_error_200":
            self.handler.send_json(200, wire.error_body(fault.error_code("1305"), fault.message))
        elif fault.kind == "finish_reason":
            self._finish(self.pieces[: fault.after_chunks], fault.finish_reason, stream)
        elif stream:
            self._broken_stream(fault)
        else:
            self._broken_completion(fault)

    def _finish(self, pieces: list[wire.Piece], finish_reason: str, stream: bool) -> None:
        """A well-formed response made of ``pieces`` and ending with ``finish_reason``."""
        if not stream:
            body = wire.completion(self.ctx, self.turn, pieces, finish_reason)
            self.handler.send_json(200, body)
            return
        usage = wire.usage_for(self.turn, self.ctx, pieces)
        self._open_stream(keep_alive=True)
        self._send_pieces(pieces)
        mode = self.turn.usage_mode
        if mode == "never" or (mode == "when_asked" and not self.ctx.usage_requested):
            self._event(wire.sse(wire.final_chunk(self.ctx, finish_reason, None)))
        elif self.turn.usage_in_separate_chunk or mode == "when_asked":
            self._event(wire.sse(wire.final_chunk(self.ctx, finish_reason, None)))
            self._event(wire.sse(wire.usage_chunk(self.ctx, usage)))
        else:
            self._event(wire.sse(wire.final_chunk(self.ctx, finish_reason, usage)))
        self._event(wire.sse("[DONE]"))
        self._write(b"0\r\n\r\n")

    def _broken_stream(self, fault: Fault) -> None:
        """Some normal chunks, then a dropped socket, a garbled event or an in-stream error."""
        self._open_stream(keep_alive=fault.kind == "drop")
        self._send_pieces(self.pieces[: fault.after_chunks])
        if fault.kind == "drop":
            self._drop()
            return
        if fault.kind == "malformed":
            self._event(wire.sse(fault.event) if fault.event is not None else wire.malformed_event(self.ctx))
        else:
            self._event(wire.sse(wire.error_body(fault.error_code(), fault.message)))
        self._write(b"0\r\n\r\n")

    def _broken_completion(self, fault: Fault) -> None:
        """The non-streaming forms of drop, malformed and error_in_stream."""
        if fault.kind == "drop":
            self._drop()
        elif fault.kind == "malformed":
            self.handler.send_bytes(200, wire.truncated_completion(self.ctx), "application/json", close=True)
        else:
            self.handler.send_json(200, wire.error_body(fault.error_code(), fault.message))

    def _open_stream(self, keep_alive: bool) -> None:
        """Status line and headers of a chunked ``text/event-stream`` response."""
        handler = self.handler
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream")
        handler.send_header("Cache-Control", "no-cache")
        handler.send_header("Transfer-Encoding", "chunked")
        handler.send_header("Connection", "keep-alive" if keep_alive else "close")
        handler.close_connection = not keep_alive
        handler.end_headers()

    def _send_pieces(self, pieces: list[wire.Piece]) -> None:
        for piece in pieces:
            self._event(wire.sse(wire.chunk(self.ctx, piece.delta), raw_controls=self.turn.raw_control_characters))

    def _event(self, data: bytes) -> None:
        """One SSE event as one HTTP chunk, paced by ``chunk_delay_s``."""
        if self._events_sent and self.chunk_delay_s:
            time.sleep(self.chunk_delay_s)
        self._events_sent += 1
        self._write(f"{len(data):X}\r\n".encode() + data + b"\r\n")

    def _write(self, data: bytes) -> None:
        self.handler.wfile.write(data)
        self.handler.wfile.flush()

    def _drop(self) -> None:
        """Close the socket abruptly, leaving the response unfinished."""
        self.handler.close_connection = True
        try:
            self.handler.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


"""Server-sent events read off a streaming HTTP response, to the end of the body.

Reading to the end (past `data: [DONE]`) is what lets the HTTP client put the connection back
in its pool: stopping at `[DONE]` and closing, as the openai SDK's own stream does, costs a new
TCP (and TLS) handshake on every model turn.

Lines end only where the SSE standard (WHATWG HTML, "Server-sent events") says they do: at CRLF,
a lone LF or a lone CR. Python's `str.splitlines` (and so httpx's `iter_lines`) also splits at
U+2028, U+2029, U+0085, VT, FF and FS/GS/RS, characters a model may write raw inside the JSON of a
chunk; splitting there would cut the chunk in two.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

_LINE_END = re.compile(rb"\r\n|\r|\n")
_BOM = "\ufeff"


class StreamBroken(Exception):
    """The connection failed or was cut while the body was being read."""


def iter_data(response: Any) -> Iterator[str]:
    """Yield the `data` of each event of `response` (an httpx response), `[DONE]` included.

    An event's `data` lines are joined with `\\n`; an event left open when the body ends is still
    yielded. Raises `StreamBroken` when the transport fails while the body is read."""
    data: list[str] = []
    for line in iter_lines(_guarded(response.iter_bytes())):
        if line.startswith("data:"):
            data.append(line[6:] if line.startswith("data: ") else line[5:])
        elif not line and data:
            yield "\n".join(data)
            data = []
    if data:
        yield "\n".join(data)


def iter_lines(chunks: Iterable[bytes]) -> Iterator[str]:
    """The lines of an SSE body given as byte chunks cut anywhere, without their endings.

    Only CRLF, LF and CR end a line (a CR at the end of a chunk waits for the next chunk, which may
    start with its LF). Each line is decoded as UTF-8 (invalid bytes become U+FFFD; a line break
    byte never occurs inside a UTF-8 sequence, so splitting bytes first is safe); a leading byte
    order mark is dropped. The text after the last line ending, if any, is the last line."""
    buffer = bytearray()
    first = True
    for chunk in chunks:
        scan_from = max(len(buffer) - 1, 0)  # the rest was scanned already; a held-back CR is re-read
        buffer += chunk
        start = 0
        for match in _LINE_END.finditer(buffer, scan_from):
            if match.end() == len(buffer) and buffer[match.start()] == 0x0D and match.end() - match.start() == 1:
                break  # a lone CR at the end: the next chunk may start with the LF of its CRLF
            line = buffer[start : match.start()].decode("utf-8", errors="replace")
            start = match.end()
            if first:
                line, first = line.removeprefix(_BOM), False
            yield line
        del buffer[:start]
    if buffer:
        line = bytes(buffer).removesuffix(b"\r").decode("utf-8", errors="replace")
        yield line.removeprefix(_BOM) if first else line


def _guarded(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """`chunks` with the transport's own errors (timeouts, resets, cut bodies) as `StreamBroken`."""
    while True:
        try:
            chunk = next(chunks)
        except StopIteration:
            return
        except Exception as exc:
            raise StreamBroken(f"{type(exc).__name__}: {exc}") from exc
        yield chunk

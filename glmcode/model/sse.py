"""Server-sent events read off a streaming HTTP response, to the end of the body.

Reading to the end (past `data: [DONE]`) is what lets the HTTP client put the connection back
in its pool: stopping at `[DONE]` and closing, as the openai SDK's own stream does, costs a new
TCP (and TLS) handshake on every model turn.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


class StreamBroken(Exception):
    """The connection failed or was cut while the body was being read."""


def iter_data(response: Any) -> Iterator[str]:
    """Yield the `data` of each event of `response` (an httpx response), `[DONE]` included."""
    lines = response.iter_lines()
    data: list[str] = []
    while True:
        try:
            line = next(lines)
        except StopIteration:
            break
        except Exception as exc:  # the transport's own errors: timeouts, resets, cut bodies
            raise StreamBroken(f"{type(exc).__name__}: {exc}") from exc
        if line.startswith("data:"):
            data.append(line[6:] if line.startswith("data: ") else line[5:])
        elif not line and data:
            yield "\n".join(data)
            data = []
    if data:
        yield "\n".join(data)

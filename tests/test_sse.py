"""SSE framing (`glmcode.model.sse`): lines end only at CRLF, LF or CR, wherever the body is cut."""

from __future__ import annotations

import pytest

from glmcode.model.sse import StreamBroken, iter_data, iter_lines

PYTHON_LINE_BREAKS = ["\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e"]
"""Characters `str.splitlines` ends a line at and SSE does not."""


class _Response:
    """What `iter_data` reads of an httpx response: its body as byte chunks, or a transport error."""

    def __init__(self, chunks: list[bytes], error: Exception | None = None) -> None:
        self.chunks, self.error = chunks, error

    def iter_bytes(self):
        yield from self.chunks
        if self.error is not None:
            raise self.error


def _cut_everywhere(body: bytes) -> list[list[bytes]]:
    """`body` whole, byte by byte, and in two pieces at every offset."""
    return [[body], [body[i : i + 1] for i in range(len(body))]] + [[body[:i], body[i:]] for i in range(1, len(body))]


@pytest.mark.parametrize("char", PYTHON_LINE_BREAKS, ids=[f"U+{ord(c):04X}" for c in PYTHON_LINE_BREAKS])
def test_a_character_python_breaks_lines_at_stays_inside_the_event(char: str) -> None:
    data = '{"choices":[{"delta":{"content":"a' + char + 'b"}}]}'  # raw, even a control character
    body = f"data: {data}\n\ndata: [DONE]\n\n".encode()
    for chunks in _cut_everywhere(body):
        assert list(iter_data(_Response(chunks))) == [data, "[DONE]"], chunks


@pytest.mark.parametrize("ending", [b"\n", b"\r\n", b"\r"], ids=["LF", "CRLF", "CR"])
def test_each_sse_line_ending_ends_a_line_wherever_the_body_is_cut(ending: bytes) -> None:
    body = ending.join([b"event: x", b"data: one", b"data:two", b"", b"data: three", b"", b""])
    for chunks in _cut_everywhere(body):
        assert list(iter_data(_Response(chunks))) == ["one\ntwo", "three"], chunks


def test_a_byte_order_mark_and_a_last_line_without_ending() -> None:
    assert list(iter_lines([b"\xef\xbb\xbfdata: x\r", b"\ndata: y"])) == ["data: x", "data: y"]
    assert list(iter_lines([b"a\r"])) == ["a"]
    assert list(iter_lines([b"\xe2\x80", b"\xa8\n"])) == ["\u2028"], "a character cut between chunks is whole again"


def test_a_transport_error_while_reading_is_stream_broken() -> None:
    with pytest.raises(StreamBroken, match="OSError: reset"):
        list(iter_data(_Response([b"data: x\n\n"], OSError("reset"))))

"""The one output budget: what `cut` keeps, the note it leaves, and `HeadTail` agreeing with it."""

from __future__ import annotations

import random

import pytest

from glmcode.output_budget import (
    DEFAULT_LIMIT,
    HEAD_SHARE,
    MIN_LIMIT,
    TAIL_SHARE,
    HeadTail,
    cut,
    note,
)


def test_note_shape() -> None:
    assert note(20_000, 312) == "[... 20,000 characters (312 lines) cut ...]"
    assert note(1, 1) == "[... 1 character (1 line) cut ...]"
    assert note(1_234) == "[... 1,234 characters cut ...]"
    assert note(50, 2, "call again with offset=3") == "[... 50 characters (2 lines) cut; call again with offset=3 ...]"


def test_shares_and_default() -> None:
    assert HEAD_SHARE + TAIL_SHARE == 1 and 0 < HEAD_SHARE < TAIL_SHARE
    assert DEFAULT_LIMIT == 50_000 and MIN_LIMIT <= 1000


def test_empty_text_is_empty() -> None:
    assert cut("") == ""
    assert cut("", MIN_LIMIT) == ""


def test_exactly_at_the_limit_is_untouched() -> None:
    text = "x" * 999 + "\n"
    assert cut(text, 1000) is text


def test_one_over_the_limit_is_cut_to_the_limit_with_one_note() -> None:
    text = "".join(f"{i:04}\n" for i in range(200)) + "!"  # 1001 characters
    out = cut(text, 1000)
    assert len(out) <= 1000
    head, rest = out.split("\n[... ", 1)
    marker, tail = rest.split(" ...]\n", 1)
    removed = len(text) - len(head) - len(tail)
    assert text.startswith(head) and text.endswith(tail)
    assert marker == f"{removed:,} characters ({text[len(head) : len(head) + removed].count(chr(10))} lines) cut"
    assert len(head) == int((1000 - len(marker) - 12) * HEAD_SHARE)  # the room left by "\n[... " + marker + " ...]\n"


def test_head_and_tail_shares() -> None:
    text = "a" * 30_000 + "b" * 40_000
    out = cut(text)
    assert len(out) == DEFAULT_LIMIT
    head, tail = out.split("\n[... 20,033 characters cut ...]\n")
    assert head == "a" * 19_986 and tail == "b" * 29_981


def test_multibyte_text_is_cut_in_characters_not_bytes() -> None:
    text = "é€😀" * 1000  # 3000 characters, 9000 bytes
    out = cut(text, 1000)
    assert len(out) == 1000 and "\ufffd" not in out
    head, tail = out.split("\n[... 2,032 characters cut ...]\n")
    assert len(head) + 2_032 + len(tail) == 3000
    assert text.startswith(head) and text.endswith(tail)


def test_one_huge_line_says_no_lines() -> None:
    out = cut("z" * 1_000_000, 500)
    assert len(out) == 500
    assert "\n[... 999,534 characters cut ...]\n" in out


def test_many_lines_count_the_line_breaks_cut() -> None:
    text = "line\n" * 10_000
    out = cut(text, 1000)
    head, rest = out.split("\n[... ", 1)
    marker, tail = rest.split(" ...]\n", 1)
    assert marker == "49,047 characters (9,809 lines) cut"
    assert text.count("\n") - head.count("\n") - tail.count("\n") == 9_809
    assert len(head) + 49_047 + len(tail) == len(text)


def test_hint_goes_into_the_note_and_the_limit_still_holds() -> None:
    out = cut("q" * 5000, 300, "narrow the pattern")
    assert len(out) <= 300 and out.count("[... ") == 1
    assert "characters cut; narrow the pattern ...]" in out


def test_limit_below_the_minimum_is_refused() -> None:
    with pytest.raises(ValueError, match="below the minimum"):
        cut("x", MIN_LIMIT - 1)
    with pytest.raises(ValueError):
        HeadTail(10)


@pytest.mark.parametrize("limit", [MIN_LIMIT, 1000, 4321])
def test_never_longer_than_the_limit(limit: int) -> None:
    rng = random.Random(limit)
    for length in [limit - 1, limit, limit + 1, limit + 2, 2 * limit, 10 * limit + 7]:
        text = "".join(rng.choice("ab\né") for _ in range(length))
        out = cut(text, limit)
        assert len(out) <= limit
        assert out == text if length <= limit else out.count("[... ") == 1


def test_head_tail_pieces_give_what_cut_gives() -> None:
    rng = random.Random(7)
    text = "".join(rng.choice("xyz\n€") for _ in range(30_000))
    for sizes in ([1], [7, 300], [4096], [29_999, 1], [50_000]):
        kept = HeadTail(2000)
        position = 0
        while position < len(text):
            size = sizes[position % len(sizes)]
            kept.add(text[position : position + size])
            position += size
        assert kept.total_chars == 30_000
        assert kept.text() == cut(text, 2000)
        assert kept.text("hint") == cut(text, 2000, "hint")


def test_head_tail_frames_are_kept_whole_within_the_limit() -> None:
    kept = HeadTail(300)
    kept.add("o" * 1000)
    out = kept.text(before="exit code: 0\n", after="\n[stopped]")
    assert out.startswith("exit code: 0\nooo") and out.endswith("ooo\n[stopped]")
    assert len(out) <= 300 and out.count("[... ") == 1
    small = HeadTail(300)
    small.add("short")
    assert small.text(before="$ cmd\n", after="!") == "$ cmd\nshort!"
    tight = HeadTail(300)
    tight.add("p" * 290)
    assert len(tight.text(before="h" * 20)) <= 300 and "[... " in tight.text(before="h" * 20)

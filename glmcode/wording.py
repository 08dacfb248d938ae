"""Words that agree with their numbers, for every summary glmcode writes (tools, engine, front ends)."""

from __future__ import annotations


def plural(count: int, noun: str, nouns: str | None = None, *, number: str | None = None) -> str:
    """`1 turn`, `0 turns`, `2 fix rounds`: `count` and the noun, singular only for exactly 1.

    `nouns` is an irregular plural (default: `noun` + "s"); `number` shows the count another
    way (`1.2k`, `12,345`), the noun still agreeing with `count`.
    """
    word = noun if count == 1 else (nouns or noun + "s")
    return f"{count if number is None else number} {word}"

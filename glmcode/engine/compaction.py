"""Compaction: when the context fills up, the model summarises the conversation and it restarts.

The summary request is one more turn on the existing conversation (so it still hits the
cache); then the conversation restarts from the same system message plus the summary, and the
transcript records a `reset` so a resumed session replays only what the model now sees.

This module knows the conversation and three callbacks, not the agent that owns them, so the
agent can call it without the two importing each other.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from glmcode import prompts
from glmcode.engine.events import Compaction
from glmcode.model.conversation import Conversation

AUTO_COMPACT_SHARE = 0.85
"""Compact before a request when the last prompt used more than this share of the window."""


def compact(
    conversation: Conversation,
    *,
    ask: Callable[[str], str],
    append: Callable[[dict[str, Any]], None],
    record_reset: Callable[[], None],
    tokens_before: int = 0,
) -> Compaction:
    """Summarise and restart `conversation`; return the `Compaction` event (not emitted).

    `ask(text)` appends `text` as a user message, makes one model request and returns the
    answer's text (its tool calls are not run); `append(message)` adds a message to the
    conversation and the transcript; `record_reset()` marks the restart in the transcript.
    `tokens_before` is the last request's prompt tokens (0: estimated from the body, 4 bytes a
    token). Errors of the request (`APIFailure`, an interrupt) propagate and leave the
    conversation as it was plus the summary request.
    """
    tokens_before = tokens_before or conversation.size_bytes() // 4
    dropped = sum(1 for m in conversation.messages if m["role"] == "assistant")
    summary = ask(prompts.load("compact.md"))
    system = conversation.messages[0]
    record_reset()
    conversation.restart([])
    append(system)
    append({"role": "user", "content": prompts.render("compacted.md", summary=summary)})
    return Compaction(tokens_before=tokens_before, tokens_after=conversation.size_bytes() // 4, dropped_turns=dropped)

"""Compaction: when the context fills up, the model summarises the conversation and it restarts.

The summary request is one more turn on the existing conversation (so it still hits the
cache); then the conversation restarts from the same system message plus the summary, and the
transcript records a `reset` so a resumed session replays only what the model now sees.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from glmcode import prompts
from glmcode.engine.events import Compaction

if TYPE_CHECKING:
    from glmcode.engine.agent import Agent

AUTO_COMPACT_SHARE = 0.85
"""Compact before a request when the last prompt used more than this share of the window."""


def compact(agent: Agent, record_reset: Callable[[], None]) -> Compaction:
    """Summarise and restart `agent`'s conversation; return the `Compaction` event (not emitted)."""
    conversation = agent.conversation
    tokens_before = agent.last_prompt_tokens or conversation.size_bytes() // 4
    dropped = sum(1 for m in conversation.messages if m["role"] == "assistant")
    agent.say(prompts.load("compact.md"))
    summary = agent.request_text()
    system = conversation.messages[0]
    record_reset()
    conversation.restart([])
    agent.append(system)
    agent.append({"role": "user", "content": prompts.render("compacted.md", summary=summary)})
    return Compaction(tokens_before=tokens_before, tokens_after=conversation.size_bytes() // 4, dropped_turns=dropped)

"""A resumed session's earlier messages, shown briefly before the conversation goes on."""

from __future__ import annotations

import json
from typing import Any

from rich.text import Text

from glmcode.ui import present

MAX_EXCHANGES = 12
CALL_CHARS = 70
"""A replayed tool call's title is cut to this many characters."""
PROMPT_LINES = 3
ANSWER_LINES = 4


def _excerpt(text: str, lines: int) -> str:
    parts = present.printable(text).strip().split("\n")
    shown = "\n".join(parts[:lines])
    return shown + ("\n…" if len(parts) > lines else "")


def _arguments(raw: Any) -> Any:
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    return raw


def replay_text(messages: list[dict[str, Any]]) -> Text:
    """The last exchanges of `messages`: prompts, tool calls (one line each), answer excerpts."""
    exchanges: list[list[Text]] = []
    for message in messages:
        role = message.get("role")
        if role == "user":
            exchanges.append([Text.assemble(("› ", "bold"), _excerpt(str(message.get("content", "")), PROMPT_LINES))])
        elif role == "assistant" and exchanges:
            for call in message.get("tool_calls") or ():
                function = call.get("function", {})
                name = str(function.get("name", ""))
                call_line = present.call_line(name, _arguments(function.get("arguments")), limit=CALL_CHARS)
                exchanges[-1].append(Text(f"  → {call_line}", style="dim"))
            content = str(message.get("content") or "").strip()
            if content:
                exchanges[-1].append(Text("  " + _excerpt(content, ANSWER_LINES).replace("\n", "\n  ")))
    shown = exchanges[-MAX_EXCHANGES:]
    text = Text()
    if len(exchanges) > len(shown):
        text.append(f"… {present.plural(len(exchanges) - len(shown), 'earlier prompt')}\n", style="dim")
    for exchange in shown:
        for line in exchange:
            text.append_text(line)
            text.append("\n")
    text.rstrip()
    return text

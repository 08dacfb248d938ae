"""Baseline for `run.py`: the smallest honest tool loop written directly on the `openai` SDK.

Usage: ``python bare_sdk_loop.py SPEC.json`` with the server in ``BENCH_BASE_URL``, run in the
benchmark repo. SPEC holds the request head glmcode sent (model, tools, GLM switches), its system
prompt and the user prompt, so both loops send requests of the same shape and size.

Per turn it does what any agent must: one streamed ``chat.completions.create`` call, reassemble
the content and tool-call fragments, append the assistant message, run the calls (only
``read_file`` of a workspace file is supported) and append their results. At the end it prints
one JSON result line, flushes, and leaves with ``os._exit`` like glmcode does, so 1-turn totals
compare the work of the two programs rather than interpreter shutdown.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from openai import OpenAI

PASSED = ("model", "messages", "stream", "tools", "tool_choice", "max_tokens")


def read_file(arguments: str) -> str:
    path = Path(json.loads(arguments or "{}").get("path", ""))
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        return f"Error: {exc}"
    return "\n".join(f"{number:6d}\t{line}" for number, line in enumerate(lines, 1))


def main() -> int:
    spec = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    head = spec["head"]
    client = OpenAI(base_url=os.environ["BENCH_BASE_URL"], api_key="bench", max_retries=0)
    messages: list[dict] = [{"role": "system", "content": spec["system"]}, {"role": "user", "content": spec["prompt"]}]
    extra_body = {key: value for key, value in head.items() if key not in PASSED}
    turns = 0
    while True:
        stream = client.chat.completions.create(
            model=head["model"],
            messages=messages,
            tools=head.get("tools") or [],
            tool_choice=head.get("tool_choice", "auto"),
            max_tokens=head.get("max_tokens"),
            stream=True,
            extra_body=extra_body,
        )
        content: list[str] = []
        reasoning: list[str] = []
        calls: dict[int, dict[str, str]] = {}
        for chunk in stream:
            if not chunk.choices:
                continue
            delta = chunk.choices[0].delta
            if delta.content:
                content.append(delta.content)
            thought = getattr(delta, "reasoning_content", None)
            if thought:
                reasoning.append(thought)
            for fragment in delta.tool_calls or ():
                slot = calls.setdefault(fragment.index, {"id": "", "name": "", "arguments": ""})
                if fragment.id:
                    slot["id"] = fragment.id
                if fragment.function is not None:
                    if fragment.function.name:
                        slot["name"] = fragment.function.name
                    if fragment.function.arguments:
                        slot["arguments"] += fragment.function.arguments
        turns += 1
        message: dict = {"role": "assistant", "content": "".join(content)}
        if reasoning:
            message["reasoning_content"] = "".join(reasoning)
        if calls:
            message["tool_calls"] = [
                {"id": c["id"], "type": "function", "function": {"name": c["name"], "arguments": c["arguments"]}}
                for _, c in sorted(calls.items())
            ]
        messages.append(message)
        if not calls:
            break
        for _, call in sorted(calls.items()):
            output = read_file(call["arguments"]) if call["name"] == "read_file" else f"Error: unknown tool {call['name']}"
            messages.append({"role": "tool", "tool_call_id": call["id"], "content": output})
    sys.stdout.write(json.dumps({"type": "result", "status": "success", "turns": turns, "summary": message["content"]}) + "\n")
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()

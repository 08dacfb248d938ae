"""How fast the interactive UI takes a streamed turn: deltas/s, key-to-screen latency, memory.

Run with the project's interpreter::

    .venv/bin/python benchmarks/tui_stream.py [--deltas 20000] [--rate 0] [--json out.json]

The real app runs under Textual's test harness (`App.run_test`, headless). A producer thread
plays the engine: it creates one `ReasoningDelta` or `TextDelta` event per delta and hands it to the app's
bridge, exactly as `Session.emit` does — first the reasoning, then a Markdown answer with
headings, paragraphs, lists and code blocks. With `--rate 0` (the default) it pushes as fast as
it can, which measures what the UI can absorb; `--rate N` offers N deltas a second, in small bursts every 2 ms the way a
stream read brings several SSE events at once.

Reported:

- deltas/s end to end: from the first delta put to the moment the last one is on its widget
  (reasoning text complete, answer's open block rendered, nothing left in the bridge);
- key-to-screen latency while streaming: every 40 ms a key press goes into the prompt input the
  way the terminal driver delivers it; the time until the input's text holds it (the next
  screen refresh paints it, at most one frame later). Worst, median and count;
- memory: RSS before the turn, right after it and after `gc.collect()`; then three times the
  turn is cleared from the view (as /clear does), the live Python objects and RSS measured,
  and the turn streamed again — "flat" means each cleared turn left nothing behind.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REASONING_PARAGRAPH = (
    "The user wants the parser to accept both spellings of the field. I should check where the "
    "chunk is decoded, then add the fallback without changing the order of the checks. "
    "The tests cover the old spelling only, so I will add one for the new one.\n\n"
)
ANSWER_SECTION = """## Step {n}: what changed

The parser now accepts `reasoning` as well as `reasoning_content`, and **never** overwrites a known
value with an empty one. Streaming keeps the cost of a delta flat.

- the decoder reads both fields
- an empty fragment is ignored
- the order of the checks is unchanged

```python
def reasoning_of(delta: dict) -> str:
    for key in ("reasoning_content", "reasoning"):
        value = delta.get(key)
        if value:
            return value
    return ""
```

1. run the tests
2. run the linter

"""


READ_INTERVAL_S = 0.002
"""How often the paced producer wakes up, like a network read that brings a few SSE events."""


def make_deltas(count: int, size: int = 4) -> list[tuple[str, str]]:
    """`count` deltas of `size` characters: the first half reasoning, the second a Markdown answer."""
    half = count // 2
    reasoning = (REASONING_PARAGRAPH * (half * size // len(REASONING_PARAGRAPH) + 1))[: half * size]
    answer_chars = (count - half) * size
    answer = "".join(ANSWER_SECTION.format(n=n) for n in range(answer_chars // len(ANSWER_SECTION) + 2))[:answer_chars]
    return [("reasoning", reasoning[i : i + size]) for i in range(0, len(reasoning), size)] + [
        ("text", answer[i : i + size]) for i in range(0, len(answer), size)
    ]


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def live_objects() -> int:
    """Python objects alive after a full collection (the app's frozen ones included)."""
    gc.unfreeze()
    gc.collect()
    return len(gc.get_objects())


def make_app(folder: Path):
    """The real app on a throwaway repo, with a config whose endpoint is never called."""
    os.environ["GLMCODE_CONFIG_DIR"] = str(folder / "user-config")
    repo = folder / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    from glmcode.config import load_config
    from glmcode.ui.tui.app import GlmcodeApp

    config = load_config(repo, {"base_url": "http://127.0.0.1:9/v1", "api_key": "bench-key-0000"})
    return GlmcodeApp(config, repo)


async def wait_until(predicate, timeout: float = 120.0) -> None:
    deadline = time.perf_counter() + timeout
    while not predicate():
        if time.perf_counter() > deadline:
            raise TimeoutError("the benchmark condition never came true")
        await asyncio.sleep(0.002)


async def stream_turn(app, deltas: list[tuple[str, str]], rate: float, measure_keys: bool) -> dict:
    """Push one turn's deltas from a thread; return throughput and key latencies."""
    from textual import events

    from glmcode.engine.events import ReasoningDelta, TextDelta

    turn = app.start_exchange("benchmark turn")
    reasoning_total = sum(len(t) for k, t in deltas if k == "reasoning")
    answer_total = sum(len(t) for k, t in deltas if k == "text")
    prompt = app.prompt_input
    prompt.load_text("")
    done_pushing = threading.Event()

    def produce() -> None:
        """Like the engine reading a stream: wake up every few ms and emit the deltas that are due."""
        put = app.bridge.put
        started = time.perf_counter()
        index = 0
        while index < len(deltas):
            due = len(deltas) if not rate else min(len(deltas), int((time.perf_counter() - started) * rate) + 1)
            for kind, text in deltas[index:due]:
                put(ReasoningDelta(text=text) if kind == "reasoning" else TextDelta(text=text))
            index = due
            if rate:
                time.sleep(READ_INTERVAL_S)
        done_pushing.set()

    def rendered() -> bool:
        return (
            done_pushing.is_set()
            and app.bridge.pending == 0
            and len(turn.reasoning_text) == reasoning_total
            and len(turn.answer_text) == answer_total
            and turn.settled
        )

    latencies: list[float] = []

    async def press_keys() -> None:
        while not rendered():
            before = len(prompt.text)
            sent = time.perf_counter()
            key = events.Key("x", "x")
            key.set_sender(app)
            app._driver.send_message(key)
            while len(prompt.text) == before:
                await asyncio.sleep(0.0005)
            latencies.append(time.perf_counter() - sent)
            await asyncio.sleep(0.04)

    started = time.perf_counter()
    threading.Thread(target=produce, name="fake-engine", daemon=True).start()
    keys = asyncio.create_task(press_keys()) if measure_keys else None
    try:
        await wait_until(rendered)
    except TimeoutError:
        raise TimeoutError(
            f"not rendered: pushed={done_pushing.is_set()} pending={app.bridge.pending} "
            f"reasoning={len(turn.reasoning_text)}/{reasoning_total} answer={len(turn.answer_text)}/{answer_total}"
        ) from None
    elapsed = time.perf_counter() - started
    if keys is not None:
        await keys
    return {"seconds": elapsed, "deltas_per_s": len(deltas) / elapsed, "latencies": latencies}


async def main_async(args: argparse.Namespace) -> dict:
    deltas = make_deltas(args.deltas)
    with tempfile.TemporaryDirectory(prefix="glmcode-tui-bench-") as tmp:
        app = make_app(Path(tmp))
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_until(lambda: app.session is not None and not app.busy)
            await wait_until(lambda: "openai" in sys.modules)
            await pilot.pause(0.5)
            objects_before = live_objects()
            rss_before = rss_mb()
            first = await stream_turn(app, deltas, args.rate, measure_keys=True)
            rss_after = rss_mb()
            gc.collect()
            rss_after_gc = rss_mb()
            cleared: list[tuple[int, float]] = []
            for _ in range(3):
                await app.clear_conversation()
                await pilot.pause(0.2)
                cleared.append((live_objects(), rss_mb()))
                await stream_turn(app, deltas, args.rate, measure_keys=False)
            app.exit()
    latencies = first["latencies"]
    return {
        "deltas": len(deltas),
        "offered_rate": args.rate or "unpaced",
        "seconds": round(first["seconds"], 3),
        "deltas_per_s": round(first["deltas_per_s"]),
        "key_presses": len(latencies),
        "key_latency_worst_ms": round(max(latencies) * 1000, 1) if latencies else None,
        "key_latency_median_ms": round(statistics.median(latencies) * 1000, 1) if latencies else None,
        "rss_before_mb": round(rss_before, 1),
        "rss_after_turn_mb": round(rss_after, 1),
        "rss_after_gc_mb": round(rss_after_gc, 1),
        "rss_after_turns_1_2_3_cleared_mb": [round(rss, 1) for _, rss in cleared],
        "live_objects_before": objects_before,
        "live_objects_after_turns_1_2_3_cleared": [objects for objects, _ in cleared],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deltas", type=int, default=20_000)
    parser.add_argument("--rate", type=float, default=0.0, help="deltas per second offered (0: as fast as possible)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    figures = asyncio.run(main_async(args))
    width = max(len(k) for k in figures)
    for key, value in figures.items():
        print(f"{key:<{width}}  {value}")
    latency_ok = (figures["key_latency_worst_ms"] or 0) <= 50
    if args.rate:
        kept_up = figures["deltas_per_s"] >= 0.95 * args.rate
        print(f"kept up with {args.rate:g} deltas/s offered: {'yes' if kept_up else 'NO'}; worst key latency <= 50 ms: {'yes' if latency_ok else 'NO'}")
    else:
        met = figures["deltas_per_s"] >= 5000 and latency_ok
        print("targets (>= 5000 deltas/s, worst key latency <= 50 ms):", "met" if met else "MISSED")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

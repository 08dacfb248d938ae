"""Cost of the redaction step per event: a `tool_result` carrying 50 KB of tool output.

    .venv/bin/python benchmarks/redaction.py [--secrets N] [--repeat R]

Every event passes `Redactor.value` once in `Session.emit` (DESIGN.md §6). This measures that
call on a `ToolResultEvent` whose output is 50 KB of source-like text, with the API key plus
N-1 secret-looking environment variables to hide: output holding no secret (the common case),
and output holding each secret once. Beside it, the cost of serialising the same event for
stream-json (`to_json`), the work every event costs anyway. Medians of R runs, in microseconds.
"""

from __future__ import annotations

import argparse
import random
import statistics
import string
import time
from collections.abc import Callable

from glmcode.engine.events import ToolResultEvent
from glmcode.redaction import Redactor

LINE = "    def handler(self, request: Request) -> Response:  # returns 200 on success\n"


def median_us(fn: Callable[[], object], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1e6)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--secrets", type=int, default=6, help="secrets to hide, the API key included")
    parser.add_argument("--repeat", type=int, default=300)
    args = parser.parse_args()
    rng = random.Random(7)
    alphabet = string.ascii_letters + string.digits
    values = {f"SERVICE{i}_TOKEN": "".join(rng.choices(alphabet, k=40)) for i in range(args.secrets - 1)}
    redactor = Redactor.for_session("".join(rng.choices(alphabet, k=49)), values)
    clean = (LINE * (50_000 // len(LINE) + 1))[:50_000]
    dirty = clean[: 50_000 - sum(len(v) + 1 for v in values.values())] + "".join(f"{v}\n" for v in values.values())
    rows = []
    for label, output in (("no secret in the output", clean), (f"{len(values)} secrets in the output", dirty)):
        event = ToolResultEvent(id="call_1", name="read_file", ok=True, output=output, summary="50 KB")
        redacted = redactor.value(event)
        assert all(v not in redacted.output for v in values.values())
        rows.append((label, median_us(lambda event=event: redactor.value(event), args.repeat), median_us(event.to_json, args.repeat)))
    print(f"{len(redactor.forms)} forms to hide; 50 KB tool_result; median of {args.repeat}\n")
    print("| output | redact (µs) | to_json (µs) |\n|---|---|---|")
    for label, redact, dump in rows:
        print(f"| {label} | {redact:.0f} | {dump:.0f} |")


if __name__ == "__main__":
    main()

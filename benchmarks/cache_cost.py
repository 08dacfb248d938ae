"""Prefix-cache share and cost of a scripted 100-turn goal, with and without compaction.

Run with the project's interpreter::

    .venv/bin/python benchmarks/cache_cost.py [--window 24000] [--json out.json]

The real `glmcode run --goal … --yes --output-format stream-json` works a goal in a throwaway repo
against the scripted server with its prefix cache on (`GLMServer(prefix_cache=True)`: a request's
cached tokens are the longest prefix it shares with any earlier request, in 16-token blocks, 4
bytes a token). The scripted model makes exactly 100 work turns: a plan (`update_plan`, then
stop), 95 `read_file` calls over 20 files of ~4 KB, the fix (`edit_file`), stop, and the report
after the harness's verify passed. A compaction's summary request is answered with a summary and
does not count as a work turn.

Two runs of the same script, side by side: with the default 1M-token window (no compaction: the
baseline) and with a small window (`GLMCODE_CONTEXT_WINDOW`, default 24,000 tokens) that makes
glmcode compact several times. Cost is computed from the `usage` events at Z.ai's glm-5.2 prices
(USD per 1M tokens: input 1.40, output 4.40, cached input 0.26).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as bench

PRICE_INPUT, PRICE_OUTPUT, PRICE_CACHED = 1.40, 4.40, 0.26
"""Z.ai glm-5.2, USD per 1M tokens (DESIGN.md §2)."""
WORK_TURNS = 100
READS = WORK_TURNS - 5
MODULES = 20
GOAL = "Make calc.add add (python check.py must pass); read the modules first to learn the codebase's conventions."
SUMMARY = "Summary: the task is to make calc.add add; the plan has one step; modules read so far follow one pattern; next: read the rest, then fix calc.py."


def module_text(index: int) -> str:
    """A ~4 KB Python module, different for every index."""
    lines = [f'"""Module {index}: request handlers."""', ""]
    number = 0
    while sum(len(line) + 1 for line in lines) < 4000:
        number += 1
        lines.append(f"def handler_{index}_{number}(request, *, retries=3):\n    return dispatch(request, 'route/{index}/{number}')\n")
    return "\n".join(lines)


def summary_markers() -> list[str]:
    """Text by which a compaction's summary request is recognised: the opening of the prompt that asks for it."""
    from glmcode import prompts

    markers = []
    for name in ("compact.md",):
        try:
            markers.append(prompts.load(name).strip()[:60])
        except (OSError, KeyError, ValueError):
            continue
    return markers


class ScriptedModel:
    """The scripted model: answers each request from the work sequence, or with a summary when
    glmcode asks for one (its last message holds the summary prompt). Thread-safe enough: the
    server asks for one turn at a time."""

    def __init__(self) -> None:
        from glmcode.testing import ScriptedToolCall, ScriptedTurn

        call = ScriptedToolCall
        steps = [ScriptedTurn(tool_calls=[call(name="update_plan", arguments={"steps": [{"step": "Read the modules", "status": "pending"}, {"step": "Fix add", "status": "pending"}]})])]
        steps.append(ScriptedTurn(content="Plan: read the modules, then fix add; verify with python check.py."))
        steps += [ScriptedTurn(tool_calls=[call(name="read_file", arguments={"path": f"src/module_{i % MODULES}.py", "offset": 1 + i // MODULES})]) for i in range(READS)]
        steps.append(ScriptedTurn(tool_calls=[call(name="edit_file", arguments={"path": "calc.py", "old_string": "a - b", "new_string": "a + b"})]))
        steps.append(ScriptedTurn(content="Changed add."))
        steps.append(ScriptedTurn(content="## What changed\n- calc.py: add now adds.\n\n## Verification\n- PASS `python check.py`"))
        assert len(steps) == WORK_TURNS
        self.steps = steps
        self.summary = ScriptedTurn(content=SUMMARY)
        self.markers = summary_markers()
        self.done = 0
        self.summaries = 0
        self.lock = threading.Lock()

    def __call__(self, request: dict[str, Any]) -> Any:
        messages = request.get("messages") or []
        last = messages[-1] if messages else {}
        text = last.get("content") if isinstance(last.get("content"), str) else ""
        with self.lock:
            if any(marker in text for marker in self.markers):
                self.summaries += 1
                return self.summary
            self.done += 1
            return self.steps[min(self.done - 1, WORK_TURNS - 1)]


@dataclass
class GoalRun:
    """What one goal run used and cost."""

    label: str
    window: int
    status: str
    requests: int
    work_turns: int
    summary_requests: int
    compactions: int
    prompt_tokens: int
    cached_tokens: int
    completion_tokens: int
    max_prompt_tokens: int
    cost_usd: float
    cost_without_cache_usd: float
    wall_s: float

    @property
    def cached_share(self) -> float:
        return self.cached_tokens / self.prompt_tokens if self.prompt_tokens else 0.0


def run_goal(scratch: Path, label: str, window: int) -> GoalRun:
    """One scripted goal through the real command against a prefix-caching scripted server."""
    from glmcode.testing import GLMServer
    from glmcode.testing.goal_scenario import AGENT_MD, CHECK
    from glmcode.testing.repos import make_repo

    files = {"AGENT.md": AGENT_MD, "calc.py": "def add(a, b):\n    return a - b\n", "check.py": CHECK}
    files.update({f"src/module_{i}.py": module_text(i) for i in range(MODULES)})
    repo = make_repo(scratch / f"repo-{window}", files)
    model = ScriptedModel()
    config_dir = scratch / f"config-{window}"
    config_dir.mkdir()
    with GLMServer([model] * (WORK_TURNS * 3), prefix_cache=True) as server:
        env = bench.clean_env(
            GLMCODE_BASE_URL=server.url, GLMCODE_API_KEY="bench-key", GLMCODE_CONFIG_DIR=str(config_dir),
            GLMCODE_CONTEXT_WINDOW=str(window), GLMCODE_MAX_TOKENS="4096",
        )
        argv = [*bench.GLMCODE, "run", "--goal", GOAL, "--yes", "--output-format", "stream-json", "--max-turns", str(WORK_TURNS * 3)]
        started = time.perf_counter()
        done = subprocess.run(argv, cwd=repo, env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=1800)
        wall = time.perf_counter() - started
        requests = len(server.requests)
    events = [json.loads(line) for line in done.stdout.decode().splitlines() if line.startswith("{")]
    usages = [e for e in events if e.get("type") == "usage"]
    result = next((e for e in events if e.get("type") == "result"), {})
    if result.get("status") != "success" or model.done != WORK_TURNS:
        raise RuntimeError(f"{label}: {result.get('status')} after {model.done} work turns: {result.get('summary')!r}\n{done.stderr.decode()[-2000:]}")
    prompt = sum(u.get("prompt_tokens", 0) for u in usages)
    cached = sum(u.get("cached_tokens", 0) for u in usages)
    completion = sum(u.get("completion_tokens", 0) for u in usages)
    return GoalRun(
        label=label, window=window, status=result["status"], requests=requests, work_turns=model.done,
        summary_requests=model.summaries, compactions=sum(1 for e in events if e.get("type") == "compaction"),
        prompt_tokens=prompt, cached_tokens=cached, completion_tokens=completion,
        max_prompt_tokens=max((u.get("prompt_tokens", 0) for u in usages), default=0),
        cost_usd=((prompt - cached) * PRICE_INPUT + cached * PRICE_CACHED + completion * PRICE_OUTPUT) / 1e6,
        cost_without_cache_usd=(prompt * PRICE_INPUT + completion * PRICE_OUTPUT) / 1e6,
        wall_s=wall,
    )


def report(runs: list[GoalRun], info: str) -> str:
    """The Markdown table and the with ÷ without line."""
    lines = [
        f"### Prefix cache and cost of a scripted {WORK_TURNS}-turn goal ({info})",
        "",
        "| run | window (tokens) | requests | compactions | largest request (tokens) | prompt tokens | cached | cached share | output tokens | cost at Z.ai prices | cost if nothing were cached | wall |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in runs:
        lines.append(
            f"| {r.label} | {r.window:,} | {r.requests} ({r.summary_requests} summaries) | {r.compactions} | {r.max_prompt_tokens:,} | "
            f"{r.prompt_tokens:,} | {r.cached_tokens:,} | {r.cached_share:.1%} | {r.completion_tokens:,} | ${r.cost_usd:.4f} | "
            f"${r.cost_without_cache_usd:.4f} | {r.wall_s:.1f} s |"
        )
    base, compacted = runs
    lines += [
        "",
        f"With compaction ÷ without: cost {compacted.cost_usd / base.cost_usd:.2f}×, prompt tokens "
        f"{compacted.prompt_tokens / base.prompt_tokens:.2f}×, cached share {compacted.cached_share:.1%} vs {base.cached_share:.1%}, "
        f"largest request {compacted.max_prompt_tokens / base.max_prompt_tokens:.2f}×.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--window", type=int, default=24_000, help="context window of the compacting run, in tokens (default 24,000)")
    parser.add_argument("--json", type=Path, metavar="OUT", help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    load = os.getloadavg()[0]
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="glmcode-cache-") as tmp:
        scratch = Path(tmp)
        bench.PYCACHE = scratch / "pycache"
        runs = [run_goal(scratch, "without compaction (baseline)", 1_000_000)]
        bench.log(f"baseline done: {runs[0].requests} requests")
        runs.append(run_goal(scratch, "with compaction", args.window))
        bench.log(f"compacting run done: {runs[1].requests} requests, {runs[1].compactions} compactions")
    info = f"{time.strftime('%Y-%m-%d %H:%M')}, load {load:.2f} at start, took {time.perf_counter() - began:.0f} s"
    print(report(runs, info), flush=True)
    if args.json:
        args.json.write_text(json.dumps({"info": info, "runs": [asdict(r) for r in runs]}, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

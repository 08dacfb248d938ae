"""The same scripted 10-turn task through glmcode and through Aider, side by side in one run.

Run with the project's interpreter::

    .venv/bin/python benchmarks/vs_aider.py [--repeats 3] [--json out.json]

Setup (automatic): the first run creates a virtualenv under the benchmark cache
(`$GLMCODE_BENCH_CACHE`, default `~/.cache/glmcode-bench/aider-venv`) and installs `aider-chat`
(version `--aider-version`, default 0.86.2) into it with pip. Aider is never a dependency of
glmcode; delete that folder to remove it. Needs the package index, once.

The task: change lines 1–9 of `small.txt` ("dog" → "cat"), one line a turn, then say "done":
10 model requests each. Both talk to the same scripted GLM server (zero model latency). glmcode
gets one prompt and the model answers with 9 `edit_file` calls and "done". Aider speaks text edit
formats, not tools: it gets 10 prompts on standard input (`--no-fancy-input`) and the model answers
9 of them with a SEARCH/REPLACE block (`--edit-format diff`) and the last with "done". A 1-turn
run (one request, "done") of each gives the fixed cost; `(wall 10 − wall 1) / 9` the cost of a
turn. Aider runs without git, auto-commits, repo map, lint, update checks and analytics, so it
does no work glmcode does not do; glmcode runs with its defaults (`--yes`, checkpoints on).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as bench

AIDER_VERSION = "0.86.2"
EDITS = 9
TASK = "In small.txt change 'dog' to 'cat' on lines 1 to 9, one line at a time, then say done."


def cache_dir() -> Path:
    """Where the benchmark keeps what it installs: `$GLMCODE_BENCH_CACHE` or `~/.cache/glmcode-bench`."""
    return Path(os.environ.get("GLMCODE_BENCH_CACHE") or Path.home() / ".cache" / "glmcode-bench")


def ensure_aider(version: str) -> Path:
    """The `aider` executable of the benchmark's own virtualenv, created and installed on first use."""
    venv = cache_dir() / "aider-venv"
    aider = venv / "bin" / "aider"
    installed = venv / f".aider-chat-{version}"
    if aider.exists() and installed.exists():
        return aider
    bench.log(f"setup: installing aider-chat=={version} into {venv} (once; a few minutes)")
    base = getattr(sys, "_base_executable", None) or sys.executable
    subprocess.run([base, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", f"aider-chat=={version}"], check=True)
    installed.touch()
    return aider


def edit_line(number: int) -> tuple[str, str]:
    """Line `number` of the benchmark file before and after the edit."""
    old = f"line {number}: the quick brown fox jumps over the lazy dog"
    return old, old.replace("dog", "cat")


def glmcode_turns(turns: int) -> list[Any]:
    """glmcode's model: `edit_file` calls, then "done"."""
    from glmcode.testing import ScriptedToolCall, ScriptedTurn

    script = []
    for number in range(1, turns):
        old, new = edit_line(number)
        script.append(ScriptedTurn(tool_calls=[ScriptedToolCall(name="edit_file", arguments={"path": "small.txt", "old_string": old, "new_string": new})]))
    return [*script, ScriptedTurn(content="done")]


def aider_turns(turns: int) -> list[Any]:
    """Aider's model: SEARCH/REPLACE blocks in `diff` edit format, then "done"."""
    from glmcode.testing import ScriptedTurn

    script = []
    for number in range(1, turns):
        old, new = edit_line(number)
        script.append(ScriptedTurn(content=f"Changing line {number}.\n\nsmall.txt\n```\n<<<<<<< SEARCH\n{old}\n=======\n{new}\n>>>>>>> REPLACE\n```\n"))
    return [*script, ScriptedTurn(content="done")]


@dataclass
class Tool:
    """One agent under test and its samples (seconds)."""

    name: str
    version: bench.Stat = field(default_factory=bench.Stat)
    one: bench.Stat = field(default_factory=bench.Stat)
    ten: bench.Stat = field(default_factory=bench.Stat)
    first_request: bench.Stat = field(default_factory=bench.Stat)
    per_turn: bench.Stat = field(default_factory=bench.Stat)
    gaps: bench.Stat = field(default_factory=bench.Stat)
    cpu_version: bench.Stat = field(default_factory=bench.Stat)
    cpu_one: bench.Stat = field(default_factory=bench.Stat)
    cpu_ten: bench.Stat = field(default_factory=bench.Stat)
    cpu_per_turn: bench.Stat = field(default_factory=bench.Stat)


def children_cpu() -> float:
    """CPU seconds (user + system) of all waited-for child processes so far, theirs included."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed_run(argv: list[str], repo: Path, env: dict[str, str], server: Any, script: list[Any], stdin: bytes) -> tuple[float, float, list[float], float]:
    """Run one task: (wall seconds, seconds from spawn to the first request, gaps between requests,
    CPU seconds of the process and its children). Checks that every scripted turn was asked for
    and every edit landed."""
    (repo / "small.txt").write_text(bench.SMALL_FILE, encoding="utf-8")
    stamps: list[float] = []

    def stamped(turn: Any) -> Any:
        def source(_request: dict[str, Any]) -> Any:
            stamps.append(time.perf_counter())
            return turn

        return source

    server.script([stamped(turn) for turn in script], replace=True)
    cpu = children_cpu()
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=repo, env=env, input=stdin, capture_output=True, timeout=600)
    wall = time.perf_counter() - started
    cpu = children_cpu() - cpu
    edited = (repo / "small.txt").read_text(encoding="utf-8").count("lazy cat")
    if done.returncode != 0 or len(stamps) != len(script) or edited != len(script) - 1:
        raise RuntimeError(
            f"{Path(argv[0]).name}: exit {done.returncode}, {len(stamps)} of {len(script)} requests, {edited} edits\n"
            f"{done.stdout.decode(errors='replace')[-1500:]}\n{done.stderr.decode(errors='replace')[-1500:]}"
        )
    return wall, stamps[0] - started, [b - a for a, b in zip(stamps, stamps[1:], strict=False)], cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs of each task per tool (default 3)")
    parser.add_argument("--aider-version", default=AIDER_VERSION, help=f"aider-chat version to install (default {AIDER_VERSION})")
    parser.add_argument("--json", type=Path, metavar="OUT", help="also write every sample to this JSON file")
    args = parser.parse_args(argv)
    aider = ensure_aider(args.aider_version)
    load = os.getloadavg()[0]
    began = time.perf_counter()
    from glmcode.testing import GLMServer

    glm, aid = Tool("glmcode"), Tool(f"Aider {args.aider_version}")
    with tempfile.TemporaryDirectory(prefix="glmcode-vs-aider-") as tmp, GLMServer() as server:
        scratch = Path(tmp)
        bench.PYCACHE = scratch / "pycache"
        repo = bench.make_repo(scratch / "repo")
        (scratch / "config").mkdir()
        glm_env = bench.clean_env(GLMCODE_BASE_URL=server.url, GLMCODE_API_KEY="bench-key", GLMCODE_CONFIG_DIR=str(scratch / "config"))
        aider_env = bench.clean_env(HOME=str(scratch / "home"), LITELLM_LOCAL_MODEL_COST_MAP="True", AIDER_ANALYTICS="false")
        glm_argv = [*bench.GLMCODE, "run", TASK, "--yes", "--output-format", "json"]
        aider_argv = [
            str(aider), "--model", "openai/glm-5.2", "--openai-api-base", server.url, "--openai-api-key", "bench-key",
            "--edit-format", "diff", "--yes-always", "--no-git", "--no-auto-commits", "--map-tokens", "0", "--no-check-update",
            "--no-analytics", "--no-show-release-notes", "--no-show-model-warnings", "--no-auto-lint", "--no-suggest-shell-commands",
            "--no-detect-urls", "--no-fancy-input", "--no-pretty", "--no-restore-chat-history", "small.txt",
        ]
        prompts = [f"Change line {n} of small.txt from dog to cat." for n in range(1, EDITS + 1)] + ["Say done."]

        def glm_task(turns: int) -> tuple[float, float, list[float], float]:
            return timed_run(glm_argv, repo, glm_env, server, glmcode_turns(turns), b"")

        def aider_task(turns: int) -> tuple[float, float, list[float], float]:
            stdin = "".join(p + "\n" for p in (prompts[-turns:] if turns == 1 else prompts)).encode()
            return timed_run(aider_argv, repo, aider_env, server, aider_turns(turns), stdin)

        versions = {glm.name: [*bench.GLMCODE, "--version"], aid.name: [str(aider), "--version"]}
        for argv_ in versions.values():  # warm the page cache and .pyc files
            subprocess.run(argv_, env=aider_env, capture_output=True, check=True)
        glm_task(1)
        aider_task(1)
        for repeat in range(args.repeats):
            for tool, task in ((glm, glm_task), (aid, aider_task)):
                cpu = children_cpu()
                started = time.perf_counter()
                subprocess.run(versions[tool.name], env=aider_env, capture_output=True, check=True)
                tool.version.samples.append(time.perf_counter() - started)
                tool.cpu_version.samples.append(children_cpu() - cpu)
                one, _, _, cpu_one = task(1)
                ten, first, gaps, cpu_ten = task(EDITS + 1)
                tool.cpu_one.samples.append(cpu_one)
                tool.cpu_ten.samples.append(cpu_ten)
                tool.cpu_per_turn.samples.append((cpu_ten - cpu_one) / EDITS)
                tool.gaps.samples.extend(gaps)
                tool.one.samples.append(one)
                tool.ten.samples.append(ten)
                tool.first_request.samples.append(first)
                tool.per_turn.samples.append((ten - one) / EDITS)
            bench.log(f"  repeat {repeat + 1}/{args.repeats} done")
    info = f"{args.repeats} repeats, {time.strftime('%Y-%m-%d %H:%M')}, load {load:.2f} at start, took {time.perf_counter() - began:.0f} s"
    print(report(glm, aid, info), flush=True)
    if args.json:
        data = {t.name: {k: getattr(t, k).as_json() for k in ("version", "one", "ten", "first_request", "per_turn", "gaps", "cpu_version", "cpu_one", "cpu_ten", "cpu_per_turn")} for t in (glm, aid)}
        args.json.write_text(json.dumps({"info": info, **data}, indent=1), encoding="utf-8")
    return 0


def report(glm: Tool, aid: Tool, info: str) -> str:
    """The side-by-side table with Aider ÷ glmcode ratios."""
    ms, ratio = bench.ms, bench.ratio
    lines = [
        f"### glmcode and Aider, the same scripted task ({info})",
        "",
        f"| measurement | glmcode (median, min–max) | {aid.name} (median, min–max) | Aider ÷ glmcode |",
        "|---|---:|---:|---:|",
    ]
    rows = (
        ("start-up: `--version`", "version"),
        ("1-turn task (wall)", "one"),
        (f"{EDITS + 1}-turn task (wall)", "ten"),
        ("spawn → first model request", "first_request"),
        (f"per turn = (wall {EDITS + 1} − wall 1) / {EDITS}", "per_turn"),
        ("turn-to-turn gap seen by the server", "gaps"),
        ("CPU time (user + system, children included): `--version`", "cpu_version"),
        ("CPU time: 1-turn task", "cpu_one"),
        (f"CPU time: {EDITS + 1}-turn task", "cpu_ten"),
        (f"CPU time per turn = (CPU 10 − CPU 1) / {EDITS}", "cpu_per_turn"),
    )
    for label, key in rows:
        a, b = getattr(glm, key), getattr(aid, key)
        lines.append(f"| {label} | {ms(a.median)} ({ms(a.min)}–{ms(a.max)}) | {ms(b.median)} ({ms(b.min)}–{ms(b.max)}) | {ratio(b.median, a.median)} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())

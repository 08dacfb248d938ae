"""A session with ~1M tokens of history: peak RSS, time per turn at that size, `--resume` time.

Run with the project's interpreter::

    .venv/bin/python benchmarks/long_session.py [--quick] [--tokens 1000000] [--json out.json]

How: a real 2-turn `glmcode run` writes a session (meta, system prompt, the first turns); the
benchmark then appends synthetic turns to its transcript through `Transcript`, the way the agent
loop writes them (assistant `read_file` call, `tool_call` and `tool_result` events, the `tool`
message with a ~2 KB result, a `usage` event), until the request body holds the wanted tokens at
4 bytes a token. `glmcode run --resume ID "continue" --yes` then runs against the scripted server,
which answers with `read_file` calls and then "done". Each repeat starts from a fresh copy of
the transcript.

Measured in the same run, side by side (see benchmarks/README.md):
- the big session, its transcript written as glmcode writes it now (each tool output once);
- the same big session written the old way (each tool output in the `tool_result` event and again
  in the `tool` message), read by the same code: the transcript size and `--resume` time before the fix;
- a small session (10 turns): the baseline for every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as bench  # noqa: E402  (benchmarks/run.py: fixtures and statistics shared by the benchmarks)

BYTES_PER_TOKEN = 4
"""The scripted server's estimate, and the one used here to size the history."""


def build_session(repo: Path, server: Any, env: dict[str, str], tokens: int, *, old_format: bool) -> tuple[str, int, int]:
    """Write a session of about `tokens` tokens of history in `repo`; (id, turns, transcript bytes).

    A real 2-turn run writes the head of the session; synthetic turns are appended after it
    through `Transcript`, as the agent loop would write them. With `old_format` each `tool` message
    keeps its content although its `tool_result` event holds the same text (transcripts written
    before tool outputs were stored once).
    """
    from glmcode.engine.events import Result, ToolCall, ToolResultEvent, Usage, UsageTotals
    from glmcode.engine.transcript import Transcript, latest_session_id
    from glmcode.model.conversation import encode

    sessions = repo / ".glmcode" / "sessions"
    bench.run_process([*bench.GLMCODE, "run", bench.PROMPT, "--yes", "--output-format", "json"], repo, env, server, 2)
    session_id = latest_session_id(repo)
    assert session_id is not None
    path = sessions / f"{session_id}.jsonl"
    size = sum(len(encode(r.json.get("messages", []))) for r in server.requests[-1:])
    transcript = Transcript(path)
    turns = 0
    while size < tokens * BYTES_PER_TOKEN:
        turns += 1
        call, result = bench.synthetic_turn(turns)
        call_id = call["tool_calls"][0]["id"]
        transcript.message(call)
        transcript.event(ToolCall(session_id=session_id, id=call_id, name="read_file", arguments={"path": f"src/module_{turns}.py"}, title="read_file"))
        transcript.event(ToolResultEvent(session_id=session_id, id=call_id, name="read_file", ok=True, output=result["content"], summary="48 lines"))
        if old_format:
            transcript.write({"kind": "message", "message": result})
        else:
            transcript.message(result)
        transcript.event(Usage(session_id=session_id, prompt_tokens=size // BYTES_PER_TOKEN, completion_tokens=20, cached_tokens=size // BYTES_PER_TOKEN - 600))
        size += len(encode(call)) + len(encode(result)) + 2
    transcript.message({"role": "assistant", "content": "done"})
    transcript.event(Result(session_id=session_id, status="success", exit_code=0, summary="done", usage=UsageTotals(requests=turns + 2)))
    transcript.close()
    return session_id, turns + 2, path.stat().st_size


class PeakWatcher:
    """Polls a process's `VmHWM` (its own peak resident set) from `/proc` until it exits.

    Not `ru_maxrss` from `wait4`: that counts the child from the fork, while it is still a copy of
    this benchmark process (which holds every request body the server received), so it reports
    the benchmark's size rather than glmcode's. `VmHWM` belongs to the address space the child
    gets at `exec`. Growth in the last poll interval before exit is missed.
    """

    def __init__(self, pid: int, interval: float = 0.005) -> None:
        self.peak_kb = 0
        self._path = Path(f"/proc/{pid}/status")
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._stop.is_set():
            try:
                for line in self._path.read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        self.peak_kb = max(self.peak_kb, int(line.split()[1]))
            except (OSError, ValueError):
                pass
            self._stop.wait(self._interval)

    def stop(self) -> float:
        """Stop polling; the peak seen, in MB."""
        self._stop.set()
        self._thread.join()
        return self.peak_kb / 1024


@dataclass
class ResumeRun:
    """One `--resume` run: seconds from spawn to the first request, server-side turn gaps, peak RSS."""

    to_first_request: float
    gaps: list[float]
    peak_rss_mb: float
    wall: float


def resume_once(repo: Path, session_id: str, template: Path, server: Any, env: dict[str, str], turns: int) -> ResumeRun:
    """Copy the transcript back from `template`, resume it for `turns` turns; what it measured."""
    shutil.copyfile(template, repo / ".glmcode" / "sessions" / f"{session_id}.jsonl")
    stamps: list[float] = []
    server.script(bench.scripted_turns(turns, stamps), replace=True)
    server.requests.clear()
    argv = [*bench.GLMCODE, "run", "--resume", session_id, "continue", "--yes", "--output-format", "json"]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=repo, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        watcher = PeakWatcher(proc.pid)
        # the zombie stays readable until reaped: poll once more after it has exited, then reap it
        os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
        peak = watcher.stop()
        _, status, _usage = os.wait4(proc.pid, 0)
        ended = time.perf_counter()
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    try:
        result = json.loads(stdout.splitlines()[0])
    except (ValueError, IndexError):
        result = {}
    if proc.returncode != 0 or result.get("status") != "success" or len(stamps) != turns:
        raise RuntimeError(f"resume: exit {proc.returncode}, {len(stamps)} of {turns} requests\nstdout: {stdout[:400]}\nstderr: {stderr[-2000:]}")
    return ResumeRun(
        to_first_request=stamps[0] - started,
        gaps=[b - a for a, b in zip(stamps, stamps[1:])],
        peak_rss_mb=peak,
        wall=ended - started,
    )


@dataclass
class Case:
    """One kind of session and what its repeats measured."""

    label: str
    session_id: str = ""
    turns: int = 0
    transcript_bytes: int = 0
    body_bytes: int = 0
    first: bench.Stat = field(default_factory=bench.Stat)
    gaps: bench.Stat = field(default_factory=bench.Stat)
    rss: list[float] = field(default_factory=list)
    wall: bench.Stat = field(default_factory=bench.Stat)
    floor: bench.Stat = field(default_factory=bench.Stat)

    def as_json(self) -> dict[str, Any]:
        return {
            "label": self.label, "turns": self.turns, "transcript_bytes": self.transcript_bytes, "body_bytes": self.body_bytes,
            "to_first_request": self.first.as_json(), "turn_gap": self.gaps.as_json(), "peak_rss_mb": self.rss, "wall": self.wall.as_json(),
            "raw_post_floor": self.floor.as_json(),
        }


def floor_once(server: Any, body: bytes, repeats: int = 3) -> list[float]:
    """Seconds of a raw HTTP POST of `body` (one keep-alive socket, no parsing): the server's own
    part of every gap at this size (reading and parsing the body), measured beside the runs."""
    from glmcode.testing import ScriptedToolCall, ScriptedTurn

    split = urlsplit(server.url)
    raw = bench.RawPoster(split.hostname or "127.0.0.1", split.port or 80, split.path.rstrip("/") + "/chat/completions")
    reply = ScriptedTurn(tool_calls=[ScriptedToolCall(name="read_file", arguments={"path": "small.txt"})])
    samples = []
    try:
        for _ in range(repeats):
            server.script([reply], replace=True)
            started = time.perf_counter()
            raw.post(body)
            samples.append(time.perf_counter() - started)
    finally:
        raw.close()
    return samples


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 repeats of 3 turns instead of 5 of 6")
    parser.add_argument("--tokens", type=int, default=1_000_000, help="history size of the big session (default 1,000,000)")
    parser.add_argument("--json", type=Path, metavar="OUT", help="also write every sample to this JSON file")
    args = parser.parse_args(argv)
    repeats, turns = (2, 3) if args.quick else (5, 6)
    load = os.getloadavg()[0]
    began = time.perf_counter()
    from glmcode.testing import GLMServer

    with tempfile.TemporaryDirectory(prefix="glmcode-long-") as tmp:
        scratch = Path(tmp)
        bench.PYCACHE = scratch / "pycache"
        config_dir = scratch / "config"
        config_dir.mkdir()
        big = f"~{args.tokens:,}-token session"
        cases = [Case("small session (baseline)"), Case(big), Case(f"{big}, old transcript (output twice)")]
        sizes = [6_000, args.tokens, args.tokens]  # the small one: about 10 turns
        with GLMServer() as server:
            env = bench.clean_env(
                GLMCODE_BASE_URL=server.url, GLMCODE_API_KEY="bench-key", GLMCODE_CONFIG_DIR=str(config_dir),
                GLMCODE_CONTEXT_WINDOW=str(args.tokens * 4),  # no compaction: the point is the turn at full size
            )
            for index, (case, tokens) in enumerate(zip(cases, sizes)):
                repo = bench.make_repo(scratch / f"repo{index}")
                case.session_id, case.turns, case.transcript_bytes = build_session(repo, server, env, tokens, old_format=index == 2)
                template = scratch / f"template{index}.jsonl"
                shutil.copyfile(repo / ".glmcode" / "sessions" / f"{case.session_id}.jsonl", template)
                bench.log(f"built {case.label}: {case.turns} turns, transcript {case.transcript_bytes / 1e6:.1f} MB")
            for repeat in range(repeats):
                for index, case in enumerate(cases):
                    repo = scratch / f"repo{index}"
                    run = resume_once(repo, case.session_id, scratch / f"template{index}.jsonl", server, env, turns)
                    case.body_bytes = len(server.requests[-1].body)
                    case.first.samples.append(run.to_first_request)
                    case.gaps.samples.extend(run.gaps)
                    case.rss.append(run.peak_rss_mb)
                    case.wall.samples.append(run.wall)
                    case.floor.samples.extend(floor_once(server, server.requests[-1].body))
                bench.log(f"  repeat {repeat + 1}/{repeats} done")
    info = f"{'quick' if args.quick else 'full'} mode, {time.strftime('%Y-%m-%d %H:%M')}, load {load:.2f} at start, took {time.perf_counter() - began:.0f} s"
    print(report(cases, turns, info), flush=True)
    if args.json:
        args.json.write_text(json.dumps({"info": info, "cases": [c.as_json() for c in cases]}, indent=1), encoding="utf-8")
    return 0


def report(cases: list[Case], turns: int, info: str) -> str:
    """The Markdown table: each case's figures, the big session's ratios against the small one."""
    small, big, old = cases
    ms, ratio = bench.ms, bench.ratio

    def rss(case: Case) -> str:
        return f"{statistics.median(case.rss):.0f} MB ({min(case.rss):.0f}–{max(case.rss):.0f})"

    lines = [
        f"### A long session: {big.label} ({info})",
        "",
        "| session | turns | request body | transcript | peak RSS (median, min–max) | `--resume` → first request | turn-to-turn gap (server side) | raw POST floor | gap − floor | whole resumed run |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for case in cases:
        lines.append(
            f"| {case.label} | {case.turns} | {case.body_bytes / 1e6:.2f} MB (~{case.body_bytes // BYTES_PER_TOKEN:,} tokens) | "
            f"{case.transcript_bytes / 1e6:.1f} MB | {rss(case)} | {ms(case.first.median)} ({ms(case.first.min)}–{ms(case.first.max)}) | "
            f"{ms(case.gaps.median)} ({ms(case.gaps.min)}–{ms(case.gaps.max)}) | {ms(case.floor.median)} | "
            f"{ms(case.gaps.median - case.floor.median)} | {ms(case.wall.median)} |"
        )
    peak = statistics.median(big.rss)
    lines += [
        "",
        f"Big ÷ small: peak RSS {peak / statistics.median(small.rss):.2f}× (+{peak - statistics.median(small.rss):.0f} MB; target ≤ 300 MB "
        f"{'✅' if peak <= 300 else '❌'}), `--resume` → first request {ratio(big.first.median, small.first.median)}, "
        f"turn gap {ratio(big.gaps.median, small.gaps.median)}. The gap includes the scripted server reading and parsing each "
        f"{big.body_bytes / 1e6:.1f} MB body; the raw POST floor (the same body from a bare socket, in the same run) is that part, "
        f"so glmcode's own part of a turn at this size is about {ms(big.gaps.median - big.floor.median)} "
        f"(small session: {ms(small.gaps.median - small.floor.median)}).",
        f"Transcript stored once ÷ twice: {big.transcript_bytes / old.transcript_bytes:.2f}× the size "
        f"({big.transcript_bytes / 1e6:.1f} vs {old.transcript_bytes / 1e6:.1f} MB), `--resume` → first request "
        f"{ratio(big.first.median, old.first.median)}.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())

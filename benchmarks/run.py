"""glmcode benchmarks: start-up, harness cost per model turn, client cost as history grows, exit.

Run with the project's interpreter::

    .venv/bin/python benchmarks/run.py [--quick] [--json out.json]

Everything is measured on this machine against baselines measured in the same run (bare
``python -c pass``, a bare ``openai`` SDK loop, a raw HTTP POST), with a scripted GLM server
(zero model latency) in this process. See benchmarks/README.md for what each row means.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
PY = sys.executable
_SCRIPT = Path(PY).with_name("glmcode")
GLMCODE = [str(_SCRIPT)] if _SCRIPT.exists() else [PY, "-m", "glmcode"]
BARE_LOOP = HERE / "bare_sdk_loop.py"
PROMPT = "Read small.txt again and again, then say done."
SMALL_FILE = "".join(f"line {i}: the quick brown fox jumps over the lazy dog\n" for i in range(1, 11))


# ---------------------------------------------------------------------------- statistics


@dataclass
class Stat:
    """Samples in seconds."""

    samples: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def min(self) -> float:
        return min(self.samples)

    @property
    def max(self) -> float:
        return max(self.samples)

    def as_json(self) -> dict[str, Any]:
        return {"median_s": self.median, "min_s": self.min, "max_s": self.max, "samples_s": self.samples}


def ms(seconds: float) -> str:
    value = seconds * 1000
    if abs(value) >= 1000:
        return f"{value / 1000:.2f} s"
    if abs(value) >= 100:
        return f"{value:.0f} ms"
    if abs(value) >= 10:
        return f"{value:.1f} ms"
    return f"{value:.2f} ms"


def ratio(value: float, base: float) -> str:
    """value ÷ base; not shown against a baseline under 1 ms, where it would be noise."""
    return f"{value / base:.2f}×" if base >= 0.001 else "—"


def log(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


# ---------------------------------------------------------------------------- fixtures


PYCACHE: Path | None = None
"""Where child processes keep bytecode (set in `main`): a private tree, so nothing is written
into the source folders even though, as in a normal install, modules are not recompiled on
every start (this environment may set PYTHONDONTWRITEBYTECODE)."""


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without glmcode/Z.ai/OpenAI settings, with bytecode caching, plus `extra`."""
    drop = ("GLMCODE_", "ZAI_", "OPENAI_", "TYPER_", "PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    if PYCACHE is not None:
        env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    env.update(extra)
    return env


READ_FILES = 10
"""`small.txt` and its copies `small_0.txt` … `small_9.txt`: scripted runs read them in turn, so no
two calls in a row are the same (a loop guard would rightly stop a model reading one file over and over)."""


def read_path(turn: int) -> str:
    """The file a scripted `read_file` call of this turn asks for."""
    return f"small_{turn % READ_FILES}.txt"


def make_repo(path: Path) -> Path:
    """A throwaway git repo with small committed files (`small.txt` and its copies)."""
    path.mkdir(parents=True)
    (path / "small.txt").write_text(SMALL_FILE, encoding="utf-8")
    for index in range(READ_FILES):
        (path / read_path(index)).write_text(SMALL_FILE, encoding="utf-8")
    git = ["git", "-C", str(path), "-c", "user.email=bench@example.com", "-c", "user.name=bench"]
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "init"]):
        subprocess.run([*git, *args], check=True, stdout=subprocess.DEVNULL)
    return path


def scripted_turns(n: int, stamps: list[float]) -> list[Any]:
    """`n` turns: n-1 `read_file` calls (of `small_0.txt` … `small_9.txt` in turn), then a final
    answer; each records when it was asked for."""
    from glmcode.testing import ScriptedToolCall, ScriptedTurn

    calls = [ScriptedTurn(tool_calls=[ScriptedToolCall(name="read_file", arguments={"path": read_path(i)})]) for i in range(READ_FILES)]
    final = ScriptedTurn(content="done")

    def stamped(turn: Any) -> Callable[[dict[str, Any]], Any]:
        def source(_request: dict[str, Any]) -> Any:
            stamps.append(time.perf_counter())
            return turn

        return source

    return [stamped(calls[i % READ_FILES]) for i in range(n - 1)] + [stamped(final)]


CONNECTIONS: list[Any] = []
"""Client connections the scripted server accepted (see `count_connections`)."""


def count_connections() -> bool:
    """Count TCP connections the scripted server accepts, through its `track` hook; False if it has none."""
    try:
        from glmcode.testing.glm_http import ScriptedHTTPServer
    except ImportError:
        return False
    original = getattr(ScriptedHTTPServer, "track", None)
    if original is None or getattr(original, "_bench_counting", False):
        return original is not None

    def track(self: Any, connection: Any, live: bool) -> None:
        if live:
            CONNECTIONS.append(connection)
        original(self, connection, live)

    track._bench_counting = True  # type: ignore[attr-defined]
    ScriptedHTTPServer.track = track  # type: ignore[method-assign]
    return True


@dataclass
class ProcRun:
    wall: float
    result_to_exit: float
    turn_gaps: list[float]
    result: dict[str, Any]
    connections: int
    cpu: float = 0.0
    """CPU seconds of the process (user + system), from its resource usage."""


def run_process(argv: list[str], cwd: Path, env: dict[str, str], server: Any, turns: int) -> ProcRun:
    """Run one agent process against `turns` scripted turns; wall time, result→exit time, gaps."""
    stamps: list[float] = []
    server.script(scripted_turns(turns, stamps), replace=True)
    server.requests.clear()
    CONNECTIONS.clear()
    with tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err)
        assert proc.stdout is not None
        line = proc.stdout.readline()
        at_result = time.perf_counter()
        rest = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        code = proc.returncode = os.waitstatus_to_exitcode(status)
        ended = time.perf_counter()
        err.seek(0)
        stderr = err.read().decode(errors="replace")
    try:
        result = json.loads(line)
    except ValueError:
        result = {}
    if code != 0 or result.get("status") != "success" or result.get("turns") != turns or rest.strip():
        raise RuntimeError(
            f"{' '.join(argv[:2])}: exit {code}, expected {turns} successful turns\n"
            f"stdout: {line[:400]!r} {rest[:200]!r}\nstderr: {stderr[-2000:]}"
        )
    gaps = [b - a for a, b in zip(stamps, stamps[1:], strict=False)]
    return ProcRun(ended - started, ended - at_result, gaps, result, len(CONNECTIONS), usage.ru_utime + usage.ru_stime)


# ---------------------------------------------------------------------------- 1. start-up


def bench_startup(repeats: int, scratch: Path) -> dict[str, Stat]:
    commands = {
        "python -c pass": [PY, "-c", "pass"],
        "glmcode --version": [*GLMCODE, "--version"],
        "glmcode --help": [*GLMCODE, "--help"],
        "glmcode run --help": [*GLMCODE, "run", "--help"],
    }
    env = clean_env(GLMCODE_CONFIG_DIR=str(scratch / "startup-config"))
    stats = {name: Stat() for name in commands}
    for name, argv in commands.items():  # warm the page cache and .pyc files; check they work
        done = subprocess.run(argv, cwd=scratch, env=env, stdin=subprocess.DEVNULL, capture_output=True)
        if done.returncode != 0:
            raise RuntimeError(f"{name}: exit {done.returncode}: {done.stderr.decode(errors='replace')[-500:]}")
    for _ in range(repeats):  # round-robin, so load spikes hit every command alike
        for name, argv in commands.items():
            started = time.perf_counter()
            subprocess.run(argv, cwd=scratch, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            stats[name].samples.append(time.perf_counter() - started)
    return stats


# ---------------------------------------------------------------------------- 2, 3, 5. whole runs


@dataclass
class LoopStats:
    one: Stat = field(default_factory=Stat)
    many: Stat = field(default_factory=Stat)
    per_turn: Stat = field(default_factory=Stat)
    gaps: Stat = field(default_factory=Stat)
    exit_one: Stat = field(default_factory=Stat)
    connections: list[int] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {k: getattr(self, k).as_json() for k in ("one", "many", "per_turn", "gaps", "exit_one")}
        data["tcp_connections_per_run"] = self.connections
        return data


def bench_runs(repeats: int, turns: int, scratch: Path, server: Any) -> tuple[LoopStats, LoopStats, dict[str, Any]]:
    """glmcode and the bare SDK loop, 1 turn and `turns` turns each, interleaved per repeat."""
    repo = make_repo(scratch / "repo")
    config_dir = scratch / "user-config"
    config_dir.mkdir()
    glm_env = clean_env(GLMCODE_BASE_URL=server.url, GLMCODE_API_KEY="bench-key", GLMCODE_CONFIG_DIR=str(config_dir))
    glm_argv = [*GLMCODE, "run", PROMPT, "--yes", "--output-format", "json"]

    # Warm-up run; its request is the shape the bare loop copies (same head, system prompt, tools).
    run_process(glm_argv, repo, glm_env, server, 2)
    first = server.requests[0].json
    spec = {
        "head": {k: v for k, v in first.items() if k != "messages"},
        "system": first["messages"][0]["content"],
        "prompt": first["messages"][1]["content"],
    }
    spec_path = scratch / "bare-spec.json"
    spec_path.write_text(json.dumps(spec), encoding="utf-8")
    bare_env = clean_env(BENCH_BASE_URL=server.url)
    bare_argv = [PY, str(BARE_LOOP), str(spec_path)]
    run_process(bare_argv, repo, bare_env, server, 2)

    glm, bare = LoopStats(), LoopStats()
    for i in range(repeats):
        for stats, argv, env in ((glm, glm_argv, glm_env), (bare, bare_argv, bare_env)):
            one = run_process(argv, repo, env, server, 1)
            many = run_process(argv, repo, env, server, turns)
            stats.one.samples.append(one.wall)
            stats.exit_one.samples.append(one.result_to_exit)
            stats.many.samples.append(many.wall)
            stats.per_turn.samples.append((many.wall - one.wall) / (turns - 1))
            stats.gaps.samples.extend(many.turn_gaps)
            stats.connections.append(many.connections)
        log(f"  runs: repeat {i + 1}/{repeats} done")
    shutil.rmtree(repo / ".glmcode", ignore_errors=True)
    global LONG_RUNS
    LONG_RUNS = ({"glmcode": ([*glm_argv, "--max-turns", "100000"], glm_env), "bare SDK loop": (bare_argv, bare_env)}, repo)
    return glm, bare, spec


LONG_RUNS: tuple[dict[str, tuple[list[str], dict[str, str]]], Path] | None = None
"""The commands and repo of `bench_runs`, for the long runs (set by it)."""


# ---------------------------------------------------------------------------- 4a. long runs


@dataclass
class LongRun:
    """Server-side turn gaps of one long run of each client, read at history checkpoints."""

    gaps: dict[str, list[float]] = field(default_factory=dict)
    """Client name → gap before request i+1 (i = 0, 1, …): one whole turn with i+1 turns of history."""
    floor: dict[int, Stat] = field(default_factory=dict)
    """Checkpoint → raw HTTP POST of that request's body: the server's own part of a gap there."""
    body_bytes: dict[int, int] = field(default_factory=dict)
    cpu: dict[str, dict[int, float]] = field(default_factory=dict)
    """Client name → checkpoint → CPU seconds of a whole run of checkpoint + 1 turns."""

    def cpu_per_turn(self, name: str, checkpoint: int) -> float | None:
        """CPU seconds per turn between the previous checkpoint and this one (None for the first)."""
        points = sorted(self.cpu[name])
        index = points.index(checkpoint)
        if index == 0:
            return None
        low = points[index - 1]
        return (self.cpu[name][checkpoint] - self.cpu[name][low]) / (checkpoint - low)

    def at(self, name: str, checkpoint: int, span: int = 2) -> Stat:
        """The gaps of turns `checkpoint - span` … `checkpoint + span`."""
        gaps = self.gaps[name]
        return Stat(gaps[max(0, checkpoint - 1 - span) : checkpoint + span])

    def as_json(self) -> dict[str, Any]:
        return {"gaps_s": self.gaps, "raw_post_floor": {str(k): v.as_json() for k, v in self.floor.items()}, "body_bytes": self.body_bytes, "cpu_s": self.cpu}


def bench_long(checkpoints: Sequence[int], server: Any, runs: dict[str, tuple[list[str], dict[str, str]]], repo: Path) -> LongRun:
    """Runs of checkpoint + 1 turns per client (glmcode, the bare SDK loop) for every checkpoint:
    the CPU time of each run, the server-side gap of each turn of the longest, and a raw POST of the
    request bodies at the checkpoints."""
    total = max(checkpoints) + 1
    long = LongRun()
    bodies: dict[int, bytes] = {}
    for name, (argv, env) in runs.items():
        long.cpu[name] = {}
        for checkpoint in checkpoints:
            done = run_process(argv, repo, env, server, checkpoint + 1)
            long.cpu[name][checkpoint] = done.cpu
        long.gaps[name] = done.turn_gaps
        if not bodies:
            bodies = {c: server.requests[c].body for c in checkpoints}
        log(f"  long run: {name}, {total} turns done")
    split = urlsplit(server.url)
    raw = RawPoster(split.hostname or "127.0.0.1", split.port or 80, split.path.rstrip("/") + "/chat/completions")
    from glmcode.testing import ScriptedTurn

    for checkpoint, body in bodies.items():
        long.body_bytes[checkpoint] = len(body)
        long.floor[checkpoint] = Stat()
        for _ in range(5):
            server.script([ScriptedTurn(content="floor")], replace=True)
            started = time.perf_counter()
            raw.post(body)
            long.floor[checkpoint].samples.append(time.perf_counter() - started)
    raw.close()
    return long


# ---------------------------------------------------------------------------- 4b. history growth


def synthetic_turn(n: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """An assistant tool call and its ~2 KB tool result, different for every `n`."""
    call_id = f"call_{n:019d}"
    call = {
        "role": "assistant",
        "content": "",
        "tool_calls": [{"id": call_id, "type": "function", "function": {"name": "read_file", "arguments": json.dumps({"path": f"src/module_{n}.py"})}}],
    }
    lines, size, i = [], 0, 0
    while size < 2048:
        i += 1
        line = f"{i:6d}\tdef handler_{n}_{i}(request, *, retries=3):  return dispatch(request, 'route/{n}/{i}')"
        lines.append(line)
        size += len(line) + 1
    return call, {"role": "tool", "tool_call_id": call_id, "content": "\n".join(lines)}


class RawPoster:
    """The cheapest possible client: one keep-alive socket, one `sendall`, read to the last chunk.

    It asks the kernel to ACK at once (TCP_QUICKACK): the scripted server writes each SSE event
    as its own small segment with Nagle's algorithm on, so a client that delays its ACKs (as
    `http.client` does) waits ~40 ms per response for nothing.
    """

    def __init__(self, host: str, port: int, path: str) -> None:
        self.sock = socket.create_connection((host, port), timeout=60)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.head = f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\nAuthorization: Bearer k\r\n"

    def post(self, body: bytes) -> None:
        self.sock.sendall(f"{self.head}Content-Length: {len(body)}\r\n\r\n".encode() + body)
        received = bytearray()
        while not received.endswith(b"\r\n0\r\n\r\n"):
            if hasattr(socket, "TCP_QUICKACK"):
                self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
            data = self.sock.recv(1 << 16)
            if not data:
                raise RuntimeError("raw POST: connection closed before the response ended")
            received += data
        if not received.startswith((b"HTTP/1.1 200", b"HTTP/1.0 200")) or b"text/event-stream" not in received[:1024]:
            raise RuntimeError(f"raw POST: unexpected response {bytes(received[:300])!r}")

    def close(self) -> None:
        self.sock.close()


def bench_growth(checkpoints: Sequence[int], repeats: int, scratch: Path, spec: dict[str, Any]) -> dict[int, dict[str, Stat]]:
    """Time of one request (send, stream back, parse) with a history of N turns, three ways."""
    import openai

    from glmcode.tools.registry import ToolRegistry
    from glmcode.model.client import GLMClient, request_head
    from glmcode.config import load_config
    from glmcode.model.conversation import Conversation
    from glmcode.testing import GLMServer, ScriptedToolCall, ScriptedTurn

    for key in [k for k in os.environ if k.startswith(("GLMCODE_", "ZAI_"))]:
        del os.environ[key]
    os.environ["GLMCODE_CONFIG_DIR"] = str(scratch / "growth-config")
    reply = ScriptedTurn(tool_calls=[ScriptedToolCall(name="read_file", arguments={"path": "small.txt"})])
    with GLMServer() as server:
        config = load_config(scratch, {"base_url": server.url, "api_key": "k"})
        head = request_head(config, ToolRegistry().schemas())
        conversation = Conversation(head)
        messages: list[dict[str, Any]] = []
        for message in ({"role": "system", "content": spec["system"]}, {"role": "user", "content": spec["prompt"]}):
            conversation.append(message)
            messages.append(message)

        glm_client = GLMClient(config)
        sdk = openai.OpenAI(base_url=server.url, api_key="k", max_retries=0)
        passed = ("model", "messages", "stream", "tools", "tool_choice", "max_tokens")
        extra_body = {k: v for k, v in head.items() if k not in passed}
        split = urlsplit(server.url)
        raw = RawPoster(split.hostname or "127.0.0.1", split.port or 80, split.path.rstrip("/") + "/chat/completions")

        def via_raw() -> None:
            raw.post(conversation.body())

        def via_glmcode() -> None:
            glm_client.complete(conversation.body(), lambda kind, text: None)

        def via_sdk() -> None:
            stream = sdk.chat.completions.create(
                model=head["model"], messages=messages, tools=head["tools"], tool_choice=head["tool_choice"],
                max_tokens=head["max_tokens"], stream=True, extra_body=extra_body,
            )
            arguments = []
            for chunk in stream:
                if chunk.choices and chunk.choices[0].delta.tool_calls:
                    for fragment in chunk.choices[0].delta.tool_calls:
                        if fragment.function and fragment.function.arguments:
                            arguments.append(fragment.function.arguments)

        ways = {"raw HTTP": via_raw, "GLMClient": via_glmcode, "openai SDK": via_sdk}
        for way in ways.values():  # warm-up: connections, lazy imports
            server.script([reply])
            way()

        results: dict[int, dict[str, Stat]] = {}
        turns = 0
        for checkpoint in checkpoints:
            while turns < checkpoint:
                turns += 1
                for message in synthetic_turn(turns):
                    conversation.append(message)
                    messages.append(message)
            server.requests.clear()
            gc.collect()
            stats = {name: Stat() for name in ways}
            for _ in range(repeats):
                for name, way in ways.items():
                    server.script([reply])
                    started = time.perf_counter()
                    way()
                    stats[name].samples.append(time.perf_counter() - started)
            results[checkpoint] = stats
            log(f"  growth: turn {checkpoint} ({conversation.size_bytes() / 1024:.0f} KiB body) done")
        raw.close()
    return results


# ---------------------------------------------------------------------------- report


def report(
    startup: dict[str, Stat], glm: LoopStats, bare: LoopStats, growth: dict[int, dict[str, Stat]], turns: int, info: str,
    counted: bool = True,
) -> str:
    base = startup["python -c pass"]

    def row(label: str, stat: Stat, baseline: str, base_value: float | None, target: str = "") -> str:
        shown = f"{baseline} {ms(base_value)}" if base_value is not None else baseline
        rat = ratio(stat.median, base_value) if base_value is not None else "—"
        return f"| {label} | {ms(stat.median)} | {ms(stat.min)} | {ms(stat.max)} | {shown} | {rat} | {target} |"

    def check(value: float, limit: float, text: str) -> str:
        return f"{text} {'✅' if value <= limit else '❌'}"

    v = startup["glmcode --version"]
    lines = [
        f"### glmcode benchmarks ({info})",
        "",
        "| Measurement | median | min | max | baseline (median) | ratio | target |",
        "|---|---:|---:|---:|---|---:|---|",
        row("start-up: `python -c pass`", base, "—", None),
        row("start-up: `glmcode --version`", v, "`python -c pass`", base.median, check(v.median, 0.150, "< 150 ms")),
        row("start-up: `glmcode --help`", startup["glmcode --help"], "`python -c pass`", base.median),
        row("start-up: `glmcode run --help`", startup["glmcode run --help"], "`python -c pass`", base.median),
        row("`glmcode run`, 1 turn (wall, exit included)", glm.one, "bare SDK loop", bare.one.median, check(glm.one.median, 1.3, "≤ 1.3 s")),
        row(f"`glmcode run`, {turns} turns (wall)", glm.many, "bare SDK loop", bare.many.median),
        row(f"harness per turn = (wall {turns} − wall 1) / {turns - 1}", glm.per_turn, "bare SDK loop", bare.per_turn.median, check(glm.per_turn.median, 0.010, "< 10 ms")),
        row(f"turn-to-turn gap seen by the server ({turns - 1} gaps × runs)", glm.gaps, "bare SDK loop", bare.gaps.median),
        row("result line → process exit (1 turn)", glm.exit_one, "bare SDK loop", bare.exit_one.median, check(glm.exit_one.median, 0.050, "≤ 50 ms")),
    ]
    if counted:
        conns = f"{statistics.median(glm.connections):.0f}"
        lines.append(f"| TCP connections opened by a {turns}-turn run | {conns} | {min(glm.connections)} | {max(glm.connections)} | bare SDK loop {statistics.median(bare.connections):.0f} | — | 1 (keep-alive) {'✅' if statistics.median(glm.connections) <= 1 else '❌'} |")
    for checkpoint, stats in growth.items():
        lines.append(row(f"client time per request, history of {checkpoint} turns: GLMClient", stats["GLMClient"], "openai SDK `create`", stats["openai SDK"].median))
    lines += [
        "",
        "| history (turns) | raw HTTP POST (floor) | GLMClient.complete | openai SDK create+stream | SDK ÷ GLMClient |",
        "|---:|---:|---:|---:|---:|",
    ]
    for checkpoint, stats in growth.items():
        cells = [f"{ms(s.median)} ({ms(s.min)}–{ms(s.max)})" for s in (stats["raw HTTP"], stats["GLMClient"], stats["openai SDK"])]
        lines.append(f"| {checkpoint} | {' | '.join(cells)} | {ratio(stats['openai SDK'].median, stats['GLMClient'].median)} |")
    added = glm.per_turn.median - bare.per_turn.median
    gap_added = glm.gaps.median - bare.gaps.median
    lines += [
        "",
        f"glmcode adds {added * 1000:+.2f} ms per turn over a bare SDK loop by the wall-time difference "
        f"({gap_added * 1000:+.2f} ms by the server-side turn gap; negative means glmcode is faster), "
        f"and {(glm.one.median - bare.one.median) * 1000:+.0f} ms to a 1-turn run.",
    ]
    return "\n".join(lines)


def report_long(long: LongRun) -> str:
    """The long-run table: per-turn gap at each history length, both clients, the server's floor."""
    lines = [
        "| history (turns), whole processes | request body | turn gap: glmcode (median of 5 turns, min–max) | turn gap: bare SDK loop | bare ÷ glmcode | raw POST floor | glmcode − floor | bare − floor | CPU per turn since the row above: glmcode | bare SDK loop |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]

    def cpu(name: str, checkpoint: int) -> str:
        value = long.cpu_per_turn(name, checkpoint)
        return "—" if value is None else ms(value)

    for checkpoint, floor in long.floor.items():
        glm, bare = long.at("glmcode", checkpoint), long.at("bare SDK loop", checkpoint)
        lines.append(
            f"| {checkpoint} | {long.body_bytes[checkpoint] / 1024:.0f} KiB | {ms(glm.median)} ({ms(glm.min)}–{ms(glm.max)}) | "
            f"{ms(bare.median)} ({ms(bare.min)}–{ms(bare.max)}) | {ratio(bare.median, glm.median)} | {ms(floor.median)} | "
            f"{ms(glm.median - floor.median)} | {ms(bare.median - floor.median)} | {cpu('glmcode', checkpoint)} | {cpu('bare SDK loop', checkpoint)} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer repeats (about 45 s instead of about 3 min)")
    parser.add_argument("--json", type=Path, metavar="OUT", help="also write every sample to this JSON file")
    parser.add_argument("--long-turns", type=int, default=500, metavar="N", help="turns of the long runs (default 500; 0 skips them)")
    args = parser.parse_args(argv)

    quick = args.quick
    startup_repeats = 8 if quick else 20
    run_repeats = 3 if quick else 7
    growth_repeats = 3 if quick else 7
    turns = 50
    checkpoints = (10, 100, 500)

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    info = (
        f"{'quick' if quick else 'full'} mode, {time.strftime('%Y-%m-%d %H:%M')}, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, load {load:.2f} at start"
    )
    began = time.perf_counter()
    from glmcode.testing import GLMServer

    counted = count_connections()
    global PYCACHE
    with tempfile.TemporaryDirectory(prefix="glmcode-bench-") as tmp:
        scratch = Path(tmp)
        PYCACHE = scratch / "pycache"
        log(f"start-up: {startup_repeats} repeats of 4 commands")
        startup = bench_startup(startup_repeats, scratch)
        log(f"runs: {run_repeats} repeats of 1 and {turns} turns, glmcode and bare SDK loop")
        with GLMServer() as server:
            glm, bare, spec = bench_runs(run_repeats, turns, scratch, server)
            long = None
            if args.long_turns and LONG_RUNS is not None:
                long_checkpoints = sorted({c for c in (10, 100, 500) if c < args.long_turns} | {args.long_turns})
                log(f"long runs: {args.long_turns + 1} turns, glmcode and bare SDK loop")
                long = bench_long(long_checkpoints, server, LONG_RUNS[0], LONG_RUNS[1])
        log(f"growth: {growth_repeats} requests each at turns {', '.join(map(str, checkpoints))}")
        growth = bench_growth(checkpoints, growth_repeats, scratch, spec)
    elapsed = time.perf_counter() - began
    info += f", took {elapsed:.0f} s"
    text = report(startup, glm, bare, growth, turns, info, counted)
    if long is not None:
        text += "\n\n" + report_long(long)
    print(text, flush=True)
    if args.json:
        data = {
            "info": info,
            "startup": {k: s.as_json() for k, s in startup.items()},
            "glmcode_run": glm.as_json(),
            "bare_sdk_loop": bare.as_json(),
            "growth": {str(c): {k: s.as_json() for k, s in stats.items()} for c, stats in growth.items()},
            "long_runs": long.as_json() if long is not None else None,
            "table": text,
        }
        args.json.write_text(json.dumps(data, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The audit benchmark (issue 14): a real project read one file per call versus `read_files` + the map.

Setup downloads a pinned sdist from PyPI once (``pip download --no-deps --no-binary :all:``) into
a cache folder, unpacks it into a throwaway git repository, and then runs scripted audits of it
in-process (`glmcode.testing.engine.Engine`) against the scripted GLM server (zero model latency):

- ``one file per call``: the project map off (glmcode before issue 14); the scripted model lists
  the files, then reads every text file with ``read_file``, paging where a file is longer than a
  page, one call per request, then writes its audit.
- ``read_files + map``: the map in the system prompt; the scripted model reads the text files in
  batches sized from the map to fit the output budget, one ``read_files`` call per batch (a file
  that did not come whole is asked for again, one bigger than a page is paged with read_file),
  then writes the same audit. Run at the default budget (50,000 characters) and at 300,000
  (10% of GLM-5.2's 1M-token window at 3 characters a token: `tool_output_share`'s own bound).

Measured: requests, prompt tokens, cached tokens and share, completion tokens, estimated cost at
Z.ai's prices (USD per 1M tokens: input 1.40, output 4.40, cached input 0.26), wall time, and
the map's own cost (cold scan with parsing, warm scan from the disk cache, render). Tokens are
the scripted server's estimate (request bytes / 4, cached = common prefix with the previous
request / 4): the same yardstick for every variant, not a tokenizer's count.

    .venv/bin/python benchmarks/audit.py [--json out.json] [--cache DIR]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import deque
from pathlib import Path
from typing import Any

from glmcode.engine.project_map import ProjectMap, render
from glmcode.testing import GLMServer, ScriptedTurn
from glmcode.testing.engine import Engine, call
from glmcode.tools import _reader, workspace

PROJECT = "flask"
VERSION = "3.1.0"
"""The pinned sdist: 235 files (83 Python), about 1.5 MB, tests and docs included."""
PRICES = (1.40, 4.40, 0.26)
"""USD per 1M tokens: input, output, cached input (Z.ai glm-5.2, DESIGN §2)."""
AUDIT = Path(__file__).resolve().parents[1] / "examples" / "audit.md"
ANSWER = "# Audit\n\n" + "\n".join(f"## Section {n}\nFindings with files and functions cited." for n in range(1, 8)) * 8
_CONTINUE = re.compile(r"call again with offset=(\d+)")
_HEADER = re.compile(r"^==> (.+) \((?:empty|[\d,]+ lines?)[^)]*\) <==$", re.MULTILINE)


def fetch(cache: Path) -> Path:
    """The sdist archive, downloaded into `cache` the first time."""
    cache.mkdir(parents=True, exist_ok=True)
    archive = cache / f"{PROJECT}-{VERSION}.tar.gz"
    if not archive.exists():
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", f"{PROJECT}=={VERSION}", "-d", str(cache)],
            check=True, capture_output=True,
        )
    return archive


def unpack(archive: Path, into: Path) -> Path:
    """The sdist unpacked into `into` as a git repository with one commit."""
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    root = into / f"{PROJECT}-{VERSION}"
    git = ["git", "-C", str(root), "-c", "user.email=bench@example.com", "-c", "user.name=bench"]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "sdist"], check=True)
    return root.resolve()


def text_files(root: Path) -> list[tuple[str, int]]:
    """The files read_files would read (not binary), with their sizes in bytes, in its order."""
    selection = _reader.collect(root, ["."])
    out = []
    for path, rel in zip(selection.files, selection.rels, strict=True):
        if not workspace.is_binary(path.read_bytes()[: workspace.BINARY_SNIFF_BYTES]):
            out.append((rel, path.stat().st_size))
    return out


def last_tool_output(request: dict[str, Any]) -> str:
    message = request["messages"][-1]
    return str(message.get("content") or "") if message.get("role") == "tool" else ""


class OneFilePerCall:
    """The scripted model of the baseline: list, then read_file each file (paging), then answer."""

    def __init__(self, files: list[tuple[str, int]]) -> None:
        self.queue = deque(rel for rel, _ in files)
        self.current: str | None = None
        self.started = False

    def __call__(self, request: dict[str, Any]) -> ScriptedTurn:
        if not self.started:
            self.started = True
            return ScriptedTurn(tool_calls=[call("list_files")])
        more = _CONTINUE.search(last_tool_output(request)[-300:])
        if more and self.current:
            return ScriptedTurn(tool_calls=[call("read_file", path=self.current, offset=int(more.group(1)))])
        if self.queue:
            self.current = self.queue.popleft()
            return ScriptedTurn(tool_calls=[call("read_file", path=self.current)])
        return ScriptedTurn(content=ANSWER)


class Batched:
    """The scripted model with the map: read_files in batches that fit the budget, then answer."""

    def __init__(self, files: list[tuple[str, int]], budget: int) -> None:
        self.room = int(budget * 0.75)
        self.big = deque(rel for rel, size in files if size > self.room)
        self.pending = [(rel, size) for rel, size in files if size <= self.room]
        self.asked: list[str] = []
        self.current: str | None = None
        self.read: set[str] = set()

    def __call__(self, request: dict[str, Any]) -> ScriptedTurn:
        output = last_tool_output(request)
        self.read.update(_HEADER.findall(output))
        more = _CONTINUE.search(output[-300:])
        if more and self.current:
            return ScriptedTurn(tool_calls=[call("read_file", path=self.current, offset=int(more.group(1)))])
        self.pending = [(rel, size) for rel, size in self.pending if rel not in self.read]
        if self.pending:
            batch, used = [], 0
            for rel, size in self.pending:
                if batch and used + size + 60 > self.room:
                    continue
                batch.append(rel)
                used += size + 60
            return ScriptedTurn(tool_calls=[call("read_files", paths=batch)])
        if self.big:
            self.current = self.big.popleft()
            return ScriptedTurn(tool_calls=[call("read_file", path=self.current)])
        return ScriptedTurn(content=ANSWER)


def cost(usage: dict[str, Any]) -> float:
    uncached = usage["prompt_tokens"] - usage["cached_tokens"]
    return (uncached * PRICES[0] + usage["completion_tokens"] * PRICES[1] + usage["cached_tokens"] * PRICES[2]) / 1e6


def audit(root: Path, name: str, model: Any, **settings: Any) -> dict[str, Any]:
    """One scripted audit of `root`; its figures."""
    with GLMServer([model] * 2000) as server:
        engine = Engine(root, server.url, **settings)
        started = time.perf_counter()
        run = engine.run(AUDIT.read_text(), permission_mode="read-only")
        wall = time.perf_counter() - started
        body_bytes = sum(len(r.body) for r in server.requests if r.path.endswith("/chat/completions"))
    result = run.result
    assert result["status"] == "success", result
    usage = result["usage"]
    return {
        "variant": name,
        "requests": usage["requests"],
        "prompt_tokens": usage["prompt_tokens"],
        "cached_tokens": usage["cached_tokens"],
        "cached_share": round(usage["cached_tokens"] / usage["prompt_tokens"], 4),
        "completion_tokens": usage["completion_tokens"],
        "cost_usd": round(cost(usage), 4),
        "wall_s": round(wall, 2),
        "request_mb": round(body_bytes / 1e6, 1),
    }


def map_cost(root: Path, limit: int) -> dict[str, Any]:
    """The project map's cost on `root`: cold scan (parsing), warm scan (disk cache), render."""
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "outline.json"
        started = time.perf_counter()
        scan = ProjectMap(root, cache_path=cache).scan()
        cold = time.perf_counter() - started
        started = time.perf_counter()
        ProjectMap(root, cache_path=cache).scan()
        warm = time.perf_counter() - started
    started = time.perf_counter()
    text = render(scan, limit)
    rendered = time.perf_counter() - started
    return {
        "files": len(scan.files),
        "cold_scan_ms": round(cold * 1000, 1),
        "warm_scan_ms": round(warm * 1000, 1),
        "render_ms": round(rendered * 1000, 1),
        "map_chars": len(text),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "glmcode-bench", help="where the sdist is kept")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    archive = fetch(args.cache)
    with tempfile.TemporaryDirectory() as tmp:
        root = unpack(archive, Path(tmp))
        files = text_files(root)
        print(f"{PROJECT} {VERSION}: {len(files)} text files, {sum(s for _, s in files):,} bytes of text", flush=True)
        mapping = map_cost(root, 32_000)
        print(f"map: {mapping}", flush=True)
        rows = []
        variants: list[tuple[str, Any, dict[str, Any]]] = [
            ("one file per call", OneFilePerCall(files), {"project_map": False}),
            ("read_files + map", Batched(files, 50_000), {}),
            ("read_files + map, 300K budget", Batched(files, 300_000), {"tool_output_chars": 300_000}),
        ]
        for name, model, settings in variants:
            shutil.rmtree(root / ".glmcode", ignore_errors=True)
            row = audit(root, name, model, **settings)
            rows.append(row)
            print(json.dumps(row), flush=True)
    print()
    print("| variant | requests | prompt tokens | cached share | est. cost (USD) | wall (s) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for row in rows:
        print(
            f"| {row['variant']} | {row['requests']:,} | {row['prompt_tokens']:,} | {row['cached_share']:.1%} | "
            f"{row['cost_usd']:.2f} | {row['wall_s']:.1f} |"
        )
    if args.json:
        args.json.write_text(json.dumps({"project": f"{PROJECT}=={VERSION}", "map": mapping, "audits": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

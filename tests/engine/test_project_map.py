"""The project map: outlines, rendering within its bound, change notes, and its place in the prefix."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from glmcode.engine import outline, project_map
from glmcode.engine.project_map import FileInfo, ProjectMap, Scan, render
from glmcode.testing import ScriptedTurn
from glmcode.testing.engine import Engine, messages_of
from glmcode.testing.repos import make_repo

PY = '''"""Doc."""
import os

class Engine(Base):
    def run(self): ...
    async def stop(self): ...
    def _private(self): ...

async def main():
    pass

def _helper():
    pass

X = 1
'''


def test_python_outline_is_read_with_ast() -> None:
    assert outline.definitions(".py", PY) == ["class Engine [run, stop]", "def main"]
    assert outline.definitions(".py", "def broken(:\n") == ["(does not parse)"]
    assert outline.definitions(".md", "# def x") == []


@pytest.mark.parametrize(
    ("suffix", "text", "expected"),
    [
        (
            ".ts",
            "export default class App {}\nexport interface Props {}\nexport const run = () => 1;\n"
            "function helper() {}\n  function nested() {}\ntype Id = string;\nexport async function load() {}\n",
            ["class App", "interface Props", "const run", "function helper", "type Id", "function load"],
        ),
        (
            ".go",
            "package x\nfunc Main() {}\nfunc (s *Server) Serve() error {}\ntype Server struct {\n}\n",
            ["func Main", "func (Server) Serve", "type Server struct"],
        ),
        (
            ".rs",
            "pub struct Point { x: i32 }\nimpl Display for Point {\n    fn fmt() {}\n}\npub(crate) async fn run() {}\nmod tests {}\n",
            ["struct Point", "impl Display for Point", "fn run", "mod tests"],
        ),
        (
            ".java",
            "package a;\n@Deprecated\npublic final class Main {\n    public void run() {}\n}\ninterface Shape {}\n",
            ["class Main", "interface Shape"],
        ),
    ],
)
def test_regex_outlines_of_other_languages(suffix: str, text: str, expected: list[str]) -> None:
    assert outline.definitions(suffix, text) == expected


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_repo(
        tmp_path / "project",
        {
            "README.md": "# Demo\n",
            "src/pkg/__init__.py": "",
            "src/pkg/core.py": PY,
            "src/web/app.ts": "export class App {}\n",
            "tests/test_core.py": "def test_core():\n    pass\n",
            "node_modules/x/index.js": "export function vendored() {}\n",
            ".gitignore": "*.log\n",
            "debug.log": "ignored\n",
        },
    )


def test_scan_and_render(project: Path) -> None:
    scan = ProjectMap(project.resolve()).scan()
    assert set(scan.files) == {".gitignore", "README.md", "src/pkg/__init__.py", "src/pkg/core.py", "src/web/app.ts", "tests/test_core.py"}
    assert scan.skipped == ("node_modules/",)
    text = render(scan, 10_000)
    size = len(PY.encode())
    assert text.split("\n")[1:] == [
        ".gitignore 6B",
        "README.md 7B",
        f"src/ (3 files, {size + 20}B)",
        f"  pkg/ (2 files, {size}B)",
        "    __init__.py 0B",
        f"    core.py {size}B: class Engine [run, stop]; def main",
        "  web/ (1 file, 20B)",
        "    app.ts 20B: class App",
        "tests/ (1 file, 26B)",
        "  test_core.py 26B: def test_core",
        "(not mapped: node_modules/)",
    ]
    assert text.startswith("(6 files, ")


def test_same_files_give_the_same_bytes(project: Path) -> None:
    first = render(ProjectMap(project.resolve()).scan(), 10_000)
    os.utime(project / "README.md", (1, 1))
    assert render(ProjectMap(project.resolve()).scan(), 10_000) == first


def big_scan() -> Scan:
    files = {}
    for top in range(6):
        for sub in range(5):
            for index in range(10):
                files[f"pkg{top}/mod{sub}/file{index}.py"] = FileInfo(1234, ("class Thing [a, b, c]", "def helper_function"))
        files[f"tests/test_{top}.py"] = FileInfo(99, ("def test_something_long_enough",))
    return Scan(files, (), False)


def test_the_bound_drops_definitions_then_folds_deep_folders() -> None:
    scan = big_scan()
    full = render(scan, 1_000_000)
    assert "def helper_function" in full and len(full) > 19_000
    smaller = render(scan, 12_000)
    assert len(smaller) <= 12_000 and "definitions left out of some files" in smaller
    assert "tests/" in smaller and "test_something_long_enough" not in smaller
    folded = render(scan, 2_000)
    assert len(folded) <= 2_000 and "deep folders folded" in folded
    assert "  mod0/ (10 files, 12K, not expanded)" in folded
    assert render(scan, 1_000).startswith("(306 files") and len(render(scan, 1_000)) <= 1_000


def test_changes_lines() -> None:
    old = Scan({"a.py": FileInfo(10, ("def a",)), "b.py": FileInfo(5), "c.md": FileInfo(3)}, (), False)
    new = Scan({"a.py": FileInfo(12, ("def a", "def b")), "c.md": FileInfo(3), "d.go": FileInfo(2000, ("func Main",))}, (), False)
    assert project_map.changes(old, new) == ["~ a.py 10B → 12B: def a; def b", "- b.py", "+ d.go 2.0K: func Main"]


def test_definitions_are_cached_on_disk(project: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache" / "outline.json"
    ProjectMap(project.resolve(), cache_path=cache).scan()
    data = json.loads(cache.read_text())
    assert data["files"]["src/pkg/core.py"][2] == ["class Engine [run, stop]", "def main"]
    stat = (project / "src/pkg/core.py").stat()
    data["files"]["src/pkg/core.py"] = [stat.st_size, stat.st_mtime_ns, ["class FromCache"]]
    cache.write_text(json.dumps(data))
    assert ProjectMap(project.resolve(), cache_path=cache).scan().files["src/pkg/core.py"].defs == ("class FromCache",)


def system_of(request) -> str:
    return messages_of(request)[0]["content"]


def test_the_map_is_in_the_system_prompt_and_byte_stable(glm_server, project: Path) -> None:
    glm_server.script([ScriptedTurn(content="one"), ScriptedTurn(content="two")])
    engine = Engine(project, glm_server.url)
    engine.run("first")
    engine.run("second")
    first, second = (system_of(r) for r in glm_server.requests)
    assert "# Project map" in first and "core.py" in first and "class Engine [run, stop]; def main" in first
    assert first == second


def test_a_changed_file_is_a_note_in_the_next_task_never_a_rewrite(glm_server, project: Path) -> None:
    glm_server.script([ScriptedTurn(content="one"), ScriptedTurn(content="two"), ScriptedTurn(content="three")])
    session, _log = Engine(project, glm_server.url).session()
    try:
        session.run("first")
        (project / "src" / "pkg" / "extra.py").write_text("def extra():\n    pass\n")
        (project / "README.md").unlink()
        session.run("second")
        session.run("third")
    finally:
        session.close()
    requests = glm_server.requests
    assert system_of(requests[1]) == system_of(requests[0])
    second_prompt = messages_of(requests[1])[-1]["content"]
    assert second_prompt.startswith("second\n\n---\nFiles changed since the project map was given")
    assert second_prompt.endswith("- README.md\n+ src/pkg/extra.py 22B: def extra")
    assert messages_of(requests[2])[-1]["content"] == "third"
    assert messages_of(requests[2])[: len(messages_of(requests[1]))] == messages_of(requests[1])


def test_a_resumed_session_gets_only_what_changed_since_the_map_it_was_given(glm_server, project: Path) -> None:
    glm_server.script([ScriptedTurn(content=str(n)) for n in range(4)])
    engine = Engine(project, glm_server.url)
    run = engine.run("first")
    session_id = run.result["session_id"]
    engine.resume(session_id, "again")
    assert messages_of(glm_server.requests[1])[-1]["content"] == "again"
    (project / "new.py").write_text("class New:\n    pass\n")
    (project / "src" / "web" / "app.ts").write_text("export class App {}\nexport function boot() {}\n")
    (project / "README.md").unlink()
    engine.resume(session_id, "once more")
    last = messages_of(glm_server.requests[2])[-1]["content"]
    assert last == (
        "once more\n\n---\nFiles changed since the project map was given (+ new, - gone, ~ changed; the map is otherwise as it was):\n"
        "- README.md\n+ new.py 20B: class New\n~ src/web/app.ts 20B → 46B: class App; function boot"
    )
    engine.resume(session_id, "and again")
    assert messages_of(glm_server.requests[3])[-1]["content"] == "and again"
    assert all(system_of(r) == system_of(glm_server.requests[0]) for r in glm_server.requests)


def test_a_session_without_a_saved_scan_gets_the_whole_map_on_resume(glm_server, project: Path) -> None:
    glm_server.script([ScriptedTurn(content="one"), ScriptedTurn(content="two")])
    engine = Engine(project, glm_server.url)
    session_id = engine.run("first").result["session_id"]
    (project / ".glmcode" / "sessions" / session_id / "map.json").unlink()  # as a session of an older version
    (project / "new.py").write_text("class New:\n    pass\n")
    engine.resume(session_id, "once more")
    last = messages_of(glm_server.requests[1])[-1]["content"]
    assert last.startswith("once more\n\n---\nThe project map as it is now")
    assert "\nnew.py 20B: class New\n" in last


def test_a_saved_scan_reads_back_equal(tmp_path: Path) -> None:
    scan = Scan({"a.py": FileInfo(12, ("def f", "class C [run]")), "b/c.txt": FileInfo(0)}, ("node_modules/",), True)
    project_map.save_scan(tmp_path / "s" / "map.json", scan)
    assert project_map.load_scan(tmp_path / "s" / "map.json") == scan
    (tmp_path / "s" / "map.json").write_text('{"version": 0}')
    assert project_map.load_scan(tmp_path / "s" / "map.json") is None
    assert project_map.load_scan(tmp_path / "missing.json") is None


def test_the_setting_turns_it_off(glm_server, project: Path) -> None:
    glm_server.script([ScriptedTurn(content="one")])
    Engine(project, glm_server.url).run("first", project_map=False)
    assert "# Project map" not in system_of(glm_server.requests[0])


def test_parsing_stops_at_its_time_budget_and_stays_consistent(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(project_map, "PARSE_BUDGET_S", 0.0)
    mapper = ProjectMap(project.resolve())
    first = mapper.scan()
    assert first.files["src/pkg/core.py"].defs == ()
    assert mapper.scan() == first

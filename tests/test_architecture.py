"""The shape rules of AGENT.md and DESIGN.md §1, checked: one direction of flow, lazy heavy imports."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


def modules_after(code: str) -> set[str]:
    probe = f"import sys\n{code}\nprint('\\n'.join(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(result.stdout.split())


def test_the_engine_imports_neither_textual_nor_rich_nor_openai_up_front():
    loaded = modules_after("import glmcode.engine.session, glmcode.engine.goal, glmcode.engine.agent, glmcode.model.client, glmcode.ui.jsonl, glmcode.ui.text")
    assert not {"textual", "rich", "openai", "git"} & loaded


def test_version_imports_nothing_heavy():
    loaded = modules_after("from glmcode.cli import main\nmain(['--version'])")
    assert not {"typer", "pydantic", "openai", "textual", "rich"} & loaded


# -- the import rules of DESIGN.md §1, checked from the source -----------------------------------

PACKAGE = Path(__file__).resolve().parents[1] / "glmcode"

PARTS = ("cli", "ui", "engine", "model", "tools", "rules")
"""Sub-packages that are parts; `glmcode/*.py` is base, `glmcode/testing/` is testing."""

LOWER = ("engine", "model", "tools", "rules", "base")
"""Parts below the ui: they never import ui, cli, Textual or Rich."""

UI_ENGINE_SURFACE = ("glmcode.engine.events", "glmcode.engine.session", "glmcode.engine.transcript")
"""What a front end may import from the engine: typed events, `Session`, and saved sessions read
back (`SavedSession`, `list_sessions` for /sessions and /resume). Never the agent, the goal
runner, compaction, budgets or verify directly."""


@dataclass(frozen=True)
class Import:
    """One import statement's dependency: `source` (module) imports `target` at `path:line`."""

    source: str
    target: str
    path: str
    line: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.source} imports {self.target}"


def module_name(path: Path, package: Path = PACKAGE) -> str:
    """`glmcode/tools/base.py` → `glmcode.tools.base`; a package's `__init__.py` → the package."""
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def part_of(module: str) -> str:
    """The part a `glmcode` module belongs to: one of PARTS, `base`, `testing` or `main`."""
    pieces = module.split(".")
    if module == "glmcode.__main__":
        return "main"
    if len(pieces) > 1 and pieces[1] in (*PARTS, "testing"):
        return pieces[1]
    return "base"


def imports_of(path: Path, modules: set[str], package: Path = PACKAGE) -> list[Import]:
    """Every import in the file: module level, inside functions, under `if TYPE_CHECKING:`, in
    `try:`; relative imports resolved; `from pkg import name` is module `pkg.name` when that is
    a module of the package, else `pkg`; `importlib.import_module("literal")` counts too."""
    source = module_name(path, package)
    is_package = path.name == "__init__.py"
    shown = str(path.relative_to(package.parent))
    found: list[Import] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [Import(source, alias.name, shown, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = source.split(".")
                base = base[: len(base) - (node.level - (1 if is_package else 0))]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            for alias in node.names:
                child = f"{target}.{alias.name}"
                found.append(Import(source, child if child in modules else target, shown, node.lineno))
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, (ast.Attribute, ast.Name))
            and (node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.append(Import(source, node.args[0].value, shown, node.lineno))
    return list(dict.fromkeys(found))  # `from m import a, b`: one dependency, listed once


def all_imports(package: Path = PACKAGE) -> list[Import]:
    """The imports of every module under `package`."""
    files = sorted(package.rglob("*.py"))
    modules = {module_name(path, package) for path in files}
    return [found for path in files for found in imports_of(path, modules, package)]


def internal_target(target: str) -> str | None:
    """The `glmcode` module `target` names, or None for the standard library and third parties."""
    return target if target == "glmcode" or target.startswith("glmcode.") else None


def violations(imports: list[Import], rule: Callable[[str, str, str], bool]) -> list[str]:
    """Every import for which `rule(source part, target part or top-level package, target)` holds."""
    bad = []
    for found in imports:
        internal = internal_target(found.target)
        target_part = part_of(internal) if internal else found.target.split(".")[0]
        if rule(part_of(found.source), target_part, found.target):
            bad.append(str(found))
    return bad


def import_cycles(imports: list[Import]) -> list[list[str]]:
    """Strongly connected components (Tarjan) of more than one module in the import graph."""
    graph: dict[str, set[str]] = {}
    for found in imports:
        target = internal_target(found.target)
        graph.setdefault(found.source, set())
        if target and target != found.source:
            graph[found.source].add(target)
            graph.setdefault(target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def cycle_report(components: list[list[str]], imports: list[Import]) -> list[str]:
    """Each cycle by name, with the imports that close it (file:line)."""
    lines = []
    for component in components:
        members = set(component)
        lines.append("cycle: " + " ↔ ".join(component))
        lines += [f"  {found}" for found in imports if found.source in members and found.target in members]
    return lines


def test_the_import_reader_sees_every_kind_of_import(tmp_path: Path):
    package = tmp_path / "glmcode"
    (package / "engine").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "engine" / "__init__.py").write_text("")
    (package / "engine" / "events.py").write_text("")
    (package / "engine" / "agent.py").write_text(
        "from __future__ import annotations\n"
        "from typing import TYPE_CHECKING\n"
        "from . import events\n"
        "from .. import config\n"
        "if TYPE_CHECKING:\n    from glmcode.ui.tui.app import GlmcodeApp\n"
        "def later():\n    import rich.console\n    import importlib\n    importlib.import_module('glmcode.cli.app')\n"
    )
    (package / "config.py").write_text("")
    found = [f for f in all_imports(package) if f.source == "glmcode.engine.agent"]
    assert [(f.target, f.line) for f in found] == [
        ("__future__", 1), ("typing", 2), ("glmcode.engine.events", 3), ("glmcode.config", 4),
        ("glmcode.ui.tui.app", 6), ("rich.console", 8), ("importlib", 9), ("glmcode.cli.app", 10),
    ]
    assert str(found[2]) == f"{Path('glmcode/engine/agent.py')}:3: glmcode.engine.agent imports glmcode.engine.events"
    bad = violations(found, lambda source, target, _: source in LOWER and target in ("ui", "cli", "rich"))
    assert [line.split(":")[1] for line in bad] == ["6", "8", "10"]


def test_engine_model_tools_rules_and_base_never_import_ui_cli_textual_or_rich():
    bad = violations(all_imports(), lambda source, target, _: source in LOWER and target in ("ui", "cli", "textual", "rich"))
    assert not bad, "a part below the ui reaches up or into a UI library:\n" + "\n".join(bad)


def test_model_and_tools_never_import_each_other():
    bad = violations(all_imports(), lambda source, target, _: {source, target} == {"model", "tools"})
    assert not bad, "model and tools must stay independent:\n" + "\n".join(bad)


def test_rules_and_base_import_nothing_above_them():
    allowed = {"rules": ("rules", "base"), "base": ("base",)}

    def above(source: str, target: str, module: str) -> bool:
        return source in allowed and internal_target(module) is not None and target not in allowed[source]

    bad = violations(all_imports(), above)
    assert not bad, "rules may import only base, base only base:\n" + "\n".join(bad)


def test_nothing_imports_cli_and_only_tests_import_testing():
    def wrong(source: str, target: str, _: str) -> bool:
        return (target == "cli" and source not in ("cli", "main")) or (target == "testing" and source != "testing")

    bad = violations(all_imports(), wrong)
    assert not bad, "cli is imported only by glmcode/__main__.py, testing only by tests:\n" + "\n".join(bad)


def test_the_ui_imports_only_the_engines_front_end_surface_and_base():
    def wrong(source: str, target: str, module: str) -> bool:
        if source != "ui" or internal_target(module) is None:
            return False
        if target == "engine":
            return not module.startswith(UI_ENGINE_SURFACE)
        return target not in ("ui", "base")

    bad = violations(all_imports(), wrong)
    assert not bad, f"the ui may import {', '.join(UI_ENGINE_SURFACE)} and base, nothing else below it:\n" + "\n".join(bad)


def test_no_import_cycles_between_modules():
    imports = all_imports()
    report = cycle_report(import_cycles(imports), imports)
    assert not report, "import cycles:\n" + "\n".join(report)

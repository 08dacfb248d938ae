"""The top-level definitions of a source file, for the project map: classes, functions, types.

Python is read with its own `ast` (exact; public names only, a class with its public methods). JavaScript,
TypeScript, Go, Rust, Java and Kotlin are read with a light regex over unindented lines, which
finds top-level declarations in conventionally formatted code and may miss exotic ones (a
declaration split over lines, a macro). Tree-sitter would be exact for every language, but
means a native core plus one grammar wheel per language for a map that only needs names; the
package stays pure Python (README, "Project context").
"""

from __future__ import annotations

import ast
import re

MAX_NAMES = 40
"""Definitions listed per file at most; the rest are counted (`+12 more`)."""
MAX_METHODS = 12
"""Public methods listed per Python class at most."""

_JS = re.compile(
    r"^(?:export\s+(?:default\s+)?)?(?:declare\s+)?(?:async\s+)?(?:abstract\s+)?"
    r"(function\*?|class|interface|type|enum|const|let|var)\s+([A-Za-z_$][\w$]*)",
    re.MULTILINE,
)
_GO = re.compile(r"^(?:func\s+(?:\(\s*\w*\s*\*?\s*(\w+)[^)]*\)\s*)?(\w+)|type\s+(\w+)\s+(\w+))", re.MULTILINE)
_RUST = re.compile(
    r"^(?:pub(?:\([^)]*\))?\s+)?(?:const\s+|async\s+|unsafe\s+|extern\s+\"\w+\"\s+)*"
    r"(fn|struct|enum|trait|mod|type|union)\s+([A-Za-z_]\w*)|^impl(?:<[^>]*>)?\s+([^{\n]+?)\s*\{",
    re.MULTILINE,
)
_JAVA = re.compile(
    r"^(?:@\w+\s+)*(?:(?:public|protected|private|abstract|final|sealed|static|data|open|internal)\s+)*"
    r"(class|interface|enum|record|object|fun)\s+([A-Za-z_]\w*)",
    re.MULTILINE,
)

LANGUAGES = {
    ".py": "python", ".pyi": "python",
    ".js": "js", ".jsx": "js", ".mjs": "js", ".cjs": "js", ".ts": "js", ".tsx": "js", ".mts": "js", ".cts": "js",
    ".go": "go", ".rs": "rust", ".java": "java", ".kt": "java", ".kts": "java",
}
"""File suffix → outline reader; files with other suffixes have no outline."""


def definitions(suffix: str, text: str) -> list[str]:
    """The top-level definitions of a file with this suffix (`.py`, `.ts`, ...) and text.

    Each is a short label: `class Engine [run, stop]`, `def main`, `interface Props`,
    `func (Server) Serve`, `impl Display for Point`. Empty for an unknown suffix; a Python file
    that does not parse gives `["(does not parse)"]`. Never raises.
    """
    language = LANGUAGES.get(suffix.lower())
    if language is None:
        return []
    if language == "python":
        names = _python(text)
    elif language == "js":
        names = [f"{'function' if kind.startswith('function') else kind} {name}" for kind, name in _JS.findall(text)]
    elif language == "go":
        names = [
            f"type {type_name} {kind}" if type_name else f"func ({receiver}) {name}" if receiver else f"func {name}"
            for receiver, name, type_name, kind in _GO.findall(text)
        ]
    elif language == "rust":
        names = [f"{kind} {name}" if kind else f"impl {impl.strip()}" for kind, name, impl in _RUST.findall(text)]
    else:
        names = [f"{kind} {name}" for kind, name in _JAVA.findall(text)]
    if len(names) > MAX_NAMES:
        names = [*names[:MAX_NAMES], f"+{len(names) - MAX_NAMES} more"]
    return names


def _python(text: str) -> list[str]:
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return ["(does not parse)"]
    names: list[str] = []
    for node in tree.body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("_"):
            continue
        if isinstance(node, ast.ClassDef):
            methods = [
                item.name
                for item in node.body
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and not item.name.startswith("_")
            ]
            if len(methods) > MAX_METHODS:
                methods = [*methods[:MAX_METHODS], f"+{len(methods) - MAX_METHODS}"]
            names.append(f"class {node.name}" + (f" [{', '.join(methods)}]" if methods else ""))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            names.append(f"def {node.name}")
    return names

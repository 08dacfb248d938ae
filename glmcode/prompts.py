"""Load the model-facing text files in `prompts/` and render them strictly.

Prompts are files, never string literals in logic. Rendering uses `string.Template.substitute`,
so a missing variable raises instead of leaking `$name` into a request.
"""

from __future__ import annotations

import functools
from pathlib import Path
from string import Template

_PACKAGE_DIR = Path(__file__).resolve().parent


@functools.cache
def prompts_dir() -> Path:
    """The prompts folder: inside the installed wheel, or at the top of a source checkout."""
    for candidate in (_PACKAGE_DIR / "prompts", _PACKAGE_DIR.parent / "prompts"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("glmcode's prompts/ folder is missing from this installation")


@functools.cache
def load(name: str) -> str:
    """The text of `prompts/<name>` (e.g. `"system.md"`, `"tools/read_file.md"`), trailing space stripped."""
    return (prompts_dir() / name).read_text(encoding="utf-8").rstrip()


def render(name: str, **values: object) -> str:
    """`load(name)` with every `$variable` substituted; a missing one raises `KeyError`."""
    return Template(load(name)).substitute({k: str(v) for k, v in values.items()})

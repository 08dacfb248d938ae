"""Test helpers for glmcode: a scripted GLM server for end-to-end tests, and the engine in-process
(`glmcode.testing.engine`: a `Session` on that server, its events kept).

Names are loaded lazily so ``python -m glmcode.testing.glm_server`` does not import the server
module twice (once as a package member, once as ``__main__``).
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "Fault",
    "GLMServer",
    "RecordedRequest",
    "Scenario",
    "ScriptedToolCall",
    "ScriptedTurn",
    "load_scenario",
]


def __getattr__(name: str) -> Any:
    """Resolve the public names from ``glm_server`` on first use."""
    if name in __all__:
        return getattr(importlib.import_module("glmcode.testing.glm_server"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

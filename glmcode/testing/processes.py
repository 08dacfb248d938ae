"""Helpers for tests that start real processes and check what is left of them.

Polling, never sleeping a fixed time: each wait returns as soon as its condition holds, so a loaded
machine only makes a test slower, never wrong.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path


def alive(pid: int) -> bool:
    """True while process `pid` exists and is not a zombie (PID 1 in a container may not reap
    orphans, so a dead process can linger as `Z` in `/proc/<pid>/stat`)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def wait_for(condition: Callable[[], object], within: float = 60.0) -> bool:
    """Poll `condition` every 20 ms until it is true (returns True) or `within` seconds pass
    (returns False). Generous by default: it only waits as long as the condition is false."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def wait_dead(pid: int, within: float = 60.0) -> bool:
    """True once process `pid` is gone (or a zombie), False if it still runs after `within` seconds."""
    return wait_for(lambda: not alive(pid), within)


def read_pid(path: Path, within: float = 60.0) -> int:
    """The pid a command wrote to `path` (a line ending in a newline), once it is there; raises
    AssertionError if it never is."""
    assert wait_for(lambda: path.exists() and path.read_text().endswith("\n"), within), f"{path} was never written"
    return int(path.read_text())

"""The output budget in a session: a share of the window, cut results saved whole (redacted) under the
session's folder, and the model reading the part it missed with read_file."""

from __future__ import annotations

import re
from pathlib import Path

from glmcode.testing import ScriptedTurn
from glmcode.testing.engine import API_KEY, Engine, call, messages_of

SAVED = re.compile(r'read_file path="([^"]+)" offset=(\d+) limit=(\d+)')


def test_a_long_output_is_cut_to_the_windows_share_saved_and_read_back(glm_server, engine: Engine, repo: Path):
    command = f"echo {API_KEY}; for i in $(seq 1 3000); do echo \"line $i\"; done"
    glm_server.script([
        ScriptedTurn(tool_calls=[call("run_shell", command=command)]),
        ScriptedTurn(content="reading the rest"),
    ])
    run = engine.run("show it", permission_mode="full-auto", context_window=16_000)
    assert run.returncode == 0, run.result
    budget = int(16_000 * 0.1 * 3)
    shown = next(m["content"] for m in messages_of(glm_server.requests[1]) if m["role"] == "tool")
    assert len(shown) <= budget + 20, len(shown)
    match = SAVED.search(shown)
    assert match, shown
    path = match.group(1)
    assert path.startswith(f".glmcode/sessions/{run.session.id}/outputs/")
    saved = (repo / path).read_text()
    assert API_KEY not in saved and "[redacted:api_key]" in saved
    assert "line 1\n" in saved and "line 3000\n" in saved
    # the next turn: the model follows the note
    offset, limit = int(match.group(2)), int(match.group(3))
    glm_server.script([
        ScriptedTurn(tool_calls=[call("read_file", path=path, offset=offset, limit=5)]),
        ScriptedTurn(content="ok"),
    ])
    again = engine.resume(run.session.id, "read the part that was cut")
    assert again.returncode == 0, again.result
    page = [m["content"] for m in messages_of(glm_server.requests[-1]) if m["role"] == "tool"][-1]
    first_cut = saved.split("\n")[offset - 1]
    assert first_cut in page and limit > 5


def test_the_budget_cap_still_applies_on_a_large_window(glm_server, engine: Engine):
    glm_server.script([
        ScriptedTurn(tool_calls=[call("run_shell", command="seq 1 100000")]),
        ScriptedTurn(content="ok"),
    ])
    run = engine.run("count", permission_mode="full-auto", tool_output_chars=5_000)
    shown = next(m["content"] for m in messages_of(glm_server.requests[1]) if m["role"] == "tool")
    assert run.returncode == 0 and len(shown) <= 5_000 and SAVED.search(shown)


def test_the_key_across_a_saved_pieces_boundary_is_never_written(glm_server, engine: Engine, repo: Path):
    # the whole output is written in pieces of 1 MiB: the key starts 5 characters before the first piece ends
    command = f"python3 -c \"import sys; sys.stdout.write('A'*({2**20}-5) + '{API_KEY}' + '\\n' + 'tail\\n')\""
    glm_server.script([ScriptedTurn(tool_calls=[call("run_shell", command=command)]), ScriptedTurn(content="ok")])
    run = engine.run("go", permission_mode="full-auto")
    assert run.returncode == 0, run.result
    saved = list((repo / ".glmcode" / "sessions" / run.session.id / "outputs").iterdir())
    assert len(saved) == 1
    text = saved[0].read_text()
    assert text.endswith("A[redacted:api_key]\ntail\n") and len(text) > 2**20
    for path in (repo / ".glmcode").rglob("*"):
        assert not path.is_file() or API_KEY.encode() not in path.read_bytes(), path

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


def _saved_whole(repo: Path, shown: str, first: str, last: str) -> None:
    """`shown` (a tool result) is cut and names a saved file that holds the whole output, redacted."""
    match = SAVED.search(shown)
    assert match, shown
    saved = (repo / match.group(1)).read_text()
    assert API_KEY not in saved and "[redacted:api_key]" in saved
    assert first in saved and last in saved and first not in shown
    assert saved.split("\n")[int(match.group(2)) - 1] not in shown, "the offset does not point at what was cut"


def test_a_background_commands_cut_output_is_saved_like_a_foreground_ones(glm_server, engine: Engine, repo: Path):
    """`shell_output` and `shell_stop` cut what a background command printed to the budget: the
    whole of it is saved (redacted) and the note says where, as for `run_shell` in the foreground."""
    gated = "echo $$ > {name}.pid; while [ ! -e go ]; do sleep 0.05; done; echo " + API_KEY + "; seq -f 'line %g' 1 3000"
    # bg1 exits after printing; the foreground command waits until glmcode has reaped it, which it
    # does once its output is read to the end. bg2 keeps running: a stop reads its pipe to the end.
    wait_reaped = "touch go; until [ -e bg2.printed ] && ! kill -0 $(cat bg1.pid) 2>/dev/null; do sleep 0.05; done"
    glm_server.script([
        ScriptedTurn(tool_calls=[call("run_shell", command=gated.format(name="bg1"), background=True)]),
        ScriptedTurn(tool_calls=[call("run_shell", command=gated.format(name="bg2") + "; touch bg2.printed; exec sleep 300", background=True)]),
        ScriptedTurn(tool_calls=[call("run_shell", command=wait_reaped)]),
        ScriptedTurn(tool_calls=[call("shell_output", id="bg1")]),
        ScriptedTurn(tool_calls=[call("shell_stop", id="bg2")]),
        ScriptedTurn(content="ok"),
    ])
    run = engine.run("start them", permission_mode="full-auto", tool_output_chars=5_000)
    assert run.returncode == 0, run.result
    tool_messages = [m["content"] for m in messages_of(glm_server.requests[-1]) if m["role"] == "tool"]
    read, stopped = tool_messages[3:5]
    assert read.startswith("bg1 exited with code 0") and stopped.startswith("bg2 stopped"), tool_messages
    for shown in (read, stopped):
        assert len(shown) <= 5_000 + 20, len(shown)
        _saved_whole(repo, shown, "line 1500\n", "line 3000")

"""The append-only session transcript (DESIGN.md §7): round trip, torn lines, ids, redaction, git-ignore."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from glmcode.engine.events import (
    ReasoningDelta,
    Result,
    SessionStart,
    TextDelta,
    ToolCall,
    ToolResultEvent,
    UsageTotals,
)
from glmcode.engine.transcript import (
    Transcript,
    TranscriptError,
    glmcode_dir,
    latest_session_id,
    list_sessions,
    new_session_id,
    read_session,
    sessions_dir,
)
from glmcode.redaction import Redactor

SECRET = "sk-live-9f8e7d6c5b4a"


def write_session(root: Path, session_id: str, prompt: str = "fix the bug", result: bool = True) -> Path:
    path = sessions_dir(root) / f"{session_id}.jsonl"
    transcript = Transcript(path, Redactor({"api_key": SECRET}))
    transcript.write({"kind": "session", "id": session_id, "model": "glm-5.2", "provider": "zai", "cwd": str(root)})
    transcript.message({"role": "system", "content": "You are glmcode."})
    transcript.message({"role": "user", "content": prompt})
    transcript.event(SessionStart(session_id=session_id, model="glm-5.2", provider="zai", cwd=str(root)))
    transcript.event(ReasoningDelta(session_id=session_id, text="hidden delta"))
    transcript.event(TextDelta(session_id=session_id, text="hidden delta"))
    transcript.message({
        "role": "assistant", "content": "", "reasoning_content": "look",
        "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "read_file", "arguments": '{"path":"é.py"}'}}],
    })
    transcript.event(ToolCall(session_id=session_id, id="c1", name="read_file", arguments={"path": "é.py"}, title="read_file é.py"))
    transcript.event(ToolResultEvent(session_id=session_id, id="c1", name="read_file", ok=True, output="1\tx"))
    transcript.message({"role": "tool", "tool_call_id": "c1", "content": "1\tx"})
    if result:
        transcript.event(Result(session_id=session_id, status="success", exit_code=0, summary="done", usage=UsageTotals(requests=1)))
    transcript.close()
    return path


def test_records_round_trip(tmp_path: Path) -> None:
    sid = "20261122-013000-a1b2c3"
    path = write_session(tmp_path, sid)
    record = read_session(tmp_path, sid)
    assert (record.id, record.path) == (sid, path)
    assert record.meta == {"kind": "session", "id": sid, "model": "glm-5.2", "provider": "zai", "cwd": str(tmp_path)}
    assert [m["role"] for m in record.messages] == ["system", "user", "assistant", "tool"]
    assert record.messages[2]["tool_calls"][0]["function"]["arguments"] == '{"path":"é.py"}'
    # streamed text deltas are not stored: the assistant message holds them
    assert [e["type"] for e in record.events] == ["session_start", "tool_call", "tool_result", "result"]
    assert record.events[1] == {"type": "tool_call", "session_id": sid, "id": "c1", "name": "read_file", "arguments": {"path": "é.py"}, "title": "read_file é.py"}
    assert record.first_prompt == "fix the bug"
    assert record.last_result is not None and record.last_result["status"] == "success"
    assert "é.py" in path.read_text(encoding="utf-8")  # UTF-8, not \u escapes


def test_every_line_is_one_json_object_flushed_as_written(tmp_path: Path) -> None:
    path = sessions_dir(tmp_path) / "20261122-013000-a1b2c3.jsonl"
    transcript = Transcript(path)
    transcript.message({"role": "user", "content": "multi\nline"})
    assert path.read_text(encoding="utf-8") == '{"kind":"message","message":{"role":"user","content":"multi\\nline"}}\n'
    transcript.close()
    transcript.close()  # closing twice is harmless


def test_a_torn_last_line_is_ignored(tmp_path: Path) -> None:
    sid = "20261122-013000-a1b2c3"
    path = write_session(tmp_path, sid, result=False)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write('{"kind":"message","message":{"role":"assistant","cont')
    record = read_session(tmp_path, sid)
    assert [m["role"] for m in record.messages] == ["system", "user", "assistant", "tool"]
    assert record.last_result is None


def test_resuming_after_a_torn_line_keeps_the_next_record(tmp_path: Path) -> None:
    sid = "20261122-013000-a1b2c3"
    path = write_session(tmp_path, sid, result=False)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write('{"kind":"message","message":{"role":"assistant","cont')
    resumed = Transcript(path)
    resumed.message({"role": "user", "content": "continue"})
    resumed.close()
    assert [m["content"] for m in read_session(tmp_path, sid).messages][-2:] == ["1\tx", "continue"]


def test_appending_after_reopen_continues_the_file(tmp_path: Path) -> None:
    sid = "20261122-013000-a1b2c3"
    path = write_session(tmp_path, sid)
    again = Transcript(path)
    again.message({"role": "user", "content": "next"})
    again.close()
    assert [m["content"] for m in read_session(tmp_path, sid).messages][-1] == "next"


@pytest.mark.parametrize(
    "bad", ["", "latest", "../../etc/passwd", "20261122-013000-A1B2C3", "20261122-013000-a1b2c3/../x", "2026112-013000-a1b2c3"]
)
def test_bad_ids_are_rejected(tmp_path: Path, bad: str) -> None:
    with pytest.raises(TranscriptError) as caught:
        read_session(tmp_path, bad)
    assert str(caught.value) == f"{bad!r} is not a session id (like 20261122-013000-a1b2c3); see `glmcode sessions`"


def test_unknown_session(tmp_path: Path) -> None:
    with pytest.raises(TranscriptError) as caught:
        read_session(tmp_path, "20261122-013000-a1b2c3")
    assert str(caught.value) == f"no session 20261122-013000-a1b2c3 in {tmp_path}; see `glmcode sessions`"


def test_list_sessions_newest_first(tmp_path: Path) -> None:
    assert list_sessions(tmp_path) == []
    assert latest_session_id(tmp_path) is None
    ids = ["20261121-235959-ffffff", "20261122-090000-000000", "20250101-000000-abcdef"]
    for number, sid in enumerate(ids):
        write_session(tmp_path, sid, prompt=f"prompt {number}")
    (sessions_dir(tmp_path) / "notes.jsonl").write_text("{}\n")  # not a session id: skipped
    sessions = list_sessions(tmp_path)
    assert [s.id for s in sessions] == ["20261122-090000-000000", "20261121-235959-ffffff", "20250101-000000-abcdef"]
    assert [s.first_prompt for s in sessions] == ["prompt 1", "prompt 0", "prompt 2"]
    assert latest_session_id(tmp_path) == "20261122-090000-000000"


def test_new_session_ids_are_valid_and_unique(tmp_path: Path) -> None:
    ids = {new_session_id() for _ in range(50)}
    assert len(ids) == 50
    for sid in ids:
        Transcript(sessions_dir(tmp_path) / f"{sid}.jsonl").close()
        assert read_session(tmp_path, sid).id == sid


def test_secrets_are_redacted_from_every_record(tmp_path: Path) -> None:
    path = sessions_dir(tmp_path) / "20261122-013000-a1b2c3.jsonl"
    transcript = Transcript(path, Redactor({"api_key": SECRET, "SHORT_TOKEN": "short"}))
    transcript.message({"role": "tool", "tool_call_id": "c", "content": f"API_KEY={SECRET}\n"})
    transcript.write({"kind": "session", "headers": {"authorization": f"Bearer {SECRET}"}, SECRET: [SECRET + SECRET]})
    transcript.message({"role": "user", "content": "a short note"})
    transcript.close()
    text = path.read_text(encoding="utf-8")
    assert SECRET not in text
    lines = [json.loads(line) for line in text.splitlines()]
    assert lines[0]["message"]["content"] == "API_KEY=[redacted:api_key]\n"
    assert lines[1]["headers"]["authorization"] == "Bearer [redacted:api_key]"
    assert lines[1]["[redacted:api_key]"] == ["[redacted:api_key][redacted:api_key]"]
    # values shorter than 8 characters are not redacted (they would blank out ordinary words)
    assert lines[2]["message"]["content"] == "a short note"


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


def test_glmcode_folder_is_ignored_by_git_except_its_config(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    folder = glmcode_dir(repo)
    assert (folder / ".gitignore").read_text(encoding="utf-8") == (
        "# written by glmcode: its sessions and runs stay out of git\n*\n!config.toml\n"
    )
    write_session(repo, "20261122-013000-a1b2c3")
    (folder / "runs" / "20261122-013000-a1b2c3").mkdir(parents=True)
    (folder / "runs" / "20261122-013000-a1b2c3" / "report.md").write_text("# report\n")
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""
    (folder / "config.toml").write_text('model = "glm-5.2"\n')
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == "?? .glmcode/config.toml\n"


def test_an_existing_gitignore_is_left_alone(tmp_path: Path) -> None:
    (tmp_path / ".glmcode").mkdir()
    (tmp_path / ".glmcode" / ".gitignore").write_text("sessions/\n")
    glmcode_dir(tmp_path)
    assert (tmp_path / ".glmcode" / ".gitignore").read_text() == "sessions/\n"


def test_a_tool_output_is_stored_once_and_read_back_exactly(tmp_path: Path) -> None:
    sid = "20261122-013000-a1b2c3"
    path = sessions_dir(tmp_path) / f"{sid}.jsonl"
    big, failed = "x" * 5000 + "\n", "boom: no such file " * 300
    transcript = Transcript(path)
    transcript.message({"role": "assistant", "content": "", "tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "read_file", "arguments": "{}"}},
        {"id": "c2", "type": "function", "function": {"name": "read_file", "arguments": "{}"}},
        {"id": "c3", "type": "function", "function": {"name": "read_file", "arguments": "{}"}},
    ]})
    transcript.event(ToolResultEvent(session_id=sid, id="c1", name="read_file", ok=True, output=big))
    transcript.message({"role": "tool", "tool_call_id": "c1", "content": big})
    transcript.event(ToolResultEvent(session_id=sid, id="c2", name="read_file", ok=False, output=failed))
    transcript.message({"role": "tool", "tool_call_id": "c2", "content": "Error: " + failed})
    # content that differs from the event's output (cut for the model, say) is stored as it is
    transcript.event(ToolResultEvent(session_id=sid, id="c3", name="read_file", ok=True, output=big))
    transcript.message({"role": "tool", "tool_call_id": "c3", "content": big[:100]})
    transcript.close()
    text = path.read_text(encoding="utf-8")
    assert text.count("x" * 5000) == 2 and text.count(failed) == 1  # c1 once, c3 event once; c2 once
    lines = [json.loads(line) for line in text.splitlines()]
    assert lines[2] == {"kind": "message", "message": {"role": "tool", "tool_call_id": "c1"}, "content_from": "tool_result"}
    assert lines[4]["prefix"] == "Error: "
    messages = read_session(tmp_path, sid).messages
    assert messages[1:] == [
        {"role": "tool", "tool_call_id": "c1", "content": big},
        {"role": "tool", "tool_call_id": "c2", "content": "Error: " + failed},
        {"role": "tool", "tool_call_id": "c3", "content": big[:100]},
    ]
    assert list(messages[1]) == ["role", "tool_call_id", "content"]  # key order kept: the resumed body is byte-identical
    assert read_session(tmp_path, sid).events[0]["output"] == big


def test_a_reused_call_id_reads_back_its_own_output(tmp_path: Path) -> None:
    sid = "20261122-013000-a1b2c3"
    path = sessions_dir(tmp_path) / f"{sid}.jsonl"
    transcript = Transcript(path)
    for output in ("first", "second"):
        transcript.event(ToolResultEvent(session_id=sid, id="c1", name="read_file", ok=True, output=output))
        transcript.message({"role": "tool", "tool_call_id": "c1", "content": output})
    transcript.close()
    assert [m["content"] for m in read_session(tmp_path, sid).messages] == ["first", "second"]


def test_old_transcripts_with_the_output_twice_still_read(tmp_path: Path) -> None:
    sid = "20261122-013000-a1b2c3"
    path = sessions_dir(tmp_path) / f"{sid}.jsonl"
    event = {"type": "tool_result", "session_id": sid, "id": "c1", "name": "read_file", "ok": True, "output": "1\tx"}
    path.write_text(
        json.dumps({"kind": "event", "event": event}) + "\n"
        + json.dumps({"kind": "message", "message": {"role": "tool", "tool_call_id": "c1", "content": "1\tx"}}) + "\n",
        encoding="utf-8",
    )
    assert read_session(tmp_path, sid).messages == [{"role": "tool", "tool_call_id": "c1", "content": "1\tx"}]


def test_a_reference_to_a_missing_tool_result_is_refused(tmp_path: Path) -> None:
    sid = "20261122-013000-a1b2c3"
    path = sessions_dir(tmp_path) / f"{sid}.jsonl"
    record = {"kind": "message", "message": {"role": "tool", "tool_call_id": "c9"}, "content_from": "tool_result"}
    path.write_text(json.dumps(record) + "\n", encoding="utf-8")
    with pytest.raises(TranscriptError, match="refers to a tool_result event"):
        read_session(tmp_path, sid)

"""End to end: no secret value reaches stdout, stderr, the transcript, a report, the step summary
or the model (DESIGN.md §6), through the real `glmcode` command and the scripted GLM server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

from glmcode.testing import Fault, ScriptedToolCall, ScriptedTurn
from glmcode.testing.command import API_KEY, base_env
from glmcode.testing.repos import make_repo

TOKEN = "ghp_7Hq2Vw9Zx4Ab6Cd8Ef0Gh2Ij4Kl6Mn8Op0"
AWS = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
PASSWORD = 'pa"ss\\w0rd-42'
CHECK = (
    "import os, sys, calc\n"
    "if calc.add(2, 3) != 5:\n"
    "    print('add is wrong; deploy token', os.environ['GITHUB_TOKEN'])\n"
    "    sys.exit(1)\n"
)
CONFIG = f"api_key = {API_KEY}\ngithub = {TOKEN}\naws = {AWS}\nflag = true\ndb = postgres\n"


def call(name: str, **arguments: Any) -> ScriptedToolCall:
    return ScriptedToolCall(name=name, arguments=arguments)


def forms(secret: str) -> set[str]:
    """The secret as written raw, inside a JSON string, and URL-encoded."""
    return {secret, json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1], quote(secret, safe="")}


def strings(value: Any) -> Iterator[str]:
    """Every string inside a JSON value, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def assert_hidden(secret: str, where: str, text: str) -> None:
    found = [form for form in forms(secret) if form in text]
    assert not found, f"{where} holds a secret ({found[0][:6]}…)"


def assert_model_never_saw(secret: str, server) -> None:
    for number, request in enumerate(server.requests):
        assert_hidden(secret, f"request {number} (raw body)", request.body.decode())
        for text in strings(request.json):
            assert_hidden(secret, f"request {number}", text)


def test_goal_run_hides_secrets_everywhere(glm_server, run_glmcode, tmp_path: Path):
    repo = make_repo(tmp_path / "repo", {
        "AGENT.md": "# Demo\n\n## Commands\n- test: `python check.py`\n",
        "calc.py": "def add(a, b):\n    return a - b\n", "check.py": CHECK, "config.txt": CONFIG,
    })
    glm_server.script([
        ScriptedTurn(tool_calls=[call("read_file", path="config.txt")]),
        ScriptedTurn(tool_calls=[call("update_plan", steps=[{"step": "Fix add", "status": "pending"}])]),
        ScriptedTurn(content="Plan: fix add."),
        ScriptedTurn(tool_calls=[call("edit_file", path="calc.py", old_string="a - b", new_string="a * b")]),
        ScriptedTurn(content="Changed add."),
        ScriptedTurn(tool_calls=[
            call("run_shell", command='echo "gh=$GITHUB_TOKEN aws=$AWS_SECRET_ACCESS_KEY zai=${ZAI_API_KEY:-absent} glm=${GLMCODE_API_KEY:-absent}"'),
            call("edit_file", path="calc.py", old_string="a * b", new_string="a + b"),
        ]),
        ScriptedTurn(content="Fixed add."),
        # a model that echoes secrets (it never saw them: this stands for one that guessed or was told)
        ScriptedTurn(content=f"## What changed\nadd adds. Used key {API_KEY} and token {TOKEN}.", chunk_chars=3),
    ])
    summary = tmp_path / "step-summary.md"
    env = base_env(
        glm_server, tmp_path, ZAI_API_KEY=API_KEY, GITHUB_TOKEN=TOKEN, AWS_SECRET_ACCESS_KEY=AWS,
        FEATURE_TOKEN="true", PGPASSWORD="postgres", GITHUB_STEP_SUMMARY=str(summary),
    )
    run = run_glmcode("run", "--goal", f"make add correct (deploy with {TOKEN})", "--yes", cwd=repo, env=env)
    assert run.returncode == 0, run.stderr
    assert run.result["rounds"] == 1

    session_id = run.result["session_id"]
    report = Path(run.result["report_path"]).read_text()
    written = {
        "stdout": run.stdout, "stderr": run.stderr, "transcript": Path(run.result["transcript_path"]).read_text(),
        "report": report, "step summary": summary.read_text(),
        "goal state": (repo / ".glmcode" / "runs" / session_id / "goal.json").read_text(),
    }
    for secret in (API_KEY, TOKEN, AWS):
        for where, text in written.items():
            assert_hidden(secret, where, text)
        assert_model_never_saw(secret, glm_server)

    results = {e["name"]: e for e in run.of_type("tool_result")}
    read, shell = results["read_file"], results["run_shell"]
    assert [line.split("\t", 1)[1] for line in read["output"].splitlines()] == [
        "api_key = [redacted:api_key]", "github = [redacted:GITHUB_TOKEN]", "aws = [redacted:AWS_SECRET_ACCESS_KEY]",
        "flag = true", "db = postgres",
    ], "secrets are labelled; short and one-word values are left alone"
    assert "gh=[redacted:GITHUB_TOKEN] aws=[redacted:AWS_SECRET_ACCESS_KEY]" in shell["output"], "commands keep the tokens they need"
    assert "zai=absent glm=absent" in shell["output"], "glmcode's own key variables are removed from commands"
    failed = next(v for v in run.of_type("verify") if not v["passed"])
    assert "deploy token [redacted:GITHUB_TOKEN]" in failed["output"]
    fix_message = [m["content"] for m in glm_server.requests[5].json["messages"] if m["role"] == "user"][-1]
    assert "deploy token [redacted:GITHUB_TOKEN]" in fix_message
    assert "Used key [redacted:api_key] and token [redacted:GITHUB_TOKEN]." in report
    assert "(deploy with [redacted:GITHUB_TOKEN])" in report
    streamed = "".join(e["text"] for e in run.of_type("text"))
    assert "Used key [redacted:api_key] and token [redacted:GITHUB_TOKEN]." in streamed, "deltas split the secrets: 3 characters each"


def test_provider_errors_that_echo_the_key_are_redacted(glm_server, run_glmcode, repo: Path):
    def turn() -> ScriptedTurn:
        return ScriptedTurn(content="never", faults=[
            Fault(kind="http_error", status=500, message=f"upstream rejected {API_KEY}"),
            Fault(kind="http_error", status=401, code="1000", message=f"Incorrect API key provided: {API_KEY}"),
        ])

    glm_server.script([turn()])
    run = run_glmcode("run", "hi", cwd=repo)
    assert run.returncode == 3
    assert "upstream rejected [redacted:api_key]" in run.of_type("retry")[0]["reason"]
    assert "Incorrect API key provided: [redacted:api_key]" in run.of_type("error")[0]["message"]
    assert "[redacted:api_key]" in run.result["summary"]
    transcript = Path(run.result["transcript_path"]).read_text()
    for where, text in {"stdout": run.stdout, "stderr": run.stderr, "transcript": transcript}.items():
        assert_hidden(API_KEY, where, text)

    glm_server.script([turn()], replace=True)  # the fatal error left the first turn unserved
    as_text = run_glmcode("run", "hi", "--output-format", "text", cwd=repo)
    assert as_text.returncode == 3 and "Incorrect API key provided: [redacted:api_key]" in as_text.stderr
    assert_hidden(API_KEY, "text stdout", as_text.stdout)
    assert_hidden(API_KEY, "text stderr", as_text.stderr)


def test_json_escaped_secrets_in_files_are_caught(glm_server, run_glmcode, repo: Path, tmp_path: Path):
    (repo / "settings.json").write_text(json.dumps({"db": {"password": PASSWORD}}, indent=2))
    (repo / "raw.txt").write_text(f"password: {PASSWORD}\n")
    glm_server.script([
        ScriptedTurn(tool_calls=[call("read_file", path="settings.json"), call("run_shell", command="cat raw.txt")]),
        ScriptedTurn(content="read both"),
    ])
    run = run_glmcode("run", "read the settings", "--yes", cwd=repo, env=base_env(glm_server, tmp_path, DB_PASSWORD=PASSWORD))
    assert run.returncode == 0, run.stderr
    settings, raw = run.of_type("tool_result")
    assert '"password": "[redacted:DB_PASSWORD]"' in settings["output"]
    assert "password: [redacted:DB_PASSWORD]" in raw["output"]
    assert_hidden(PASSWORD, "stdout", run.stdout)
    for text in (s for event in run.events for s in strings(event)):
        assert_hidden(PASSWORD, "an event", text)
    assert_hidden(PASSWORD, "transcript", Path(run.result["transcript_path"]).read_text())
    assert_model_never_saw(PASSWORD, glm_server)


def test_resume_redacts_a_transcript_older_than_the_secret(glm_server, run_glmcode, repo: Path, tmp_path: Path):
    (repo / "deploy.txt").write_text(f"token {TOKEN}\n")
    glm_server.script([ScriptedTurn(tool_calls=[call("read_file", path="deploy.txt")]), ScriptedTurn(content="read it")])
    first = run_glmcode("run", "read deploy.txt", cwd=repo)
    assert first.returncode == 0 and TOKEN in Path(first.result["transcript_path"]).read_text(), "not a secret yet"

    glm_server.script([ScriptedTurn(content="ok")])
    env = base_env(glm_server, tmp_path, GITHUB_TOKEN=TOKEN)
    again = run_glmcode("run", "--resume", first.result["session_id"], "go on", cwd=repo, env=env)
    assert again.returncode == 0, again.stderr
    last = glm_server.requests[-1]
    assert_hidden(TOKEN, "the resumed request", last.body.decode())
    assert "\ttoken [redacted:GITHUB_TOKEN]" in next(m["content"] for m in last.json["messages"] if m["role"] == "tool")

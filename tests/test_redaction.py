"""The one redaction step (glmcode/redaction.py): which secrets, which forms, text, structures, streams."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

import pytest

from glmcode.config import API_KEY_VARIABLES
from glmcode.engine.events import Plan, Result, ToolCall, ToolResultEvent, UsageTotals
from glmcode.redaction import (
    Redactor,
    encoded_forms,
    looks_secret_name,
    looks_secret_value,
    secret_environment,
)
from glmcode.tools.base import PlanStep

KEY = "zk-4f1e9a7b2c3d.Qx8LmN0pR5"
TOKEN = "ghp_7Hq2Vw9Zx4Ab6Cd8Ef0Gh2Ij4Kl6Mn8Op0"
AWS = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY+z"


@pytest.mark.parametrize("name", [
    *API_KEY_VARIABLES, "GITHUB_TOKEN", "GH_TOKEN", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "ANTHROPIC_API_KEY",
    "OPENAI_API_KEY", "NPM_TOKEN", "PGPASSWORD", "DB_PASSWORD", "MYSQL_ROOT_PASSWD", "CLIENT_SECRET", "SECRET_KEY_BASE",
    "SSH_PRIVATE_KEY", "HF_ACCESSTOKEN", "GOOGLE_APPLICATION_CREDENTIALS", "ACTIONS_ID_TOKEN_REQUEST_TOKEN", "stripe_key",
    "MAPS_APIKEY", "GPG_PASSPHRASE",
])
def test_secret_looking_names(name: str) -> None:
    assert looks_secret_name(name)


@pytest.mark.parametrize("name", [
    "PATH", "HOME", "KEYBOARD_LAYOUT", "MONKEY_PATCH", "TOKENIZERS_PARALLELISM", "SSH_AUTH_SOCK", "GITHUB_STEP_SUMMARY",
    "GLMCODE_BASE_URL", "XDG_RUNTIME_DIR", "HOTKEYS",
])
def test_ordinary_names(name: str) -> None:
    assert not looks_secret_name(name)


def test_values_that_redacting_would_only_mangle(tmp_path: Path) -> None:
    for benign in ("true", "1", "short12", "disabled", "localhost", "postgres", "changeme", "12345678", str(tmp_path / "key.json"), "./creds.json"):
        assert not looks_secret_value(benign), benign
    for secret in (KEY, TOKEN, AWS, "/x9Qm2Lp/7vK+3==", "Hunter2!Hunter2!", "correct horse battery staple"):
        assert looks_secret_value(secret), secret


def test_environment_scan_keeps_secret_names_with_secret_values(tmp_path: Path) -> None:
    env = {
        "GITHUB_TOKEN": TOKEN, "AWS_SECRET_ACCESS_KEY": AWS, "PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
        "FEATURE_TOKEN": "true", "PGPASSWORD": "postgres", "CACHE_KEY": str(tmp_path / "cache"), "EDITOR_KEYMAP": "emacs-like-map",
    }
    assert secret_environment(env) == {"AWS_SECRET_ACCESS_KEY": AWS, "GITHUB_TOKEN": TOKEN}


def test_text_gets_one_label_per_secret_named_after_its_variable() -> None:
    redactor = Redactor.for_session(KEY, {"GITHUB_TOKEN": TOKEN, "AWS_SECRET_ACCESS_KEY": AWS, "PATH": "/usr/bin"})
    text = f"key={KEY}\ntoken: {TOKEN}{TOKEN}\naws {AWS}. PATH=/usr/bin"
    assert redactor.text(text) == (
        "key=[redacted:api_key]\ntoken: [redacted:GITHUB_TOKEN][redacted:GITHUB_TOKEN]\naws [redacted:AWS_SECRET_ACCESS_KEY]. PATH=/usr/bin"
    )
    assert redactor.names == ["AWS_SECRET_ACCESS_KEY", "GITHUB_TOKEN", "api_key"]


def test_the_configured_key_is_named_api_key_even_when_a_variable_holds_it() -> None:
    redactor = Redactor.for_session(KEY, {"ZAI_API_KEY": KEY})
    assert redactor.text(KEY) == "[redacted:api_key]"


def test_the_longest_secret_wins_where_one_contains_another() -> None:
    redactor = Redactor({"SHORT_TOKEN": TOKEN[:12], "LONG_TOKEN": TOKEN})
    assert redactor.text(f"{TOKEN} {TOKEN[:12]}") == "[redacted:LONG_TOKEN] [redacted:SHORT_TOKEN]"


def test_escaped_and_encoded_forms_are_caught() -> None:
    quoted = 'pa"ss\\wörd/+42x'
    redactor = Redactor({"DB_PASSWORD": quoted, "AWS_SECRET_ACCESS_KEY": AWS})
    as_json = json.dumps({"password": quoted, "aws": AWS})
    assert redactor.text(as_json) == '{"password": "[redacted:DB_PASSWORD]", "aws": "[redacted:AWS_SECRET_ACCESS_KEY]"}'
    unicode_escaped = json.dumps(quoted, ensure_ascii=False)
    assert redactor.text(unicode_escaped) == '"[redacted:DB_PASSWORD]"'
    url = f"https://example.com/?p={quote(quoted, safe='')}&k={quote(AWS, safe='')}"
    assert redactor.text(url) == "https://example.com/?p=[redacted:DB_PASSWORD]&k=[redacted:AWS_SECRET_ACCESS_KEY]"
    spaced = Redactor({"SESAME_TOKEN": "open sesame 42!"})
    assert spaced.text("?a=open%20sesame%2042%21&b=open+sesame+42%21") == "?a=[redacted:SESAME_TOKEN]&b=[redacted:SESAME_TOKEN]"
    assert set(encoded_forms(TOKEN)) == {TOKEN}, "a plain token has one form only"


def test_a_multi_line_key_is_also_caught_line_by_line() -> None:
    pem = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\nAAAAMwAAAAtzc2gtZWQyNTUxOQAAACBkZXZpY2Uta2V5\n-----END OPENSSH PRIVATE KEY-----\n"
    redactor = Redactor({"SSH_PRIVATE_KEY": pem})
    printed = pem.replace("\n", "\r\n")
    redacted = redactor.text(printed)
    assert "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ" not in redacted and "AAAAMwAAAAtzc2gt" not in redacted
    assert "-----BEGIN OPENSSH PRIVATE KEY-----" in redacted, "the markers are not secret"


def test_short_and_benign_values_leave_text_alone(tmp_path: Path) -> None:
    redactor = Redactor.for_session("k", {"FEATURE_TOKEN": "true", "PGPASSWORD": "postgres", "CACHE_KEY": str(tmp_path)})
    text = f"true k postgres {tmp_path} key"
    assert redactor.forms == () and redactor.text(text) is text


def test_structures_and_events_are_redacted_as_copies() -> None:
    redactor = Redactor({"api_key": KEY, "GITHUB_TOKEN": TOKEN})
    data = {"a": [KEY, ("x", TOKEN)], KEY: {"n": 1, "ok": True}, "plain": ["y"]}
    redacted = redactor.value(data)
    assert redacted == {"a": ["[redacted:api_key]", ("x", "[redacted:GITHUB_TOKEN]")], "[redacted:api_key]": {"n": 1, "ok": True}, "plain": ["y"]}
    assert data["a"] == [KEY, ("x", TOKEN)], "the input is never modified"
    assert redacted["plain"] is data["plain"], "what holds no secret is not copied"

    event = ToolResultEvent(id="c", name="read_file", ok=True, output=f"1\t{KEY}", summary="1 line", diff=f"+{TOKEN}")
    clean = redactor.value(event)
    assert (clean.output, clean.diff, clean.summary) == ("1\t[redacted:api_key]", "+[redacted:GITHUB_TOKEN]", "1 line")
    assert event.output == f"1\t{KEY}" and type(clean) is ToolResultEvent
    call = redactor.value(ToolCall(id="c", name="run_shell", arguments={"command": f"curl -H 'Bearer {TOKEN}'"}))
    assert call.arguments == {"command": "curl -H 'Bearer [redacted:GITHUB_TOKEN]'"}
    plan = redactor.value(Plan(steps=[PlanStep(step=f"rotate {KEY}", status="pending")]))
    assert plan.steps[0].step == "rotate [redacted:api_key]"
    result = Result(status="error", exit_code=3, summary=f"401: bad key {KEY}", usage=UsageTotals(requests=1))
    assert redactor.value(result).summary == "401: bad key [redacted:api_key]"
    untouched = ToolResultEvent(id="c", name="read_file", ok=True, output="nothing")
    assert redactor.value(untouched) is untouched
    assert KEY not in redactor.value(event).to_json()


def test_a_secret_split_across_streamed_fragments_is_caught() -> None:
    stream = Redactor({"api_key": KEY}).stream()
    pieces = []
    for fragment in ["the key is ", KEY[:5], KEY[5:11], KEY[11:] + " ok", " zk-4", "f done"]:
        pieces += stream.feed("text", fragment)
    pieces += stream.flush()
    assert all(channel == "text" for channel, _ in pieces)
    assert "".join(text for _, text in pieces) == "the key is [redacted:api_key] ok zk-4f done"
    assert pieces[0] == ("text", "the key is "), "text that cannot start a secret is passed on at once"


def test_held_text_is_released_when_another_channel_speaks() -> None:
    stream = Redactor({"api_key": KEY}).stream()
    assert stream.feed("reasoning", "maybe zk-") == [("reasoning", "maybe ")]
    assert stream.feed("text", "answer") == [("reasoning", "zk-"), ("text", "answer")]
    assert stream.flush() == []


def test_a_stream_with_no_secrets_passes_fragments_through() -> None:
    stream = Redactor({}).stream()
    assert stream.feed("text", "zk-") == [("text", "zk-")] and stream.flush() == []


def test_the_configured_key_is_hidden_whatever_it_looks_like() -> None:
    """A key that is one lowercase word or all digits is still the key (red-team finding)."""
    for key in ("supersecretkeyvalue", "1234567890123"):
        assert Redactor({"api_key": key}).text(f"key={key}") == "key=[redacted:api_key]"
    assert Redactor({"api_key": "short"}).text("short") == "short", "too short to redact without mangling output"


def test_a_value_with_surrounding_blanks_is_hidden_in_its_bare_form() -> None:
    redactor = Redactor({"GITHUB_TOKEN": "ghp_abcdef1234567890 \t"})
    assert redactor.text("token ghp_abcdef1234567890 used") == "token [redacted:GITHUB_TOKEN] used"

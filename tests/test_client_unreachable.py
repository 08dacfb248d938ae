"""A base URL that cannot be reached fails fast, naming the URL (issue 11, honest outcomes).

Connection refused and unresolvable host names are not worth five backoff waits before the
first answer; once the host has answered, the same error is a restart and keeps its retries.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from glmcode.config import Config, load_config
from glmcode.model.client import APIFailure, GLMClient
from glmcode.model.conversation import Conversation
from glmcode.testing import GLMServer, ScriptedTurn


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith(("GLMCODE_", "ZAI_")) or name.lower() in ("http_proxy", "https_proxy", "all_proxy"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("GLMCODE_CONFIG_DIR", str(tmp_path / "user-config"))


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A local port bound but not listening: every connection to it is refused, and no other
    process can take it while the test runs."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def config_for(tmp_path: Path, base_url: str, **flags: Any) -> Config:
    """Default retry settings (1 s first wait, 6 attempts) unless `flags` say otherwise."""
    return load_config(tmp_path, {"api_key": "sk-test-123456", "provider": "openai-compatible", "base_url": base_url, **flags})


def body_for(config: Config) -> bytes:
    from glmcode.model.client import request_head

    conversation = Conversation(request_head(config, []))
    conversation.append({"role": "user", "content": "hi"})
    return conversation.body()


def fail(config: Config) -> tuple[APIFailure, list[Any], float]:
    """Make one request that fails: (the failure, the retries announced, seconds spent, the SDK's
    import not counted — under load it alone can take seconds)."""
    import openai  # noqa: F401

    retries: list[Any] = []
    started = time.monotonic()
    with pytest.raises(APIFailure) as caught:
        GLMClient(config, on_retry=lambda *a: retries.append(a)).complete(body_for(config), lambda k, t: None)
    return caught.value, retries, time.monotonic() - started


def test_connection_refused_fails_at_once_naming_the_url_and_doctor(tmp_path: Path, closed_port: int) -> None:
    url = f"http://127.0.0.1:{closed_port}/v1"
    failure, retries, elapsed = fail(config_for(tmp_path, url))
    assert retries == [] and elapsed < 3
    assert (failure.kind, failure.retryable) == ("connection", False)
    assert failure.describe("openai-compatible") == failure.message  # the URL, not the provider, names the place
    assert failure.message.startswith(f"cannot reach {url}: connection refused")
    assert "glmcode doctor" in failure.message


def test_an_unresolvable_host_fails_at_once(tmp_path: Path) -> None:
    url = "http://glmcode-test.invalid/v1"  # .invalid never resolves (RFC 2606)
    failure, retries, elapsed = fail(config_for(tmp_path, url))
    assert retries == [] and elapsed < 3
    assert failure.kind == "connection" and failure.message.startswith(f"cannot reach {url}: host name not resolved")


def test_a_host_that_answered_before_is_retried_when_it_refuses(tmp_path: Path) -> None:
    with GLMServer([ScriptedTurn(content="first")]) as server:
        config = config_for(tmp_path, server.url, retry_initial_s=0.01, retry_max_s=0.02, retry_attempts=3)
        client = GLMClient(config, on_retry=lambda *a: retries.append(a))
        retries: list[Any] = []
        assert client.complete(body_for(config), lambda k, t: None).content == "first"
    with pytest.raises(APIFailure) as caught:  # the server is gone: its port refuses now
        client.complete(body_for(config), lambda k, t: None)
    assert len(retries) == 2 and caught.value.retryable and caught.value.kind == "api"

"""Secret-looking files (`.env`, keys) reach the model only when named themselves.

A folder or glob read, an `@folder/` mention, `search` over a folder and the project map skip
them (listed as skipped); an explicit path still reads them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from glmcode.engine import mentions, project_map
from glmcode.engine.project_map import ProjectMap
from glmcode.tools._reader import SECRET_REASON, is_secret_name

SECRET = "TOKEN=sk-not-for-the-model-0123456789"
SECRETS = [".env", ".env.local", "conf/.env.production", "certs/server.pem", "certs/tls.key", "keys/id_rsa", "keys/id_ed25519.pub"]


@pytest.fixture
def secrets_repo(repo: Path) -> Path:
    """The template repo plus secret-looking files holding `SECRET`, and a `.env.example`."""
    for name in SECRETS:
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(SECRET + "\n")
    (repo / ".env.example").write_text("TOKEN=\n")
    (repo / "conf" / "settings.py").write_text("TOKEN = None\n")
    return repo


def test_which_names_look_secret() -> None:
    assert all(is_secret_name(Path(name).name) for name in SECRETS)
    assert is_secret_name("ID_RSA") and is_secret_name(".ENV")
    for name in (".env.example", ".env.sample", ".env.template", "environment.py", "keyboard.py", "key.py", "pem.txt", "env"):
        assert not is_secret_name(name), name


@pytest.mark.parametrize("paths", [["."], ["conf", "certs", "keys"], ["**/*"], ["*.pem", "*.key", ".env*"]])
def test_folder_and_glob_reads_skip_them(call, secrets_repo: Path, paths: list[str]) -> None:
    result = call("read_files", {"paths": paths})
    assert SECRET not in result.output
    shown = [name for name in SECRETS if f"{name} ({SECRET_REASON})" in result.output]
    assert shown, result.output


def test_a_folder_read_lists_every_one_and_still_reads_the_rest(call, secrets_repo: Path) -> None:
    result = call("read_files", {"paths": ["."]})
    assert result.ok and SECRET not in result.output
    for name in SECRETS:
        assert f"{name} ({SECRET_REASON})" in result.output
    assert "==> .env.example (1 line) <==" in result.output and "==> conf/settings.py (1 line) <==" in result.output


def test_an_explicit_path_still_reads_it(call, secrets_repo: Path) -> None:
    result = call("read_files", {"paths": [".env", "certs/server.pem"]})
    assert result.ok and result.output.count(SECRET) == 2
    assert SECRET in call("read_file", {"path": "keys/id_rsa"}).output


def test_mentions_of_a_folder_skip_them_and_of_the_file_attach_it(secrets_repo: Path) -> None:
    folder = mentions.expand("look at @conf/ and @certs/", secrets_repo, 20_000)
    assert SECRET not in folder.text and "==> conf/settings.py" in folder.text
    assert f"conf/.env.production ({SECRET_REASON})" in folder.text
    named = mentions.expand("look at @.env", secrets_repo, 20_000)
    assert SECRET in named.text


def test_search_skips_them_unless_given_as_the_path(call, secrets_repo: Path) -> None:
    over_all = call("search", {"pattern": "TOKEN"})
    assert SECRET not in over_all.output and "conf/settings.py:1: TOKEN = None" in over_all.output
    assert "[7 secret-looking files (.env, keys) not searched" in over_all.output
    assert SECRET in call("search", {"pattern": "TOKEN", "path": ".env"}).output


def test_the_map_does_not_map_them(secrets_repo: Path) -> None:
    scan = ProjectMap(secrets_repo).scan()
    assert not set(SECRETS) & set(scan.files) and ".env.example" in scan.files
    assert set(SECRETS) <= set(scan.skipped)
    assert ".env, " in project_map.render(scan, 32_000)

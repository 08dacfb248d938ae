"""One redaction step for everything glmcode writes out or shows the model (DESIGN.md §6).

A `Redactor` is built once per session from the secrets to hide: the configured API key and the
values of environment variables whose *names* look secret. It replaces each value, wherever it
appears, with `[redacted:NAME]` (`NAME` is the variable, or `api_key` for the configured key), in
text and recursively in JSON-able structures and pydantic models (events). It also catches the
forms a value takes once escaped: JSON string escaping and URL encoding, where they differ.

Which names look secret (`looks_secret_name`), upper-cased and split into segments at `_`, `-`
and `.`: a name containing `SECRET`, `PASSWORD`, `PASSWD`, `PASSPHRASE` or `CREDENTIAL`
(`AWS_SECRET_ACCESS_KEY`, `PGPASSWORD`), or with a segment `KEY`, `APIKEY` or `TOKEN`, or a
segment ending in `TOKEN` (`ZAI_API_KEY`, `SSH_PRIVATE_KEY`, `GITHUB_TOKEN`, `NPM_TOKEN`,
`HF_ACCESSTOKEN`). Sources: Codex CLI's default `shell_environment_policy` drops variables whose
names match `*KEY*`, `*SECRET*` or `*TOKEN*` from commands' environment; GitHub Actions masks
secret values in logs by exact match "as well as common encodings" (its runner's value encoders
include JSON string escaping and URI data escaping). Codex's plain substring rule also hits
`KEYBOARD_LAYOUT`, `MONKEY_PATCH` or `TOKENIZERS_PARALLELISM`; for values that are shown, not
dropped, whole segments are matched instead.

Which values are not redacted even under a secret-looking name (`looks_secret_value`), because
hiding them would mangle ordinary output while protecting nothing:
- shorter than `MIN_SECRET_CHARS` (8): `true`, `1`, `no`, `dev` are settings, and redacting
  them would cut every occurrence of the word out of every tool result;
- a single lowercase word (`disabled`, `localhost`, `postgres`, `changeme`): a setting or a
  default password that appears as an ordinary word all over a project's files;
- only digits (ports, timeouts, ids);
- a path whose folder exists (`GOOGLE_APPLICATION_CREDENTIALS=/home/me/key.json`,
  `SSH_KEY_PATH=~/.ssh/id_ed25519`): the secret is in the file, and the path shows up in listings.
A multi-line value (a PEM private key) is also matched line by line (lines of 8+ characters
that are not `-----BEGIN …-----` markers), since tools print it with other line endings.

Cost: one compiled alternation of every form, longest first, so a value that contains another is
replaced whole; a plain substring check per form skips it for the common text with no secret.
`benchmarks/redaction.py` measures the cost per event.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar
from urllib.parse import quote, quote_plus

from pydantic import BaseModel

MIN_SECRET_CHARS = 8
"""Values shorter than this are never redacted (they are settings like `true`, not secrets)."""

API_KEY_LABEL = "api_key"
"""The name shown for the configured API key: `[redacted:api_key]`."""

_SUBSTRINGS = ("SECRET", "PASSWORD", "PASSWD", "PASSPHRASE", "CREDENTIAL")
_SEGMENTS = frozenset({"KEY", "APIKEY", "TOKEN"})
_SEGMENT_SPLIT = re.compile(r"[_.\-]+")
_WORD = re.compile(r"[a-z]+")
_PATH_START = re.compile(r"^(?:/|~|\.{1,2}/|[A-Za-z]:[\\/])")

T = TypeVar("T")


def looks_secret_name(name: str) -> bool:
    """True when an environment variable's name says its value is a secret (rule in the module doc)."""
    upper = name.upper()
    if any(word in upper for word in _SUBSTRINGS):
        return True
    return any(segment in _SEGMENTS or segment.endswith("TOKEN") for segment in _SEGMENT_SPLIT.split(upper))


def looks_secret_value(value: str) -> bool:
    """False for values that redacting would only mangle: short, one lowercase word, digits, a path."""
    value = value.strip()
    if len(value) < MIN_SECRET_CHARS or _WORD.fullmatch(value) or value.isdigit():
        return False
    if _PATH_START.match(value) and "\n" not in value:
        return not os.path.isdir(os.path.dirname(os.path.expanduser(value)) or ".")
    return True


def secret_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The variables of `environ` to hide: secret-looking name and value, as {name: value}."""
    return {name: value for name, value in sorted(environ.items()) if looks_secret_name(name) and looks_secret_value(value)}


def encoded_forms(value: str) -> list[str]:
    """`value` and the forms it takes once escaped: JSON string (both ASCII modes), URL-encoded.

    A multi-line value adds each of its lines of `MIN_SECRET_CHARS` or more (PEM markers left
    out). Only forms of at least `MIN_SECRET_CHARS` are returned, without duplicates.
    """
    forms = [value, json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1], quote(value, safe=""), quote_plus(value, safe="")]
    forms.append(value.strip())  # `TOKEN="abc "`: the bare value is what shows up in output
    if "\n" in value:
        forms += [line.strip() for line in value.splitlines() if not line.strip().startswith("-----")]
    return [form for form in dict.fromkeys(forms) if len(form) >= MIN_SECRET_CHARS]


class Redactor:
    """Replaces secret values with `[redacted:NAME]` in text, structures and events.

    Build it with `Redactor.for_session(api_key)` (the key plus the process environment) or
    `Redactor({name: value})`. A redactor with no secrets returns its input untouched.
    """

    def __init__(self, secrets: Mapping[str, str]) -> None:
        """`secrets` maps a label (a variable name, or `api_key`) to its value.

        Values failing `looks_secret_value` are dropped, except the configured API key: it is a
        secret whatever it looks like (a key that is one word or all digits is still the key), so
        only its length is checked. When two labels share a value, the first one given names it.
        """
        labels: dict[str, str] = {}
        for name, value in secrets.items():
            known = name == API_KEY_LABEL and len(value.strip()) >= MIN_SECRET_CHARS
            if value and (known or looks_secret_value(value)):
                for form in encoded_forms(value):
                    labels.setdefault(form, f"[redacted:{name}]")
        self._labels = labels
        self._forms = sorted(labels, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, self._forms))) if labels else None
        self.names = sorted({label[len("[redacted:"):-1] for label in labels.values()})
        """The labels of the secrets this redactor hides (never their values)."""

    @classmethod
    def for_session(cls, api_key: str, environ: Mapping[str, str] | None = None) -> Redactor:
        """The configured `api_key` (labelled `api_key`) and the secret-looking variables of `environ`.

        `environ` defaults to `os.environ`, read once here: a variable set later is not hidden.
        """
        env = secret_environment(os.environ if environ is None else environ)
        return cls({API_KEY_LABEL: api_key, **env})

    @property
    def forms(self) -> tuple[str, ...]:
        """Every string this redactor replaces, longest first (for tests and the stream)."""
        return tuple(self._forms)

    def text(self, text: str) -> str:
        """`text` with every secret form replaced by its `[redacted:NAME]` label."""
        if self._pattern is None or not any(form in text for form in self._forms):
            return text
        return self._pattern.sub(self._label, text)

    def value(self, obj: T) -> T:
        """`obj` with secrets replaced in every string inside it: dict keys and values, list and
        tuple items, pydantic model fields (recursively). Returns `obj` itself when nothing
        changed, else a copy; `obj` is never modified."""
        if self._pattern is None:
            return obj
        return self._walk(obj)  # type: ignore[no-any-return]

    def stream(self) -> RedactingStream:
        """A redactor for text that arrives in fragments (streamed deltas)."""
        return RedactingStream(self)

    def _label(self, match: re.Match[str]) -> str:
        return self._labels[match.group()]

    def _walk(self, obj: Any) -> Any:
        if isinstance(obj, str):
            return self.text(obj)
        if isinstance(obj, dict):
            items = [(self._walk(k), self._walk(v)) for k, v in obj.items()]
            same = all(k is old_k and v is old_v for (k, v), (old_k, old_v) in zip(items, obj.items(), strict=True))
            return obj if same else dict(items)
        if isinstance(obj, (list, tuple)):
            walked = [self._walk(item) for item in obj]
            return obj if all(a is b for a, b in zip(walked, obj, strict=True)) else type(obj)(walked)
        if isinstance(obj, BaseModel):
            changes = {}
            for name, old in obj.__dict__.items():
                new = self._walk(old)
                if new is not old:
                    changes[name] = new
            return obj.model_copy(update=changes) if changes else obj
        return obj


class RedactingStream:
    """Redacts text that arrives in fragments, on named channels (e.g. `text`, `reasoning`).

    A secret split across two fragments would pass a per-fragment redaction, so the end of a
    fragment that could be the start of a secret is held back until the next fragment shows
    whether it is one. Held text is rare (it must match the start of a secret form) and is
    released by the next fragment, by a fragment on another channel, or by `flush()`.
    """

    def __init__(self, redactor: Redactor) -> None:
        self._redactor = redactor
        self._forms = redactor.forms
        self._longest = max((len(f) for f in self._forms), default=0)
        self._by_start: dict[str, list[str]] = {}
        for form in self._forms:
            self._by_start.setdefault(form[0], []).append(form)
        self._start = re.compile("[" + "".join(map(re.escape, self._by_start)) + "]") if self._forms else None
        self._held: dict[str, str] = {}

    def feed(self, channel: str, fragment: str) -> list[tuple[str, str]]:
        """Take one fragment; return the (channel, text) pieces safe to pass on now, in order.

        Text held on other channels is released first (a new channel means they ended).
        """
        out = [piece for other in list(self._held) if other != channel for piece in self._release(other)] if self._held else []
        if self._start is None:
            return [*out, (channel, fragment)] if fragment else out
        text = self._redactor.text(self._held.pop(channel, "") + fragment if self._held else fragment)
        keep = self._held_back(text)
        if keep:
            self._held[channel] = text[len(text) - keep:]
            text = text[: len(text) - keep]
        return [*out, (channel, text)] if text else out

    def flush(self) -> list[tuple[str, str]]:
        """Release everything held: the fragments ended (an event that is not a fragment came)."""
        return [piece for channel in list(self._held) for piece in self._release(channel)]

    def _release(self, channel: str) -> Iterable[tuple[str, str]]:
        held = self._held.pop(channel, "")
        return [(channel, held)] if held else []

    def _held_back(self, text: str) -> int:
        """Length of the longest end of `text` that is a proper beginning of a secret form."""
        assert self._start is not None
        candidate = self._start.search(text, max(0, len(text) - self._longest + 1))
        while candidate is not None:
            tail = text[candidate.start():]
            for form in self._by_start[tail[0]]:
                if form.startswith(tail):
                    return len(tail)
            candidate = self._start.search(text, candidate.start() + 1)
        return 0

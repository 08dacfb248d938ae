"""Tool-output economy: command output cleaned, test output condensed, cut outputs saved whole and readable."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from glmcode import output_budget, terminal_text, test_runs
from glmcode.output_budget import HeadTail, budget_chars
from glmcode.redaction import Redactor
from glmcode.rules.agent_md import load_rules
from glmcode.terminal_text import Cleaner, clean
from glmcode.tools.base import ToolContext
from glmcode.tools.registry import ToolRegistry
from glmcode.tools.saved_outputs import OutputStore, safe_name
from glmcode.tools.shell_runner import run_command

SAVED = re.compile(r'read_file path="([^"]+)" offset=(\d+) limit=(\d+)')


def store_ctx(repo: Path, limit: int = 1000, redactor: Redactor | None = None) -> ToolContext:
    folder = repo / ".glmcode" / "sessions" / "s1" / "outputs"
    return ToolContext(root=repo, rules=load_rules(repo), shell_timeout=30.0, output_chars=limit,
                       outputs=OutputStore(folder, ".glmcode/sessions/s1/outputs", redactor))


# --- cleaning ---------------------------------------------------------------------------------

def test_clean_removes_escapes_and_collapses_redrawn_lines() -> None:
    coloured = "\x1b[1;31mFAILED\x1b[0m test_x \x1b]0;my title\x07\x1b]8;;https://x.example\x1b\\link\x1b]8;;\x1b\\ done\x1b(B\x1b=\x9b2K"
    assert clean(coloured) == "FAILED test_x link done"
    assert clean("Downloading  10%\rDownloading  55%\rDownloading 100%\r\nnext\r\n") == "Downloading 100%\nnext\n"
    assert clean("50%\r100%\r") == "100%", "a trailing \\r keeps the last state that had text"
    assert clean("abc\b\bX\tend\x00\x07") == "aX\tend"
    assert "\x1b" not in clean("cut short \x1b[31") and "\r" not in clean("a\rb\r\r")


def test_cleaner_on_pieces_equals_clean_on_the_whole() -> None:
    text = "".join(
        random.Random(7).choice(["ok\n", "\x1b[32m", "\x1b[0m", "\r", "\r\n", "10%", "\x1b]0;t\x07", "é", "\b", "x" * 50])
        for _ in range(3000)
    )
    rng = random.Random(3)
    cleaner, out, at = Cleaner(), [], 0
    while at < len(text):
        step = rng.randint(1, 40)
        out.append(cleaner.feed(text[at : at + step]))
        at += step
    out.append(cleaner.finish())
    assert "".join(out) == clean(text)


def test_a_progress_bar_without_line_breaks_stays_small() -> None:
    bar = "".join(f"\r[{'#' * (i // 4):<250}] {i / 10:.1f}%" for i in range(1001))
    assert len(bar) > 250_000
    cleaner = Cleaner()
    out = "".join(cleaner.feed(bar[i : i + 4096]) for i in range(0, len(bar), 4096)) + cleaner.finish()
    assert out.endswith("] 100.0%") and len(out) < 300


def test_command_output_is_cleaned_before_the_cut(tmp_path: Path) -> None:
    script = 'for i in $(seq 1 400); do printf "\\r\\033[32mprogress %3d%%\\033[0m %s" $i "$(printf "%060d" 0)"; done; printf "\\n\\033[1mdone\\033[0m\\n"'
    outcome = run_command(script, tmp_path, 30, None, 2000)
    assert outcome.chars_total < 200, "30 KB of a progress bar must not reach the model"
    assert outcome.output == f"progress 400% {'0' * 60}\ndone\n"


# --- budget -----------------------------------------------------------------------------------

def test_the_budget_is_a_share_of_the_window_with_a_cap() -> None:
    assert budget_chars(1_000_000) == output_budget.DEFAULT_LIMIT
    assert budget_chars(16_000) == 4_800
    assert budget_chars(16_000, 0.25, 3000) == 3000
    assert budget_chars(100) == output_budget.MIN_LIMIT


def test_head_tail_keeps_the_whole_text_for_saving_in_a_file() -> None:
    kept = HeadTail(1000, keep_full=True)
    pieces = [f"line {i}\n" for i in range(5000)]
    for piece in pieces:
        kept.add(piece)
    assert kept.cut_any and kept._spool is not None
    assert "".join(kept.full_pieces()) == "".join(pieces)
    small = HeadTail(1000, keep_full=True)
    small.add("short\n")
    assert small._spool is None and "".join(small.full_pieces()) == "short\n"


# --- saved outputs ----------------------------------------------------------------------------

def test_file_names_are_safe_whatever_the_call_id() -> None:
    assert safe_name("call_abc-123") == "call_abc-123"
    for hostile in ("../../etc/passwd", "a/b", "", "x" * 500, "nul\x00id", "ünï", ".."):
        name = safe_name(hostile)
        assert re.fullmatch(r"[A-Za-z0-9_-]{1,64}", name), name
    assert safe_name("a/b") != safe_name("ab") and safe_name("../x") != safe_name("./x")


def test_a_cut_result_is_saved_whole_and_the_note_says_how_to_read_it(repo: Path) -> None:
    lines = [f"row {i:05d} SECRET-VALUE-123" for i in range(3000)]
    (repo / "data.txt").write_text("\n".join(lines) + "\n")
    ctx = store_ctx(repo, 2000, redactor=Redactor({"X": "SECRET-VALUE-123"}))
    registry = ToolRegistry()
    result = registry.run(registry.bind("search", {"pattern": "row 0", "path": "data.txt"}), ctx, call_id="../call 1")
    assert len(result.output) <= 2000
    match = SAVED.search(result.output)
    assert match, result.output
    shown, offset, limit = match.group(1), int(match.group(2)), int(match.group(3))
    assert shown.startswith(".glmcode/sessions/s1/outputs/") and "/../" not in shown
    saved = (repo / shown).read_text()
    assert saved.count("\n") == 2999 and "SECRET-VALUE-123" not in saved and "[redacted:X]" in saved
    # the offset and limit the note gives show exactly the lines that were cut
    head, tail = result.output.split("\n[... ")[0], result.output.rsplit(" ...]\n", 1)[1]
    saved_lines = saved.split("\n")
    assert saved_lines[offset - 1].startswith(head.split("\n")[-1])
    assert tail.split("\n")[0].split(" ")[0] in saved_lines[offset + limit - 2]
    assert saved_lines[offset + limit - 1].startswith(tail.split("\n")[1].split(" ")[0])
    # and read_file reads it there, although it is under .glmcode/
    page = registry.call("read_file", {"path": shown, "offset": offset, "limit": 3}, ctx)
    assert page.ok and saved_lines[offset].split(" ")[1] in page.output
    # a second cut output of a reused call id gets its own file
    again = registry.run(registry.bind("search", {"pattern": "row 02", "path": "data.txt"}), ctx, call_id="../call 1")
    other = SAVED.search(again.output)
    assert other and other.group(1) != shown


def test_nothing_is_saved_when_the_result_fits(repo: Path) -> None:
    ctx = store_ctx(repo, 2000)
    registry = ToolRegistry()
    result = registry.run(registry.bind("read_file", {"path": "README.md"}), ctx, call_id="c1")
    assert result.ok and not (repo / ".glmcode").exists()


def test_glmcode_folder_is_refused_but_for_the_sessions_outputs(repo: Path) -> None:
    ctx = store_ctx(repo)
    ctx.outputs.folder.mkdir(parents=True)
    (ctx.outputs.folder / "c.txt").write_text("saved\n")
    other = repo / ".glmcode" / "sessions" / "s0" / "outputs"
    other.mkdir(parents=True)
    (other / "c.txt").write_text("another session\n")
    (repo / ".glmcode" / "config.toml").write_text("x = 1\n")
    registry = ToolRegistry()
    assert registry.call("read_file", {"path": ".glmcode/sessions/s1/outputs/c.txt"}, ctx).ok
    for path in (".glmcode/sessions/s0/outputs/c.txt", ".glmcode/config.toml", ".glmcode/sessions/s1/outputs/../../s0/outputs/c.txt"):
        refused = registry.call("read_file", {"path": path}, ctx)
        assert not refused.ok and ".glmcode/" in refused.output, path
    for name, args in (("write_file", {"path": ".glmcode/sessions/s1/outputs/c.txt", "content": "x"}),
                       ("edit_file", {"path": ".glmcode/sessions/s1/outputs/c.txt", "old_string": "saved", "new_string": "x"})):
        assert not registry.call(name, args, ctx).ok
    assert (ctx.outputs.folder / "c.txt").read_text() == "saved\n"
    no_store = ToolContext(root=repo, rules=ctx.rules)
    assert not registry.call("read_file", {"path": ".glmcode/sessions/s1/outputs/c.txt"}, no_store).ok


def test_a_long_command_output_is_saved_cleaned_and_the_note_points_at_the_cut_lines(repo: Path) -> None:
    ctx = store_ctx(repo, 1000)
    registry = ToolRegistry()
    result = registry.run(
        registry.bind("run_shell", {"command": "for i in $(seq 1 500); do printf '\\033[33mline %d\\033[0m\\n' $i; done"}),
        ctx, call_id="call_7",
    )
    match = SAVED.search(result.output)
    assert match and len(result.output) <= 1000, result.output
    saved = (repo / match.group(1)).read_text().split("\n")
    assert saved[:2] == ["line 1", "line 2"] and saved[499] == "line 500" and "\x1b" not in "".join(saved)
    offset, limit = int(match.group(2)), int(match.group(3))
    shown_tail_first = result.output.rsplit(" ...]\n", 1)[1].split("\n")[0]
    assert saved[offset + limit - 2].endswith(shown_tail_first)


# --- test output condensed --------------------------------------------------------------------

PYTEST_OUTPUT = "\n".join([
    "============================= test session starts ==============================",
    "platform linux -- Python 3.11.9, pytest-8.3.3",
    "collected 2400 items",
    "",
    *(f"tests/test_m{i}.py {'.' * 70} [{i:3d}%]" for i in range(100)),
    "",
    "==================================== ERRORS ====================================",
    "___________________ ERROR collecting tests/test_broken.py ______________________",
    "E   ImportError: cannot import name 'gone'",
    "=================================== FAILURES ===================================",
    "________________________________ test_divide ___________________________________",
    "    def test_divide():",
    ">       assert divide(1, 0) == 0",
    "E       ZeroDivisionError: division by zero",
    "=============================== warnings summary ===============================",
    *(f"  DeprecationWarning: old thing {i}" for i in range(50)),
    "=========================== short test summary info ============================",
    "FAILED tests/test_calc.py::test_divide - ZeroDivisionError: division by zero",
    "ERROR tests/test_broken.py",
    "============= 1 failed, 2398 passed, 1 error, 50 warnings in 12.34s =============",
])


def test_pytest_output_is_condensed_to_its_failures() -> None:
    condensed = test_runs.condense(PYTEST_OUTPUT)
    assert condensed is not None
    assert condensed.splitlines()[0].strip("= ") == "ERRORS"
    for kept in ("ImportError: cannot import name", "ZeroDivisionError: division by zero", "short test summary info",
                 "FAILED tests/test_calc.py::test_divide", "1 failed, 2398 passed, 1 error, 50 warnings in 12.34s"):
        assert kept in condensed
    assert "[ 42%]" not in condensed and "DeprecationWarning" not in condensed and "collected" not in condensed
    assert condensed.rstrip().endswith("in 12.34s =============")


def test_other_runners_get_the_lines_naming_errors_then_the_tail() -> None:
    lines = [f"ok {i}" for i in range(500)]
    lines[200] = "thread 'main' panicked at src/lib.rs:10"
    lines[350] = "Error: connection refused"
    condensed = test_runs.condense("\n".join(lines))
    assert condensed is not None
    assert "[lines 199-207]" in condensed and "panicked" in condensed and "Error: connection refused" in condensed
    assert "ok 100" not in condensed and condensed.rstrip().endswith("ok 499")
    assert test_runs.condense("all\ngood\n") is None


def test_run_tests_shows_the_failing_parts_first_and_saves_the_whole_output(repo: Path) -> None:
    (repo / "fake_pytest.txt").write_text(PYTEST_OUTPUT + "\n")
    (repo / "AGENT.md").write_text("## Commands\n- test: `cat fake_pytest.txt; exit 1`\n")
    ctx = store_ctx(repo, 2000)
    registry = ToolRegistry()
    result = registry.run(registry.bind("run_tests", {}), ctx, call_id="t1")
    assert result.summary == "failed (exit 1)"
    assert len(result.output) <= 2000
    assert "ZeroDivisionError" in result.output and "1 failed, 2398 passed" in result.output
    assert "condensed" in result.output and "[ 42%]" not in result.output
    path = re.search(r'read_file path="([^"]+)"', result.output)
    assert path and (repo / path.group(1)).read_text() == PYTEST_OUTPUT + "\n"


def test_a_short_test_output_is_shown_as_it_is(repo: Path) -> None:
    (repo / "AGENT.md").write_text("## Commands\n- test: `echo '1 failed in 0.1s'; exit 1`\n")
    ctx = store_ctx(repo, 2000)
    registry = ToolRegistry()
    result = registry.run(registry.bind("run_tests", {}), ctx, call_id="t1")
    assert "condensed" not in result.output and "1 failed in 0.1s" in result.output


@pytest.mark.parametrize("text", ["", "plain\n", "\x1b[0m\n"])
def test_clean_is_idempotent(text: str) -> None:
    assert clean(clean(text)) == clean(text)
    assert terminal_text.MAX_PENDING_CHARS > 1000


def test_a_secret_across_the_saved_pieces_boundary_is_redacted(repo: Path) -> None:
    secret = "sk-straddling-0123456789"
    kept = HeadTail(2000, keep_full=True)
    kept.add("A" * ((1 << 20) - 5) + secret + "\ntail\n")  # one line past 1 MiB: the first piece ends inside the key
    pieces = list(kept.full_pieces())
    assert len(pieces) == 3 and not any(secret in piece for piece in pieces)
    store = OutputStore(repo / "outputs", "outputs", Redactor({"api_key": secret}))
    saved = (repo / store.save("c1", pieces)).read_text()
    assert secret not in saved and secret[:5] not in saved
    assert saved == "A" * ((1 << 20) - 5) + "[redacted:api_key]\ntail\n"
    assert (repo / store.save("c2", ["sk-strad", "dling-0123", "456789", ""])).read_text() == "[redacted:api_key]"
    assert (repo / store.save("c3", ["ends with sk-str"])).read_text() == "ends with sk-str", "a held end is written"

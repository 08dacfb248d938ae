"""The one place glmcode starts a shell command: environment, process group, parent-death signal.

Every command the model or the repo's rules run (`run_shell`, background commands, `lint`,
`run_tests`, verify commands) is started by `spawn`, so whatever must hold for all of them holds
here, and a later sandbox (bubblewrap) wraps the command line in this one function:

- `bash -c COMMAND` (or `sh -c`), stdin from /dev/null, stdout and stderr merged into one pipe;
- its own session and process group (`setsid`): no controlling terminal, so nothing can open
  `/dev/tty` to ask for a password, and the whole group can be signalled at once;
- on Linux, `PR_SET_PDEATHSIG` = SIGKILL: if glmcode dies, even by SIGKILL, the kernel kills the
  shell (the direct child; its own children are not covered — they are stopped through the
  process group whenever glmcode exits normally). It is set by `setpriv --pdeathsig KILL` in
  front of the shell when util-linux has it, else by a ctypes `prctl` in a `preexec_fn` (which
  costs a full fork). The signal fires when the *thread* that forked the child ends, so every
  spawn happens on the main thread or on one long-lived thread (`_Launcher`), never on a worker
  thread that may finish while the command runs;
- an environment in which nothing waits for a person (`command_env`): editors fail at once with
  a message saying what to do instead (`prompts/no_editor.md`), pagers are `cat`, git and ssh
  never prompt, glmcode's own API keys are removed;
- a mark in that environment, `GLMCODE_PROCESS_MARK=<process>.<scope>.<command>`, which every
  process the command starts inherits, even one that leaves the process group and session
  (`setsid`, a daemon's double fork, `nohup … & disown`). `stop_marked` finds them all in
  `/proc/*/environ` and stops them: after a command's timeout or cancel (its own mark), when a
  session closes (its scope), and at interpreter exit (everything this glmcode started). The mark
  is not a secret: a random value naming this glmcode process and nothing else. A process that
  is started with the mark taken out of its environment (`env -i`, `env -u`) still escapes
  until commands run in a sandbox with its own PID namespace (bubblewrap, issue 9).
"""

from __future__ import annotations

import atexit
import codecs
import itertools
import os
import queue
import select
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Protocol

from glmcode import prompts
from glmcode.config import API_KEY_VARIABLES
from glmcode.terminal_text import Cleaner

CHUNK_BYTES = 64 * 1024
"""Bytes read from a command's output pipe at a time."""
POLL_S = 0.05
"""How often loops that wait on a command look at it again (seconds)."""

_ENV_SECRETS = API_KEY_VARIABLES
"""glmcode's own API key never reaches the commands the model runs (nor, through them, the model).

Only glmcode's own key variables are removed: other secret-looking ones (`GITHUB_TOKEN`, cloud
credentials) are what commands legitimately need; the redactor hides their values in what the
commands print instead."""

_EDITOR_VARIABLES = ("GIT_EDITOR", "EDITOR", "VISUAL", "GIT_SEQUENCE_EDITOR")
"""Variables naming an editor: git (`commit` without `-m`, `rebase -i`, `merge`) and most tools
open the one named here. Each is set to `no_editor_command()`."""

_NON_INTERACTIVE = {
    "PAGER": "cat",
    "GIT_PAGER": "cat",
    "MANPAGER": "cat",
    "SYSTEMD_PAGER": "cat",
    "GH_PAGER": "cat",
    "GIT_TERMINAL_PROMPT": "0",
    "GCM_INTERACTIVE": "never",
    "GH_PROMPT_DISABLED": "1",
    "SSH_ASKPASS_REQUIRE": "never",
    "DEBIAN_FRONTEND": "noninteractive",
    "PIP_NO_INPUT": "1",
}
"""Nothing may wait for a terminal: there is none. Pagers print straight through; git, the git
credential manager, `gh`, ssh, apt and pip fail instead of asking. (ssh and sudo cannot open
`/dev/tty` either: the command has no controlling terminal.)"""


MARK_VARIABLE = "GLMCODE_PROCESS_MARK"
"""The environment variable that marks every process a command of glmcode starts (see the module doc)."""
STOP_GRACE_S = 2.0
"""Time between SIGTERM and SIGKILL when stopping marked processes."""

_process_token: tuple[int, str] | None = None
_mark_numbers = itertools.count(1)
_spawned_marks: set[str] = set()
"""Marks of the commands started and not yet swept (`stop_marked` forgets those it swept)."""
_marks_lock = threading.Lock()
_exit_sweep_registered = False


def process_mark() -> str:
    """This glmcode process's mark: 12 random hex digits, made on first use (again after a fork)."""
    global _process_token
    if _process_token is None or _process_token[0] != os.getpid():
        _process_token = (os.getpid(), os.urandom(6).hex())
    return _process_token[1]


def new_mark(scope: str | None = None) -> str:
    """A fresh mark under `scope` (a mark itself; default: this process's mark), e.g. `3f9a…c2.7`.

    A session's background registry holds one (`BackgroundProcesses.scope`); each command it or
    the session's tools run gets one under it, so stopping the scope stops them all.
    """
    return f"{scope or process_mark()}.{next(_mark_numbers)}"


def _under(mark: str, scope: str) -> bool:
    return mark == scope or mark.startswith(scope + ".")


def marked_pids(scope: str) -> list[int]:
    """The pids of live processes whose environment carries a mark equal to or under `scope`,
    read from `/proc/*/environ` (only the user's own processes can be read); never glmcode's own pid.
    Empty where there is no `/proc`."""
    if not sys.platform.startswith("linux"):
        return []
    needle = f"{MARK_VARIABLE}={scope}".encode()
    me = os.getpid()
    found = []
    try:
        entries = list(os.scandir("/proc"))
    except OSError:
        return []
    for entry in entries:
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            with open(f"/proc/{entry.name}/environ", "rb") as f:
                environ = f.read()
        except OSError:
            continue
        if needle not in environ:
            continue
        if any(item == needle or item.startswith(needle + b".") for item in environ.split(b"\0")):
            found.append(int(entry.name))
    return found


def _signal_pids(pids: Iterable[int], sig: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


def signal_marked(scope: str, sig: int) -> list[int]:
    """Send `sig` to every live process marked with `scope` (or a mark under it); the pids signalled."""
    if not may_have_marked(scope):
        return []
    pids = marked_pids(scope)
    _signal_pids(pids, sig)
    return pids


def may_have_marked(scope: str) -> bool:
    """Whether a command was started under `scope` since the last sweep of it (else there is nothing to look for)."""
    with _marks_lock:
        return any(_under(mark, scope) for mark in _spawned_marks)


def stop_marked(scope: str, grace: float = STOP_GRACE_S) -> int:
    """Stop every process marked with `scope` or a mark under it: SIGTERM, up to `grace` seconds
    for them to go (those forked meanwhile get SIGTERM too), then SIGKILL to what is left, until
    none is left. Returns how many processes were signalled. Never signals glmcode itself.

    Does nothing (no `/proc` scan) when no command was started under `scope` since its last sweep.
    """
    if not may_have_marked(scope):
        return 0
    signalled: set[int] = set()
    deadline = time.monotonic() + grace
    while True:
        pids = _marked_settled(scope)
        if not pids:
            break
        _signal_pids(pids - signalled, signal.SIGTERM)
        signalled |= pids
        if time.monotonic() >= deadline:
            break
        time.sleep(POLL_S)
    for _ in range(50):  # a process forking as fast as it is killed cannot keep this going forever
        pids = _marked_settled(scope)
        if not pids:
            break
        _signal_pids(pids, signal.SIGKILL)
        signalled |= pids
        time.sleep(POLL_S / 5)
    with _marks_lock:
        _spawned_marks.difference_update([mark for mark in _spawned_marks if _under(mark, scope)])
    return len(signalled)


def _marked_settled(scope: str) -> set[int]:
    """`marked_pids(scope)`, looked at twice `POLL_S` apart before "none" is believed: a process in
    the middle of `execve` shows an empty `/proc/<pid>/environ` for a moment (seen in a test under
    load: a `sh -c '…; exec sleep 300'` caught mid-exec outlived the sweep)."""
    pids = set(marked_pids(scope))
    if not pids:
        time.sleep(POLL_S)
        pids = set(marked_pids(scope))
    return pids


def stop_everything() -> int:
    """Stop every process a command of this glmcode started that is still running (`stop_marked`
    on this process's mark); called at interpreter exit, and by whoever leaves without it (`os._exit`)."""
    return stop_marked(process_mark())


def _remember(mark: str) -> None:
    """Note that a command was started with `mark`; the first time, arrange the sweep at exit."""
    global _exit_sweep_registered
    with _marks_lock:
        _spawned_marks.add(mark)
        if not _exit_sweep_registered:
            atexit.register(stop_everything)
            _exit_sweep_registered = True


def no_editor_command() -> str:
    """The value of the editor variables: a shell command that prints `prompts/no_editor.md` to
    stderr and fails, so `git commit` without `-m` stops at once saying to pass `-m`.

    The command `cat`s the prompt file rather than holding its text: git echoes the whole editor
    command in its own error line (`There was a problem with the editor '…'`), and the message
    must appear once, not twice. git runs an editor that contains shell syntax through
    `sh -c '<editor> "$@"'`, so the file name it appends goes to `false`, which ignores it.
    """
    return f"cat {shlex.quote(str(prompts.prompts_dir() / 'no_editor.md'))} >&2; false"


def command_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of every command: `base` (default `os.environ`) without glmcode's API keys,
    with the editor variables and `_NON_INTERACTIVE` set (they win over the user's own values)."""
    env = {k: v for k, v in (os.environ if base is None else base).items() if k not in _ENV_SECRETS}
    editor = no_editor_command()
    env.update(dict.fromkeys(_EDITOR_VARIABLES, editor))
    env.update(_NON_INTERACTIVE)
    return env


def shell() -> str:
    """bash if present, else sh."""
    return shutil.which("bash") or shutil.which("sh") or "/bin/sh"


PR_SET_PDEATHSIG = 1
"""`prctl` option: the signal this process gets when its parent thread dies (linux/prctl.h)."""


def _setpriv_prefix() -> list[str] | None:
    """`setpriv --pdeathsig KILL --` (util-linux) if it is installed and knows the option, else None.

    Setting the signal in the child through `setpriv` keeps `subprocess` on its fast path
    (vfork + exec): a `preexec_fn` forces a full fork of glmcode, measured at about 30-40 ms a
    command against 3-7 ms for the extra exec. Probed once, with a command that must succeed.
    """
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return None
    prefix = [setpriv, "--pdeathsig", "KILL", "--"]
    try:
        probe = subprocess.run([*prefix, "true"], stdin=subprocess.DEVNULL, capture_output=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return prefix if probe.returncode == 0 else None


def _death_signal_setter() -> Callable[[], None] | None:
    """A `preexec_fn` that sets SIGKILL as the child's parent-death signal (Linux), or None elsewhere.

    libc is looked up here, in the parent; the child only calls it. If glmcode died between the
    fork and the `prctl`, the child would be orphaned without the signal: it checks its parent
    and kills itself.
    """
    if not sys.platform.startswith("linux"):
        return None
    import ctypes  # here, not at the top: only the first command needs it (start-up time)
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):
        return None
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    prctl.restype = ctypes.c_int
    parent = os.getpid()

    def set_death_signal() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)

    return set_death_signal


class _Launch:
    """One `Popen` asked of the launcher thread: its result or exception, once `done` is set."""

    def __init__(self, start: Callable[[], subprocess.Popen[bytes]]) -> None:
        self.start = start
        self.done = threading.Event()
        self.proc: subprocess.Popen[bytes] | None = None
        self.error: BaseException | None = None
        self.abandoned = False
        """Set when the caller stopped waiting: the launcher kills what it started."""
        self.lock = threading.Lock()


class _Launcher:
    """One daemon thread that lives as long as glmcode and forks every command.

    `PR_SET_PDEATHSIG` is tied to the thread that forked the child, not to the process: a
    command started from a thread that later ends (a TUI job, a test's worker) would be killed
    with it. Forking from this thread (or the main thread, which lasts as long), the signal
    fires exactly when glmcode dies.
    """

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[_Launch] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._prefix: list[str] = []
        self._preexec: Callable[[], None] | None = None
        self._resolved = False

    def popen(self, argv: list[str], cwd: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
        """Start `argv` on the launcher thread and return its `Popen`; raises what `Popen` raises.

        If the waiting caller is interrupted (KeyboardInterrupt) before the launch is handed
        over, the new process group is killed: no command is left unowned.
        """
        prefix, preexec = self._setup()
        wrapped = [*prefix, *argv]

        def start() -> subprocess.Popen[bytes]:
            return subprocess.Popen(
                wrapped,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env=env,
                preexec_fn=preexec,
            )

        if (not prefix and preexec is None) or threading.current_thread() is threading.main_thread():
            return start()  # no parent-death signal here, or the main thread, which lives as long as glmcode
        launch = _Launch(start)
        self._jobs.put(launch)
        try:
            launch.done.wait()
        except BaseException:
            with launch.lock:
                launch.abandoned = True
                proc = launch.proc
            if proc is not None:
                _kill(proc)
            raise
        if launch.error is not None:
            raise launch.error
        assert launch.proc is not None
        return launch.proc

    def _setup(self) -> tuple[list[str], Callable[[], None] | None]:
        """Decide once how the parent-death signal is set — `setpriv` in front of the command, else
        a ctypes `preexec_fn`, else not at all (not Linux) — and start the thread if one is needed.
        Returns (argv prefix, preexec_fn)."""
        with self._lock:
            if not self._resolved:
                prefix = _setpriv_prefix()
                self._prefix = prefix or []
                self._preexec = None if prefix else _death_signal_setter()
                self._resolved = True
            needed = bool(self._prefix) or self._preexec is not None
            if needed and (self._thread is None or not self._thread.is_alive()):
                self._thread = threading.Thread(target=self._serve, name="glmcode-launcher", daemon=True)
                self._thread.start()
            return self._prefix, self._preexec

    def _serve(self) -> None:
        while True:
            launch = self._jobs.get()
            try:
                proc = launch.start()
            except BaseException as exc:
                launch.error = exc
                launch.done.set()
                continue
            with launch.lock:
                launch.proc = proc
                abandoned = launch.abandoned
            if abandoned:
                _kill(proc)
            launch.done.set()


def _kill(proc: subprocess.Popen[bytes]) -> None:
    """Kill the process group a launch started for a caller that is no longer waiting, and reap it."""
    signal_group(proc.pid, signal.SIGKILL)
    proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


_LAUNCHER = _Launcher()


def spawn(command: str, cwd: Path, mark: str | None = None) -> subprocess.Popen[bytes]:
    """Start `command` with the shell in `cwd`, as the module docstring says; returns the running `Popen`.

    `mark` (from `new_mark`; default: a fresh one under this process's mark) goes into the
    command's environment as `MARK_VARIABLE`. `proc.pid` is also the process group id.
    `proc.stdout` is the merged output pipe (bytes). Raises OSError if the shell cannot be
    started (e.g. `cwd` is missing).
    """
    env = command_env()
    env[MARK_VARIABLE] = mark = mark or new_mark()
    _remember(mark)
    return _LAUNCHER.popen([shell(), "-c", command], cwd, env)


def signal_group(pgid: int, sig: int) -> None:
    """Send `sig` to the process group `pgid`; a group that is gone (or not ours) is ignored."""
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def group_alive(pgid: int) -> bool:
    """Whether a process of the group `pgid` is still running (zombies waiting to be reaped do not count).

    Linux: read from `/proc`, so orphans that a PID 1 which never reaps leaves as zombies are not
    mistaken for live ones. Elsewhere: whether the group can still be signalled.
    """
    if not sys.platform.startswith("linux"):
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return bool(group_members(pgid))


def group_members(pgid: int) -> list[int]:
    """The pids of the live (not zombie) processes of the group `pgid`, from `/proc` (Linux only)."""
    members = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if len(fields) > 2 and fields[2] == str(pgid).encode() and fields[0] != b"Z":
            members.append(int(entry.name))
    return members


class Sink(Protocol):
    """What `read_all` writes decoded text into (`HeadTail`, a background command's buffer)."""

    def add(self, piece: str) -> None: ...


def read_all(fd: int, sink: Sink, stop: threading.Event) -> None:
    """Read `fd` to end-of-file (or until `stop` is set), decoding it as UTF-8 into `sink`,
    cleaned of terminal escapes and `\r` redraws (`glmcode.terminal_text.Cleaner`).

    A multi-byte character split between two reads is decoded whole; bad bytes become U+FFFD.
    """
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    cleaner = Cleaner()
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)
    try:
        while not stop.is_set():
            try:
                if not poller.poll(POLL_S * 1000):
                    continue
                chunk = os.read(fd, CHUNK_BYTES)
            except OSError:
                return
            if not chunk:
                return
            sink.add(cleaner.feed(decoder.decode(chunk)))
    finally:
        sink.add(cleaner.feed(decoder.decode(b"", final=True)) + cleaner.finish())

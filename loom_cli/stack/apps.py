"""The platform's own processes on top of the stack: the ingest API and Dagster.

``loom serve`` and ``loom demo`` run the ingest API, Dagster's code server,
webserver and daemon. Each child's pid file sits beside the servers' in ``$LOOM_HOME/run``, and
so does the pid of the ``loom`` process supervising them in the foreground
(``platform.pid``), so ``loom stack down`` can stop them first, from any terminal:
it asks the supervisor to stop (SIGTERM: it stops its children and exits
cleanly), then stops whatever is left by its pid file - children of a supervisor
that was SIGKILLed, or of a ``loom demo --detach``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from loom_cli.stack.process import ManagedProcess, cmdline, pid_alive
from loom_core.settings import LoomSettings

# name -> a string its command line holds (the module it runs), so a recycled pid
# is never taken for ours. Stopped in reverse order: the daemon first, so it
# launches no run while the others go.
APPS: dict[str, str] = {
    "ingest-api": "uvicorn",
    "dagster-code-server": "code-server",
    "dagster-webserver": "dagster_webserver",
    "dagster-daemon": "dagster._daemon",
}
SUPERVISOR = "platform"
SUPERVISOR_MARKER = "loom"
STOP_TIMEOUT_S = 30.0


def app_process(settings: LoomSettings, name: str) -> ManagedProcess:
    """Return the pid-file handle of the platform process ``name``."""
    return ManagedProcess(
        name, settings.home / "run", settings.home / "logs", (APPS[name],)
    )


def supervisor_pid_file(settings: LoomSettings) -> Path:
    """Where the supervising ``loom serve`` or ``loom demo`` records its pid."""
    return settings.home / "run" / f"{SUPERVISOR}.pid"


@contextlib.contextmanager
def supervising(settings: LoomSettings) -> Iterator[None]:
    """Record this process as the platform's supervisor while the block runs."""
    path = supervisor_pid_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    mine = f"{os.getpid()}\n"
    path.write_text(mine)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            if path.read_text() == mine:
                path.unlink()


def running_apps(settings: LoomSettings) -> dict[str, int]:
    """Return the platform processes that run now, with their pids."""
    found = {}
    for name in APPS:
        proc = app_process(settings, name)
        pid = proc.pid()
        if pid is not None and proc.running():
            found[name] = pid
    return found


def _supervisor_pid(settings: LoomSettings) -> int | None:
    try:
        pid = int(supervisor_pid_file(settings).read_text().strip())
    except (OSError, ValueError):
        return None
    if pid == os.getpid() or not pid_alive(pid):
        return None
    return pid if SUPERVISOR_MARKER in cmdline(pid) else None


def _stop_supervisor(pid: int, timeout_s: float) -> None:
    # Not killpg: the supervisor shares its process group with make or the shell.
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    if pid_alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def stop_apps(
    settings: LoomSettings,
    report: Callable[[str], None] = lambda _message: None,
    timeout_s: float = STOP_TIMEOUT_S,
) -> list[str]:
    """Stop the supervisor and every platform process; return what was stopped."""
    stopped = []
    supervisor = _supervisor_pid(settings)
    if supervisor is not None:
        _stop_supervisor(supervisor, timeout_s)
        report(f"loom serve/demo (pid {supervisor}): stopped")
        stopped.append(SUPERVISOR)
    supervisor_pid_file(settings).unlink(missing_ok=True)
    for name in reversed(APPS):
        proc = app_process(settings, name)
        pid = proc.pid()
        if proc.stop(timeout=timeout_s):
            report(f"{name}: stopped")
            stopped.append(name)
        if pid is not None:
            # what it started and left behind: code servers, run workers
            for straggler in group_members(pid):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(straggler, signal.SIGKILL)
    return stopped


def group_members(pgid: int, marker: str = sys.prefix) -> list[int]:
    """Return the live processes of group ``pgid`` run from this environment.

    Only processes whose command line holds ``marker`` (this virtual environment)
    count, so a recycled process group id never leads to a stranger's process.
    """
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(stat.parent.name)
        if int(fields[2]) == pgid and fields[0] != "Z" and marker in cmdline(pid):
            members.append(pid)
    return members

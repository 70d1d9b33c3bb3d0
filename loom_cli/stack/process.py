"""Detached server processes tracked by pid files under ``$LOOM_HOME/run``."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path


class StackError(RuntimeError):
    """A failure with a one-line explanation of what failed and how to fix it."""


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """Return True when something accepts TCP connections on ``host:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def free_port(span: int = 1, host: str = "127.0.0.1") -> int:
    """Return a free port on ``host`` whose next ``span - 1`` ports are free too."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((host, 0))
            port = sock.getsockname()[1]
        if port + span < 65535 and all(_free(port + i, host) for i in range(1, span)):
            return port


def _free(port: int, host: str) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def pid_alive(pid: int) -> bool:
    """Return True when a process with ``pid`` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        try:
            os.kill(pid, 0)
        except (ProcessLookupError, PermissionError):
            return False
        return True
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _raw_cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def cmdline(pid: int, settle_s: float = 0.5) -> str:
    """Return the command line of ``pid`` ('' when it has none or cannot be read).

    A process in the middle of ``exec`` shows an empty command line for a moment
    (the parent's ``Popen`` has already returned), so an empty one is read again
    until ``settle_s`` has passed. A kernel thread's stays empty.
    """
    deadline = time.monotonic() + settle_s
    raw = _raw_cmdline(pid)
    while not raw and time.monotonic() < deadline and pid_alive(pid):
        time.sleep(0.01)
        raw = _raw_cmdline(pid)
    return raw.replace(b"\0", b" ").decode(errors="replace")


@dataclass(frozen=True)
class ManagedProcess:
    """A server process that ``loom stack`` started and may stop.

    Parameters
    ----------
    name
        Service name; names the pid and log files.
    run_dir
        Folder of pid files.
    log_dir
        Folder of log files.
    markers
        Strings of which the process's command line holds at least one (a path
        under ``$LOOM_HOME``), so a recycled pid is never mistaken for ours.
    """

    name: str
    run_dir: Path
    log_dir: Path
    markers: tuple[str, ...]

    @property
    def pid_file(self) -> Path:
        """Where the pid of the running process is kept."""
        return self.run_dir / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        """Where the process's stdout and stderr go."""
        return self.log_dir / f"{self.name}.log"

    def pid(self) -> int | None:
        """Return the recorded pid, whether or not it is alive."""
        try:
            return int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None

    def running(self) -> bool:
        """Return True when the recorded process is alive and is ours."""
        pid = self.pid()
        if pid is None or not pid_alive(pid):
            return False
        line = cmdline(pid)
        return any(marker in line for marker in self.markers)

    def crashed(self) -> bool:
        """Return True when a pid was recorded but its process is gone."""
        return self.pid() is not None and not self.running()

    def start(
        self,
        argv: list[str],
        *,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        user: str | None = None,
    ) -> int:
        """Start ``argv`` in its own session with output appended to the log."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as log:
            log.write(f"\n--- loom stack: starting {self.name} ---\n".encode())
            log.flush()
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=cwd,
                env={**os.environ, **(env or {})},
                start_new_session=True,
                user=user,
            )
        self.pid_file.write_text(f"{proc.pid}\n")
        return proc.pid

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout: float = 30.0) -> bool:
        """Stop the process (``sig``, then SIGKILL after ``timeout`` seconds).

        Returns
        -------
        bool
            True when a running process was stopped, False when none was running.
        """
        pid = self.pid()
        was_running = self.running()
        if pid is not None and was_running:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, sig)
            deadline = time.monotonic() + timeout
            while pid_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.2)
            if pid_alive(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)
                while pid_alive(pid):
                    time.sleep(0.1)
        self.pid_file.unlink(missing_ok=True)
        return was_running

    def kill(self) -> None:
        """SIGKILL the process group and keep the pid file, as a crash would."""
        pid = self.pid()
        if pid is None or not self.running():
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        while pid_alive(pid):
            time.sleep(0.05)

    def log_tail(self, lines: int = 5) -> str:
        """Return the last ``lines`` lines of the log, for error messages."""
        try:
            text = self.log_file.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.rstrip().splitlines()[-lines:])

import os
import signal
import socket
import sys
import time

import pytest

from loom_cli.stack import process
from loom_cli.stack.process import ManagedProcess, cmdline, pid_alive, port_in_use


@pytest.fixture
def proc(tmp_path):
    return ManagedProcess(
        "sleeper", tmp_path / "run", tmp_path / "logs", ("loom-marker",)
    )


def start_sleeper(proc):
    code = "import sys, time; print('up', flush=True); time.sleep(60)"
    return proc.start([sys.executable, "-c", code, "loom-marker"])


def test_start_records_pid_and_stop_ends_the_process(proc):
    pid = start_sleeper(proc)
    assert proc.pid() == pid
    assert proc.running()
    assert proc.stop(signal.SIGTERM, timeout=5)
    assert not pid_alive(pid)
    assert not proc.pid_file.exists()
    assert not proc.stop()


def test_kill_leaves_a_crashed_record(proc):
    start_sleeper(proc)
    proc.kill()
    assert proc.crashed()
    assert not proc.running()


def test_a_recycled_pid_without_our_marker_is_not_ours(proc, tmp_path):
    other = ManagedProcess(
        "sleeper", tmp_path / "run", tmp_path / "logs", ("elsewhere",)
    )
    start_sleeper(proc)
    try:
        assert not other.running()
        assert other.crashed()
    finally:
        proc.stop(timeout=5)


def test_a_command_line_caught_mid_exec_is_read_again(monkeypatch):
    # Between exec closing the parent's pipe and the kernel filling in the new
    # arguments, /proc/<pid>/cmdline reads empty.
    reads = iter([b"", b"", b"python\0-c\0loom-marker\0"])
    monkeypatch.setattr(process, "_raw_cmdline", lambda pid: next(reads))
    assert cmdline(os.getpid()) == "python -c loom-marker "


def test_a_process_without_a_command_line_is_not_ours(proc, monkeypatch):
    start_sleeper(proc)
    try:
        monkeypatch.setattr(process, "_raw_cmdline", lambda pid: b"")
        assert not proc.running()
    finally:
        monkeypatch.undo()
        proc.stop(timeout=5)


def test_log_tail_returns_the_last_lines(proc):
    start_sleeper(proc)
    try:
        for _ in range(50):
            if "up" in proc.log_tail(1):
                break
            time.sleep(0.1)
        assert proc.log_tail(1) == "up"
    finally:
        proc.stop(timeout=5)


def test_port_in_use_sees_a_listener():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        assert port_in_use(port)
    assert not port_in_use(port)

"""`loom stack down` stops the platform that `loom serve` / `loom demo` run."""

import os
import signal
import subprocess
import sys
import time

import pytest

from loom_cli.stack import apps
from loom_cli.stack.process import pid_alive
from loom_core.settings import LoomSettings

# A child that starts a grandchild in its own process group, as Dagster's daemon
# starts code servers and run workers, then sleeps.
WITH_GRANDCHILD = (
    "import subprocess, sys, time;"
    "g = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']);"
    "print(g.pid, flush=True); time.sleep(60)"
)


@pytest.fixture
def settings(tmp_path):
    return LoomSettings(home=tmp_path)


def start_app(settings, name, code="import time; time.sleep(60)"):
    """Start a process that looks like platform app ``name`` and record its pid."""
    handle = apps.app_process(settings, name)
    proc = subprocess.Popen(
        [sys.executable, "-c", code, apps.APPS[name]],
        start_new_session=True,
        stdout=subprocess.PIPE,
        text=True,
    )
    handle.run_dir.mkdir(parents=True, exist_ok=True)
    handle.pid_file.write_text(f"{proc.pid}\n")
    return proc


def gone(proc):
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        return False
    return True


def test_running_apps_lists_only_live_processes_of_ours(settings):
    api = start_app(settings, "ingest-api")
    apps.app_process(settings, "dagster-daemon").pid_file.write_text("999999999\n")
    try:
        assert apps.running_apps(settings) == {"ingest-api": api.pid}
    finally:
        api.kill()
        api.wait()
    assert apps.running_apps(settings) == {}


def test_stop_apps_stops_each_app_and_what_it_left_in_its_group(settings):
    api = start_app(settings, "ingest-api")
    daemon = start_app(settings, "dagster-daemon", WITH_GRANDCHILD)
    grandchild = int(daemon.stdout.readline())
    # the leader goes first, as when the daemon exits and leaves a code server
    stopped = apps.stop_apps(settings, timeout_s=5)
    assert stopped == ["dagster-daemon", "ingest-api"]
    assert gone(api)
    assert gone(daemon)
    deadline = time.monotonic() + 5
    while pid_alive(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not pid_alive(grandchild)
    assert not list((settings.home / "run").glob("*.pid"))
    assert apps.stop_apps(settings) == []


def test_group_members_ignores_processes_not_run_from_this_environment(settings):
    daemon = start_app(settings, "dagster-daemon", WITH_GRANDCHILD)
    grandchild = int(daemon.stdout.readline())
    try:
        assert sorted(apps.group_members(daemon.pid)) == sorted(
            [daemon.pid, grandchild]
        )
        assert apps.group_members(daemon.pid, marker="/no/such/venv") == []
    finally:
        os.killpg(daemon.pid, signal.SIGKILL)
        daemon.wait()


def start_supervisor(settings, on_sigterm: str) -> subprocess.Popen:
    """Start a stand-in ``loom`` supervisor and record its pid as the real one's."""
    code = (
        "import signal, sys, time;"
        f"signal.signal(signal.SIGTERM, {on_sigterm});"
        "print('ready', flush=True); time.sleep(60)"
    )
    supervisor = subprocess.Popen(
        [sys.executable, "-c", code, "loom"], stdout=subprocess.PIPE, text=True
    )
    assert supervisor.stdout.readline().strip() == "ready"
    apps.supervisor_pid_file(settings).parent.mkdir(parents=True)
    apps.supervisor_pid_file(settings).write_text(f"{supervisor.pid}\n")
    return supervisor


def test_stop_apps_asks_the_supervisor_to_stop_first(settings):
    # The supervisor (loom serve or loom demo) stops its children on SIGTERM; it is
    # signalled alone, never as a group: it shares one with make or the shell.
    supervisor = start_supervisor(settings, "lambda *a: sys.exit(0)")
    messages = []
    assert apps.stop_apps(settings, messages.append, timeout_s=5) == [apps.SUPERVISOR]
    assert supervisor.wait(timeout=10) == 0
    assert messages == [f"loom serve/demo (pid {supervisor.pid}): stopped"]
    assert not apps.supervisor_pid_file(settings).exists()


def test_a_stubborn_supervisor_is_killed(settings):
    supervisor = start_supervisor(settings, "signal.SIG_IGN")
    apps.stop_apps(settings, timeout_s=0.5)
    assert supervisor.wait(timeout=10) == -signal.SIGKILL


def test_supervising_records_this_process_and_cleans_up(settings):
    path = apps.supervisor_pid_file(settings)
    with apps.supervising(settings):
        assert path.read_text() == f"{os.getpid()}\n"
        # stopping the platform from inside its own supervisor stops no one
        assert apps.stop_apps(settings) == []
        path.write_text(f"{os.getpid()}\n")
    assert not path.exists()


def test_a_stale_supervisor_pid_is_ignored(settings):
    path = apps.supervisor_pid_file(settings)
    path.parent.mkdir(parents=True)
    path.write_text("999999999\n")
    assert apps.stop_apps(settings) == []
    assert not path.exists()


def test_the_supervisor_records_pids_and_logs_of_its_children(settings):
    from loom_cli import serve  # noqa: PLC0415

    code = "import time; print('hello', flush=True); time.sleep(60)"
    child = serve.Child("ingest-api", [sys.executable, "-c", code, "uvicorn"])
    supervisor = serve.Supervisor(
        [child], dict(os.environ), settings, log_to_files=True, label="loom demo"
    )
    supervisor.start()
    handle = apps.app_process(settings, "ingest-api")
    try:
        assert handle.pid() == child.process.pid
        assert apps.running_apps(settings) == {"ingest-api": child.process.pid}
        deadline = time.monotonic() + 10
        while "hello" not in handle.log_tail(1) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "--- loom: starting ingest-api ---" in handle.log_tail(2)
        assert handle.log_tail(1) == "hello"
        assert supervisor.exited() is None
    finally:
        supervisor.stop()
    assert not handle.pid_file.exists()
    assert not pid_alive(child.process.pid)

"""The forking run launcher: real runs forked from a real warm process.

Each test writes a small code location into its own folder, launches runs of it
through a Dagster instance configured with :class:`ForkingRunLauncher` (as
``dagster.yaml`` configures the daemon's), and watches the processes.
"""

from __future__ import annotations

import importlib
import os
import signal
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
import yaml
from dagster._core.definitions.reconstruct import ReconstructableRepository

from loom_core.settings import REPO_ROOT
from loom_dagster.dagster_internals import WorkerStatus
from loom_dagster.run_launcher import (
    WORKER_TAG,
    ForkingRunLauncher,
    Zygote,
    ZygoteError,
)

pytestmark = pytest.mark.slow

LOCATION = """
import time
from pathlib import Path

import dagster as dg

VERSION = {version}


@dg.op(config_schema={{"out": str, "wait_for": dg.Field(str, is_required=False)}})
def write_version(context):
    wait_for = context.op_config.get("wait_for")
    while wait_for and not Path(wait_for).exists():
        time.sleep(0.05)
    frozen = __import__("gc").get_freeze_count()
    pid = __import__("os").getpid()
    Path(context.op_config["out"]).write_text(f"{{VERSION}} {{pid}} {{frozen}}")


@dg.job(executor_def=dg.in_process_executor)
def probe():
    write_version()


defs = dg.Definitions(jobs=[probe])
"""


def _write_location(folder: Path, version: int) -> None:
    (folder / "launcher_probe.py").write_text(
        textwrap.dedent(LOCATION.format(version=version))
    )


@pytest.fixture
def location(tmp_path: Path) -> Path:
    folder = tmp_path / "code"
    folder.mkdir()
    _write_location(folder, 1)
    return folder


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[dg.DagsterInstance]:
    overrides = {
        "run_launcher": {
            "module": "loom_dagster.run_launcher",
            "class": "ForkingRunLauncher",
        }
    }
    home = tmp_path / "home"
    home.mkdir()
    with dg.instance_for_test(temp_dir=str(home), overrides=overrides) as i:
        yield i


def _launch(
    instance: dg.DagsterInstance, location: Path, config: dict[str, str]
) -> str:
    repo = ReconstructableRepository.for_module(
        "launcher_probe", "defs", working_directory=str(location)
    )
    recon_job = repo.get_reconstructable_job("probe")
    run = instance.create_run_for_job(
        job_def=recon_job.get_definition(),
        job_code_origin=recon_job.get_python_origin(),
        run_config={"ops": {"write_version": {"config": config}}},
    )
    instance.launch_run(run.run_id, workspace=None)
    return run.run_id


def _wait_status(
    instance: dg.DagsterInstance, run_id: str, statuses: set[dg.DagsterRunStatus]
) -> dg.DagsterRun:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        run = instance.get_run_by_id(run_id)
        assert run is not None
        if run.status in statuses:
            return run
        time.sleep(0.1)
    pytest.fail(f"run {run_id} never reached {statuses}: {run.status}")


def _worker_pid(run: dg.DagsterRun) -> int:
    return int(run.tags[WORKER_TAG].split(":")[0])


def _parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def test_runs_are_forked_from_one_warm_process_and_succeed(instance, location):
    outs = [location / f"out-{i}" for i in range(2)]
    run_ids = [_launch(instance, location, {"out": str(out)}) for out in outs]
    for run_id in run_ids:
        run = _wait_status(instance, run_id, {dg.DagsterRunStatus.SUCCESS})
        assert run.status == dg.DagsterRunStatus.SUCCESS
    written = [out.read_text().split() for out in outs]
    assert [version for version, _, _ in written] == ["1", "1"]
    pids = {int(pid) for _, pid, _ in written}
    assert len(pids) == 2  # a process per run
    # Forked with the warm process's imports frozen out of the collector's way.
    assert all(int(frozen) > 10_000 for _, _, frozen in written)
    tagged = {_worker_pid(instance.get_run_by_id(r)) for r in run_ids}
    assert tagged == pids
    logs = instance.all_logs(run_ids[0])
    assert any("forked from a warm process" in (e.message or "") for e in logs)


def test_a_running_worker_is_a_child_of_the_warm_process(instance, location):
    gate = location / "go"
    run_id = _launch(
        instance, location, {"out": str(location / "out"), "wait_for": str(gate)}
    )
    run = _wait_status(instance, run_id, {dg.DagsterRunStatus.STARTED})
    pid = _worker_pid(run)
    zygote = _parent(pid)
    assert (
        b"loom_dagster.run_launcher.zygote"
        in Path(f"/proc/{zygote}/cmdline").read_bytes()
    )
    assert (
        instance.run_launcher.check_run_worker_health(run).status
        == WorkerStatus.RUNNING
    )
    gate.touch()
    assert _wait_status(instance, run_id, {dg.DagsterRunStatus.SUCCESS})


def test_terminate_cancels_the_run(instance, location):
    gate = location / "never"
    run_id = _launch(
        instance, location, {"out": str(location / "out"), "wait_for": str(gate)}
    )
    _wait_status(instance, run_id, {dg.DagsterRunStatus.STARTED})
    assert instance.run_launcher.terminate(run_id)
    run = _wait_status(instance, run_id, {dg.DagsterRunStatus.CANCELED})
    assert run.status == dg.DagsterRunStatus.CANCELED
    assert not (location / "out").exists()
    assert not instance.run_launcher.terminate(run_id)  # already finished


def test_a_killed_worker_is_reported_failed_to_run_monitoring(instance, location):
    gate = location / "never"
    run_id = _launch(
        instance, location, {"out": str(location / "out"), "wait_for": str(gate)}
    )
    run = _wait_status(instance, run_id, {dg.DagsterRunStatus.STARTED})
    os.kill(_worker_pid(run), signal.SIGKILL)
    deadline = time.monotonic() + 10
    health = instance.run_launcher.check_run_worker_health(run)
    while health.status == WorkerStatus.RUNNING and time.monotonic() < deadline:
        time.sleep(0.05)  # the kernel reaps the child for the warm process
        health = instance.run_launcher.check_run_worker_health(run)
    assert health.status == WorkerStatus.FAILED
    assert str(_worker_pid(run)) in (health.msg or "")


def test_a_changed_source_file_gets_a_fresh_warm_process(instance, location):
    first = location / "out-1"
    _wait_status(
        instance,
        _launch(instance, location, {"out": str(first)}),
        {dg.DagsterRunStatus.SUCCESS},
    )
    _write_location(location, 2)
    source = location / "launcher_probe.py"
    stat = source.stat()
    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    second = location / "out-2"
    _wait_status(
        instance,
        _launch(instance, location, {"out": str(second)}),
        {dg.DagsterRunStatus.SUCCESS},
    )
    assert first.read_text().split()[0] == "1"
    assert second.read_text().split()[0] == "2"


def test_a_code_location_that_does_not_import_fails_the_warm_process(tmp_path):
    (tmp_path / "broken_probe.py").write_text("import no_such_module_here\n")
    with pytest.raises(ZygoteError, match="exited with code 1"):
        Zygote(sys.executable, "broken_probe", str(tmp_path), 60)


def test_the_repository_instance_config_names_this_launcher():
    config = yaml.safe_load((REPO_ROOT / "dagster.yaml").read_text())["run_launcher"]
    module = importlib.import_module(config["module"])
    launcher = getattr(module, config["class"])
    # LoomRunLauncher: this launcher for light runs, with warm_fork on locally.
    assert issubclass(launcher, ForkingRunLauncher)
    assert config["config"]["warm_fork"] is True


def test_the_configured_launcher_forks_light_runs(tmp_path, location):
    """dagster.yaml's LoomRunLauncher, as `loom serve` loads it, forks a run."""
    config = yaml.safe_load((REPO_ROOT / "dagster.yaml").read_text())["run_launcher"]
    home = tmp_path / "loom-home"
    home.mkdir()
    with dg.instance_for_test(
        temp_dir=str(home), overrides={"run_launcher": config}
    ) as instance:
        out = location / "out-loom"
        run_id = _launch(instance, location, {"out": str(out)})
        run = _wait_status(instance, run_id, {dg.DagsterRunStatus.SUCCESS})
        assert instance.run_launcher.route(run) == "fork"
        assert _worker_pid(run) == int(out.read_text().split()[1])
        instance.run_launcher.dispose()

"""A run launcher for one machine: each run is forked from a warm process.

Dagster's default launcher asks the code server to start every run in a fresh
Python process, which imports Dagster and the code location before it does
anything: 2-5 CPU-seconds on a small machine, more than a landing run's own work
and most of the time from a sensor's request to the row in the database. This
launcher keeps one process per code location that has done that once (the
zygote, :mod:`loom_dagster.run_launcher.zygote`) and forks each run from it.

A run is still a process of its own: ``terminate`` sends it SIGINT, which Dagster
turns into a cancelled run, and run monitoring sees a worker that died (SIGKILL,
out of memory) and fails its run, which run retries then launch again. The zygote
is replaced as soon as a project file it imported changes, and when it cannot
start (the code location does not import) runs go through the code server as
with the default launcher, where the error is reported on the run.

:class:`LoomRunLauncher` is the one launcher of every deployment, locally and on
Kubernetes: light runs (landing, CPU enrichment) are forked from the warm process
(``warm_fork: true``) or started by the code server in its own container
(``warm_fork: false``), and only runs tagged :data:`HEAVY_RUN_TAGS` (enrichment on
a GPU) go to Kubernetes jobs, when ``k8s_job`` configures dagster-k8s's launcher.
Configured in ``dagster.yaml`` (and ``deploy/flux/base/values/dagster.yaml``)::

    run_launcher:
      module: loom_dagster.run_launcher
      class: LoomRunLauncher
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import threading
from pathlib import Path
from typing import Any, Self

from dagster import DagsterRun, DefaultRunLauncher, Field, Permissive, serialize_value

from loom_dagster.dagster_internals import (
    CheckRunHealthResult,
    ConfigurableClassData,
    JobPythonOrigin,
    LaunchRunContext,
    RunLauncher,
    RunLauncherBase,
    WorkerStatus,
    code_module,
)

WORKER_TAG = "loom/run_worker"  # "<pid>:<start time>" of the forked run worker
LAUNCH_TAG = "loom/launch"
# Runs that need a machine of their own (a GPU): a Kubernetes job where one is set.
HEAVY_RUN_TAGS = {LAUNCH_TAG: "k8s-job"}
ANSWER_TIMEOUT_S = 10.0


class ZygoteError(RuntimeError):
    """The warm process could not start or answer."""


class Zygote:
    """The launcher's end of one warm process (see :mod:`.zygote`).

    Parameters
    ----------
    executable
        The code location's Python.
    module
        The code location's module, imported before the first fork; None imports
        Dagster only.
    working_directory
        The code location's working directory (the zygote's current directory).
    ready_timeout_s
        How long the imports may take.
    """

    def __init__(
        self,
        executable: str,
        module: str | None,
        working_directory: str | None,
        ready_timeout_s: float,
    ) -> None:
        argv = [executable, "-m", "loom_dagster.run_launcher.zygote"]
        self.process = subprocess.Popen(
            [*argv, module] if module else argv,
            cwd=working_directory,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,  # stderr: the launcher's, where runs log too
        )
        try:
            self._read(ready_timeout_s)
        except ZygoteError:
            self.close()
            raise

    def fork(self, run_id: str, instance_ref: str) -> int | None:
        """Fork a worker for ``run_id``; None when the zygote is out of date."""
        assert self.process.stdin is not None  # noqa: S101 - a pipe, see __init__
        request = {"run_id": run_id, "instance_ref": instance_ref}
        try:
            self.process.stdin.write(json.dumps(request).encode() + b"\n")
            self.process.stdin.flush()
        except BrokenPipeError:
            raise ZygoteError(self._exit_message()) from None
        answer = self._read(ANSWER_TIMEOUT_S)
        return answer.get("pid")

    def alive(self) -> bool:
        """Whether the process still runs."""
        return self.process.poll() is None

    def close(self) -> None:
        """Close its stdin, so it exits; forked runs go on to their end."""
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def _read(self, timeout_s: float) -> dict[str, Any]:
        stdout = self.process.stdout
        assert stdout is not None  # noqa: S101 - a pipe, see __init__
        ready, _, _ = select.select([stdout], [], [], timeout_s)
        line = stdout.readline() if ready else b""
        if not line:
            if ready:
                self.process.wait()
            else:
                self.process.kill()
            raise ZygoteError(self._exit_message(timeout_s if not ready else None))
        return json.loads(line)

    def _exit_message(self, timed_out_s: float | None = None) -> str:
        if timed_out_s is not None:
            return f"the warm process did not answer within {timed_out_s:g} s"
        code = self.process.wait()
        return f"the warm process exited with code {code} (its traceback is above)"


def _code_location(origin: JobPythonOrigin) -> tuple[str, str | None, str | None]:
    """Return the (executable, module, working directory) of a run's code."""
    return (origin.executable_path, *code_module(origin))


def _start_time(pid: int) -> str | None:
    """Return the start time of ``pid`` (tells a reused pid apart), if known."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def _worker_alive(worker: str) -> bool:
    pid, _, started = worker.partition(":")
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not started or _start_time(int(pid)) in (started, None)


class ForkingRunLauncher(RunLauncherBase):
    """Launch each run as a fork of a warm process of its code location.

    Parameters
    ----------
    inst_data
        Dagster's record of this launcher's configuration.
    ready_timeout_seconds
        How long a new warm process may take to import the code location before
        runs go through the code server instead.
    """

    def __init__(
        self,
        inst_data: ConfigurableClassData | None = None,
        ready_timeout_seconds: float = 300.0,
    ) -> None:
        self._inst_data = inst_data
        self._ready_timeout_s = ready_timeout_seconds
        self._zygotes: dict[tuple[str, str | None, str | None], Zygote] = {}
        self._lock = threading.Lock()
        self._fallback = DefaultRunLauncher()
        super().__init__()

    @property
    def inst_data(self) -> ConfigurableClassData | None:
        """Return Dagster's record of this launcher's configuration."""
        return self._inst_data

    @classmethod
    def config_type(cls) -> dict[str, Field]:
        """Return the configuration schema (``dagster.yaml``)."""
        return {"ready_timeout_seconds": Field(float, is_required=False)}

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData, config_value: dict[str, Any]
    ) -> Self:
        """Return a launcher configured by ``dagster.yaml``."""
        return cls(inst_data=inst_data, **config_value)

    def register_instance(self, instance: Any) -> None:
        """Bind the instance (and the code server launcher's) once."""
        super().register_instance(instance)
        self._fallback.register_instance(instance)

    def launch_run(self, context: LaunchRunContext) -> None:
        """Fork the run's worker; through the code server if that cannot be done."""
        run = context.dagster_run
        try:
            pid = self._fork(run)
        except ZygoteError as exc:
            self.instance.report_engine_event(
                f"{exc}; launching this run through the code server instead.", run
            )
            self._fallback.launch_run(context)
            return
        worker = f"{pid}:{_start_time(pid) or ''}"
        self.instance.add_run_tags(run.run_id, {WORKER_TAG: worker})

    def _fork(self, run: DagsterRun) -> int:
        if run.job_code_origin is None:
            msg = "the run has no code origin"
            raise ZygoteError(msg)
        location = _code_location(run.job_code_origin)
        instance_ref = serialize_value(self.instance.get_ref())
        with self._lock:
            for _ in range(2):  # a stale or dead zygote is replaced once
                zygote = self._zygotes.get(location)
                if zygote is None or not zygote.alive():
                    zygote = Zygote(*location, self._ready_timeout_s)
                    self._zygotes[location] = zygote
                pid = zygote.fork(run.run_id, instance_ref)
                if pid is not None:
                    return pid
                zygote.close()
                del self._zygotes[location]
        msg = "the warm process kept reporting its code out of date"
        raise ZygoteError(msg)

    def terminate(self, run_id: str) -> bool:
        """SIGINT the run's worker (Dagster cancels the run); False if it is gone."""
        run = self.instance.get_run_by_id(run_id)
        if run is None or run.is_finished:
            return False
        worker = run.tags.get(WORKER_TAG)
        if worker is None:
            return self._fallback.terminate(run_id)
        if not _worker_alive(worker):
            return False
        self.instance.report_run_canceling(run)
        try:
            os.kill(int(worker.partition(":")[0]), signal.SIGINT)
        except ProcessLookupError:
            return False
        return True

    @property
    def supports_check_run_worker_health(self) -> bool:
        """Say that run monitoring may ask whether a run's worker lives."""
        return True

    def check_run_worker_health(self, run: DagsterRun) -> CheckRunHealthResult:
        """Report RUNNING while the forked worker lives, FAILED once it is gone."""
        worker = run.tags.get(WORKER_TAG)
        if worker is None:
            # Launched through the code server, which fails the run if it dies.
            return CheckRunHealthResult(WorkerStatus.RUNNING, "not forked here")
        if _worker_alive(worker):
            return CheckRunHealthResult(WorkerStatus.RUNNING)
        return CheckRunHealthResult(
            WorkerStatus.FAILED, f"run worker {worker.partition(':')[0]} is gone"
        )

    def dispose(self) -> None:
        """Let the warm processes exit (forked runs finish on their own)."""
        with self._lock:
            for zygote in self._zygotes.values():
                zygote.close()
            self._zygotes.clear()


class LoomRunLauncher(ForkingRunLauncher):
    """Light runs beside the code location, heavy ones as Kubernetes jobs.

    Parameters
    ----------
    inst_data
        Dagster's record of this launcher's configuration.
    ready_timeout_seconds
        As for :class:`ForkingRunLauncher`.
    warm_fork
        Fork light runs from the warm process (one machine: ``loom serve``); when
        False the code server starts them, in the code location's own container
        (Kubernetes: no pod per run, a fresh interpreter per run).
    k8s_job
        dagster-k8s ``K8sRunLauncher`` configuration; when given, runs tagged
        :data:`HEAVY_RUN_TAGS` each get a Kubernetes job (and pod) of their own.
    """

    def __init__(
        self,
        inst_data: ConfigurableClassData | None = None,
        ready_timeout_seconds: float = 300.0,
        warm_fork: bool = True,
        k8s_job: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(inst_data, ready_timeout_seconds)
        self._warm_fork = warm_fork
        self._k8s_job_config = k8s_job
        self._k8s: RunLauncher | None = None

    @classmethod
    def config_type(cls) -> dict[str, Field]:
        """Return the configuration schema (``dagster.yaml``)."""
        return {
            **super().config_type(),
            "warm_fork": Field(bool, is_required=False, default_value=True),
            "k8s_job": Field(Permissive(), is_required=False),
        }

    def register_instance(self, instance: Any) -> None:
        """Bind the instance, and build the Kubernetes launcher when configured."""
        super().register_instance(instance)
        if self._k8s_job_config is not None:
            from dagster_k8s import K8sRunLauncher  # noqa: PLC0415 - Kubernetes only

            self._k8s = K8sRunLauncher(**self._k8s_job_config)
            self._k8s.register_instance(instance)

    def route(self, run: DagsterRun) -> str:
        """Where ``run`` goes: ``k8s-job``, ``fork`` or ``code-server``."""
        if self._k8s is not None and run.tags.get(LAUNCH_TAG) == "k8s-job":
            return "k8s-job"
        return "fork" if self._warm_fork else "code-server"

    def _target(self, run: DagsterRun) -> RunLauncher | None:
        """Return the launcher of a run; None when this class forks it itself."""
        where = self.route(run)
        if where == "k8s-job":
            return self._k8s
        return None if where == "fork" else self._fallback

    def launch_run(self, context: LaunchRunContext) -> None:
        """Launch the run where :meth:`route` sends it."""
        target = self._target(context.dagster_run)
        if target is None:
            super().launch_run(context)
        else:
            target.launch_run(context)

    def terminate(self, run_id: str) -> bool:
        """Stop the run through the launcher that started it."""
        run = self.instance.get_run_by_id(run_id)
        target = None if run is None else self._target(run)
        return super().terminate(run_id) if target is None else target.terminate(run_id)

    def check_run_worker_health(self, run: DagsterRun) -> CheckRunHealthResult:
        """Ask the launcher that started the run."""
        target = self._target(run)
        if target is None or not target.supports_check_run_worker_health:
            return super().check_run_worker_health(run)
        return target.check_run_worker_health(run)

    def dispose(self) -> None:
        """Close the warm processes and the Kubernetes launcher."""
        super().dispose()
        if self._k8s is not None:
            self._k8s.dispose()

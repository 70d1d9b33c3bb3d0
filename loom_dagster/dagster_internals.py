"""Every use of Dagster's private API, fenced in one module.

Dagster 1.13's public API has no way to do three things Loom needs:

- **run an existing run in this process**: what ``dagster api execute_run`` does
  after it starts a fresh interpreter; the warm-fork launcher
  (:mod:`loom_dagster.run_launcher`) does it in a forked child instead
  (:func:`execute_run`, a copy of the body of Dagster's run command);
- **write a run launcher**: its base class, launch context and health result live
  in ``dagster._core.launcher`` (Dagster documents them there, under Internals),
  and an instance names it through ``ConfigurableClass`` (:class:`RunLauncherBase`);
- **size dagster-postgres' connection pool**: its storages open a connection per
  statement, hard-wired (dagster-io/dagster#33935 asks for a setting, still open),
  so :mod:`loom_dagster.pooled_storage` replaces their private engine
  (:func:`storage_engine`, :func:`replace_storage_engine`) and, because their
  ``from_config_value`` builds the base class instead of ``cls``, builds its own
  from the same arguments (:func:`postgres_storage_kwargs`).

No other module of Loom imports ``dagster._``; ``tests/unit/test_dagster_internals.py``
holds one test per assumption made here, so a Dagster upgrade that breaks one
fails there, by name, instead of in a run.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster._core.code_pointer import ModuleCodePointer, PackageCodePointer
from dagster._core.events import EngineEventData
from dagster._core.instance import InstanceRef
from dagster._core.launcher.base import (
    CheckRunHealthResult,
    LaunchRunContext,
    RunLauncher,
    WorkerStatus,
)
from dagster._core.origin import JobPythonOrigin
from dagster._grpc.impl import core_execute_run
from dagster._serdes import ConfigurableClass, ConfigurableClassData
from dagster._utils.hosted_user_process import recon_job_from_origin
from dagster._utils.interrupts import capture_interrupts
from dagster_postgres.utils import get_token_provider_from_config, pg_url_from_config
from sqlalchemy.engine import Engine

__all__ = [
    "CheckRunHealthResult",
    "ConfigurableClassData",
    "JobPythonOrigin",
    "LaunchRunContext",
    "RunLauncher",
    "RunLauncherBase",
    "WorkerStatus",
    "code_module",
    "execute_run",
    "postgres_storage_kwargs",
    "replace_storage_engine",
    "storage_engine",
    "storage_modules",
    "storage_token_provider",
]


# --- run launchers ----------------------------------------------------------------


class RunLauncherBase(RunLauncher, ConfigurableClass):
    """Dagster's run launcher base, configurable from ``dagster.yaml``.

    Subclasses implement ``launch_run``, ``terminate``, ``config_type``,
    ``from_config_value`` and ``inst_data`` as Dagster's own launchers do.
    """

    @property
    def instance(self) -> dg.DagsterInstance:
        """The instance this launcher was registered with."""
        return self._instance


def code_module(origin: JobPythonOrigin) -> tuple[str | None, str | None]:
    """Return the (module, working directory) a run's code is loaded from.

    The module is None when the code location is not a Python module or package
    (a file): then only Dagster can be imported ahead of the run.
    """
    pointer = origin.repository_origin.code_pointer
    if isinstance(pointer, ModuleCodePointer | PackageCodePointer):
        return pointer.module, pointer.working_directory
    return None, getattr(pointer, "working_directory", None)


# --- executing a run in this process ----------------------------------------------


def storage_modules(instance_ref: str) -> list[str]:
    """Return the modules of an instance's configurable parts (its storages...).

    Parameters
    ----------
    instance_ref
        A serialised ``InstanceRef`` (``dg.serialize_value(instance.get_ref())``).
    """
    ref = dg.deserialize_value(instance_ref, InstanceRef)
    return [
        value.module_name
        for value in ref._asdict().values()
        if isinstance(value, ConfigurableClassData)
    ]


def execute_run(run_id: str, instance_ref: str, *, started: str) -> int:
    """Execute one run, as Dagster's run worker does; return the exit code.

    The body of ``dagster api execute_run`` without its subprocess: the run's job
    is reconstructed from its code origin and executed in this process; failures
    are reported to the run by Dagster before it raises. A SIGINT (how a run is
    terminated) becomes a cancelled run.

    Parameters
    ----------
    run_id
        The run, already created and launched by the instance.
    instance_ref
        The serialised ``InstanceRef`` of the instance that launched it.
    started
        The engine event that says where the run worker runs.
    """
    ref = dg.deserialize_value(instance_ref, InstanceRef)
    with capture_interrupts(), dg.DagsterInstance.from_ref(ref) as instance:
        run = instance.get_run_by_id(run_id)
        if run is None or run.job_code_origin is None:
            sys.stderr.write(f"run {run_id} not found, or it has no code origin\n")
            return 1
        pid = os.getpid()
        instance.report_engine_event(
            f"{started} (pid: {pid}).", run, EngineEventData.in_process(pid)
        )
        recon_job = recon_job_from_origin(run.job_code_origin)
        try:
            for _event in core_execute_run(
                recon_job, run, instance, inject_env_vars=False
            ):
                pass
        except Exception:  # noqa: BLE001 - core_execute_run has reported it to the run
            traceback.print_exc()
            return 1
    return 0


# --- dagster-postgres storages ----------------------------------------------------


def storage_engine(storage: Any) -> Engine:
    """Return the SQLAlchemy engine a dagster-postgres storage runs its SQL on."""
    return storage._engine  # noqa: SLF001 - dagster-postgres keeps it private


def replace_storage_engine(storage: Any, engine: Engine) -> None:
    """Make a dagster-postgres storage run its SQL on ``engine`` from now on."""
    storage._engine = engine  # noqa: SLF001 - no public way to size its pool


def storage_token_provider(storage: Any) -> Any:
    """Return the token provider a dagster-postgres storage connects with, if any."""
    return storage._token_provider  # noqa: SLF001 - set by its __init__


def postgres_storage_kwargs(config_value: Mapping[str, Any]) -> dict[str, Any]:
    """Return the constructor arguments dagster-postgres builds a storage with.

    What each storage's ``from_config_value`` passes to its own class, from its
    ``dagster.yaml`` config (``postgres_url`` or ``postgres_db``, the auth provider).
    """
    return {
        "postgres_url": pg_url_from_config(config_value),
        "should_autocreate_tables": config_value.get("should_autocreate_tables", True),
        "token_provider": get_token_provider_from_config(config_value),
    }

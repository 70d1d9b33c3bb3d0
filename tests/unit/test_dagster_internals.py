"""One test per assumption :mod:`loom_dagster.dagster_internals` makes about Dagster.

A Dagster upgrade that changes one of them fails here, by name; the fix belongs in
the fence (or, where a public API now does the job, in deleting part of it).
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
import yaml
from dagster._cli import api as dagster_run_command
from dagster._core.code_pointer import FileCodePointer, ModuleCodePointer
from dagster._core.origin import RepositoryPythonOrigin
from dagster._core.test_utils import create_run_for_test
from dagster_postgres import (
    PostgresEventLogStorage,
    PostgresRunStorage,
    PostgresScheduleStorage,
)

from loom_core.settings import REPO_ROOT
from loom_dagster import dagster_internals as internals
from loom_dagster.pooled_storage import PooledPostgresRunStorage
from loom_dagster.run_launcher import ForkingRunLauncher, LoomRunLauncher

FENCE = Path(internals.__file__)
PACKAGES = ("loom_dagster", "loom_cli", "loom_core", "ingest_api")
UNREACHABLE = "postgresql://nobody@127.0.0.1:1/none"
# Each storage class and a public method that runs SQL on its engine.
STORAGES = [
    (PostgresRunStorage, "connect"),
    (PostgresEventLogStorage, "index_connection"),
    (PostgresScheduleStorage, "connect"),
]


def _private_dagster_imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.append(node.module)
    return [n for n in names if n.startswith("dagster._")]


def test_only_the_fence_imports_dagster_private_modules():
    offenders = {
        str(path.relative_to(REPO_ROOT)): found
        for package in PACKAGES
        for path in sorted((REPO_ROOT / package).rglob("*.py"))
        if path != FENCE and (found := _private_dagster_imports(path))
    }
    assert offenders == {}, "import these through loom_dagster.dagster_internals"
    assert _private_dagster_imports(FENCE), "the scan must see the fence's imports"


def test_the_instance_config_names_no_private_module():
    config = yaml.safe_load((REPO_ROOT / "dagster.yaml").read_text())
    modules = {
        key: part["module"]
        for key, part in config.items()
        if isinstance(part, dict) and "module" in part
    }
    assert modules["run_coordinator"] == "dagster"
    assert not [m for m in modules.values() if m.startswith("dagster._")]
    coordinator = {"run_coordinator": config["run_coordinator"]}
    with dg.instance_for_test(overrides=coordinator) as instance:
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"


# --- run launchers ----------------------------------------------------------------


def test_a_run_launcher_implements_what_dagster_declares_abstract():
    abstract = set(internals.RunLauncherBase.__abstractmethods__)
    assert abstract == {
        "launch_run",
        "terminate",
        "config_type",
        "from_config_value",
        "inst_data",
    }
    assert not ForkingRunLauncher.__abstractmethods__
    assert not LoomRunLauncher.__abstractmethods__


def test_the_launcher_sees_the_instance_it_is_registered_with():
    launcher = LoomRunLauncher()
    with dg.instance_for_test() as instance:
        launcher.register_instance(instance)
        assert launcher.instance is instance
    launcher.dispose()


def test_launch_context_and_health_result_have_the_fields_used():
    assert "dagster_run" in internals.LaunchRunContext.__annotations__
    result = internals.CheckRunHealthResult(internals.WorkerStatus.FAILED, "gone")
    assert (result.status, result.msg) == (internals.WorkerStatus.FAILED, "gone")
    assert {"RUNNING", "FAILED"} <= set(internals.WorkerStatus.__members__)
    base = internals.RunLauncher
    assert isinstance(base.supports_check_run_worker_health, property)
    assert list(inspect.signature(base.check_run_worker_health).parameters) == [
        "self",
        "run",
    ]


def _origin(pointer: object) -> internals.JobPythonOrigin:
    return internals.JobPythonOrigin("job", RepositoryPythonOrigin("python", pointer))


def test_code_module_reads_module_pointers_and_skips_files(tmp_path):
    module = ModuleCodePointer("loom_dagster.definitions", "defs", str(tmp_path))
    assert internals.code_module(_origin(module)) == (
        "loom_dagster.definitions",
        str(tmp_path),
    )
    file = FileCodePointer(str(tmp_path / "defs.py"), "defs", str(tmp_path))
    assert internals.code_module(_origin(file)) == (None, str(tmp_path))


# --- executing a run in this process ----------------------------------------------


@dg.op
def _probe() -> int:
    return 42


@dg.job
def probe_job() -> None:
    """A job this module defines, reconstructable from its code origin."""
    _probe()


def test_storage_modules_are_the_modules_an_instance_ref_names():
    with dg.instance_for_test() as instance:
        modules = internals.storage_modules(dg.serialize_value(instance.get_ref()))
        assert type(instance.run_storage).__module__.startswith(tuple(modules))
        assert type(instance.run_launcher).__module__.startswith(tuple(modules))


def test_execute_run_runs_a_created_run_in_this_process():
    recon = dg.reconstructable(probe_job)
    with dg.instance_for_test() as instance:
        run = create_run_for_test(
            instance,
            job_name="probe_job",
            job_snapshot=probe_job.get_job_snapshot(),
            job_code_origin=recon.get_python_origin(),
        )
        ref = dg.serialize_value(instance.get_ref())
        assert internals.execute_run(run.run_id, ref, started="probe worker") == 0
        finished = instance.get_run_by_id(run.run_id)
        assert finished is not None
        assert finished.status == dg.DagsterRunStatus.SUCCESS
        logs = instance.all_logs(run.run_id)
        assert any("probe worker (pid: " in (e.message or "") for e in logs)
        assert internals.execute_run("no-such-run", ref, started="probe") == 1


def test_execute_run_still_copies_dagsters_run_command():
    """``dagster api execute_run`` does what :func:`execute_run` copies of it."""
    body = inspect.getsource(dagster_run_command._execute_run_command_body)
    for call in (
        "recon_job_from_origin(",
        "EngineEventData.in_process(",
        "core_execute_run(",
    ):
        assert call in body, f"Dagster's run command no longer calls {call}..."
    assert "capture_interrupts" in inspect.getsource(dagster_run_command)
    assert list(inspect.signature(internals.core_execute_run).parameters)[:4] == [
        "recon_job",
        "dagster_run",
        "instance",
        "inject_env_vars",
    ]


# --- dagster-postgres storages ----------------------------------------------------


@pytest.mark.parametrize(("storage_class", "connect"), STORAGES)
def test_a_postgres_storage_runs_its_sql_on_the_engine_put_there(
    storage_class, connect
):
    storage = storage_class(UNREACHABLE, should_autocreate_tables=False)
    assert isinstance(internals.storage_engine(storage).pool, sa.pool.NullPool)
    assert internals.storage_token_provider(storage) is None
    internals.replace_storage_engine(storage, sa.create_engine("sqlite://"))
    with getattr(storage, connect)() as conn:
        assert conn.execute(sa.text("SELECT 41 + 1")).scalar() == 42
    storage.dispose()


@pytest.mark.parametrize(("storage_class", "_connect"), STORAGES)
def test_postgres_storage_kwargs_are_what_dagster_postgres_builds_with(
    storage_class, _connect
):
    assert list(inspect.signature(storage_class.__init__).parameters) == [
        "self",
        "postgres_url",
        "should_autocreate_tables",
        "inst_data",
        "token_provider",
    ]
    config = {
        "postgres_db": {
            "username": "loom",
            "password": "pw",
            "hostname": "127.0.0.1",
            "port": 1,
            "db_name": "dagster",
        },
        "should_autocreate_tables": False,
    }
    theirs = storage_class.from_config_value(None, config)
    ours = storage_class(**internals.postgres_storage_kwargs(config))
    assert (ours.postgres_url, ours.should_autocreate_tables) == (
        theirs.postgres_url,
        theirs.should_autocreate_tables,
    )
    assert ours.postgres_url.startswith("postgresql://loom:pw@127.0.0.1:1/dagster")


def test_dagster_postgres_from_config_value_still_ignores_the_subclass():
    """Why pooled_storage builds its own: upstream returns its class, not ``cls``.

    When this fails, dagster-postgres builds ``cls``: delete
    ``_Pooled.from_config_value`` and :func:`postgres_storage_kwargs`.
    """
    config = {"postgres_url": UNREACHABLE, "should_autocreate_tables": False}
    built = PostgresRunStorage.from_config_value.__func__(
        PooledPostgresRunStorage, None, config
    )
    assert type(built) is PostgresRunStorage
    assert type(PooledPostgresRunStorage.from_config_value(None, config)) is (
        PooledPostgresRunStorage
    )

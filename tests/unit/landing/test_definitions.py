"""Load every Dagster definition and check the asset graph of the code location."""

import importlib
from pathlib import Path

import dagster as dg

import loom_dagster.defs
from loom_core.contracts import FAMILIES
from loom_dagster.definitions import defs
from loom_dagster.landing.settings import FAMILY_LIMITS

TABLES = {fam.table for fam in FAMILIES.values()}


def test_every_raw_table_is_a_landing_asset_with_freshness_and_checks():
    graph = defs.resolve_asset_graph()
    landing = {key.to_user_string() for key in graph.get_all_asset_keys()} & TABLES
    assert landing == TABLES
    for fam in FAMILIES.values():
        node = graph.get(dg.AssetKey(fam.table))
        assert node.group_name == "landing"
        assert node.freshness_policy is not None
        assert (
            node.freshness_policy.fail_window.to_timedelta()
            == FAMILY_LIMITS[fam.name].fail_after
        )
        assert node.metadata["topic"] == fam.topic.name
        checks = {
            key.name for key in graph.asset_check_keys if key.asset_key == node.key
        }
        assert checks == {"requested_ranges_landed", "dead_letter_ratio"}
        assert not node.parent_keys, "landing assets read Kafka, not other assets"


def test_one_sensor_and_one_job_per_raw_topic():
    for fam in FAMILIES.values():
        sensor = defs.resolve_sensor_def(f"{fam.table}_sensor")
        assert sensor.minimum_interval_seconds <= 15
        assert sensor.job_name == f"land_{fam.table}"
        job = defs.resolve_job_def(f"land_{fam.table}")
        assert job.executor_def.name == "in_process"
        assert int(job.tags["dagster/max_runtime"]) > 0
        assert int(job.tags["dagster/priority"]) > 0
        assert fam.table in {
            key.to_user_string() for key in job.asset_layer.executable_asset_keys
        }


def test_retention_runs_daily():
    schedule = defs.resolve_schedule_def("landing_retention_schedule")
    assert schedule.job_name == "landing_retention"
    assert schedule.execution_timezone == "UTC"
    assert schedule.cron_schedule == "17 3 * * *"


def test_resources_come_from_the_environment():
    assert defs.resources["timescale"].database_url == dg.EnvVar("LOOM_DATABASE_URL")
    assert defs.resources["kafka"].bootstrap_servers == dg.EnvVar(
        "LOOM_KAFKA_BOOTSTRAP"
    )


def test_the_code_location_merges_every_domain():
    """Each ``loom_dagster/defs/<domain>/definitions.py`` is merged, nothing else."""
    root = Path(loom_dagster.defs.__file__).parent
    domains = sorted(p.parent.name for p in root.glob("*/definitions.py"))
    assert domains == ["enrichment", "landing", "retention"]
    parts = [
        importlib.import_module(f"loom_dagster.defs.{name}.definitions").defs
        for name in domains
    ]
    assets = {key for part in parts for a in part.assets or [] for key in a.keys}
    assert assets == set(defs.resolve_asset_graph().get_all_asset_keys())
    for kind in ("sensors", "schedules", "jobs"):
        names = [x.name for part in parts for x in getattr(part, kind) or []]
        assert sorted(names) == sorted(x.name for x in getattr(defs, kind) or [])
    dg.Definitions.validate_loadable(defs)

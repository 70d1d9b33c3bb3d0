"""The landing jobs: one per family, what its sensor requests."""

import dagster as dg

from loom_core.contracts import FAMILIES, Family
from loom_dagster.defs.landing.assets import LandingConfig, OffsetRangeConfig
from loom_dagster.landing.ranges import OffsetRange

RUN_MAX_RUNTIME_S = 900  # run monitoring fails a run stuck longer (a dead worker)
RUN_PRIORITY = 10  # above the default 0 of other runs


def run_config(fam: Family, ranges: list[OffsetRange]) -> dg.RunConfig:
    """Return the run config of a landing run of ``ranges``."""
    config = LandingConfig(
        ranges=[
            OffsetRangeConfig(partition=r.partition, start=r.start, end=r.end)
            for r in sorted(ranges)
        ]
    )
    return dg.RunConfig(ops={fam.table: config})


def landing_job(fam: Family) -> dg.JobDefinition:
    """Return the job the sensor of ``fam`` requests: its asset and checks."""
    return dg.define_asset_job(
        name=f"land_{fam.table}",
        selection=dg.AssetSelection.assets(fam.table),
        executor_def=dg.in_process_executor,  # one step: no subprocess per step
        tags={
            "dagster/max_runtime": str(RUN_MAX_RUNTIME_S),
            # Landing runs are short and everything downstream waits on them: they
            # leave the run queue before enrichment runs.
            "dagster/priority": str(RUN_PRIORITY),
            "loom/domain": "landing",
        },
        description=f"Land offset ranges of {fam.topic.name} into {fam.table}.",
    )


LANDING_JOBS = {fam.name: landing_job(fam) for fam in FAMILIES.values()}

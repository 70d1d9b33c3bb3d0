"""The schedule of the raw tables' retention job."""

import dagster as dg

from loom_dagster.defs.retention.jobs import landing_retention

landing_retention_schedule = dg.ScheduleDefinition(
    job=landing_retention,
    cron_schedule="17 3 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Daily at 03:17 UTC.",
)

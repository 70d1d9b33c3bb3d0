"""The retention domain's definitions: the daily job that drops expired raw chunks."""

import dagster as dg

from loom_dagster.defs.retention.jobs import landing_retention
from loom_dagster.defs.retention.schedules import landing_retention_schedule

defs = dg.Definitions(jobs=[landing_retention], schedules=[landing_retention_schedule])

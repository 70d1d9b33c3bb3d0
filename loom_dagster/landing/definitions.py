"""The landing domain's definitions: raw topics into raw hypertables."""

import dagster as dg

from loom_dagster.assets.landing import LANDING_ASSETS, LANDING_JOBS
from loom_dagster.schedules.retention import (
    landing_retention,
    landing_retention_schedule,
)
from loom_dagster.sensors.landing import LANDING_SENSORS

defs = dg.Definitions(
    assets=LANDING_ASSETS,
    jobs=[*LANDING_JOBS.values(), landing_retention],
    sensors=LANDING_SENSORS,
    schedules=[landing_retention_schedule],
)

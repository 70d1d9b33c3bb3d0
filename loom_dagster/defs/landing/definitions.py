"""The landing domain's definitions: raw topics into raw hypertables."""

import dagster as dg

from loom_dagster.defs.landing.assets import LANDING_ASSETS
from loom_dagster.defs.landing.jobs import LANDING_JOBS
from loom_dagster.defs.landing.sensors import LANDING_SENSORS

defs = dg.Definitions(
    assets=LANDING_ASSETS, jobs=list(LANDING_JOBS.values()), sensors=LANDING_SENSORS
)

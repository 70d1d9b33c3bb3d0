"""The code location ``workspace.yaml`` loads: every domain's definitions, merged.

Each domain module exposes one ``dg.Definitions`` named ``defs``; add a domain
with one line below. (Only ``defs`` may be a Definitions object at module scope,
hence the module imports.) Resources are shared and configured from ``LOOM_*``.
"""

import dagster as dg

from loom_dagster.landing import definitions as landing
from loom_dagster.resources import KafkaResource, TimescaleResource

defs = dg.Definitions.merge(
    dg.Definitions(
        resources={
            "timescale": TimescaleResource(database_url=dg.EnvVar("LOOM_DATABASE_URL")),
            "kafka": KafkaResource(bootstrap_servers=dg.EnvVar("LOOM_KAFKA_BOOTSTRAP")),
        }
    ),
    landing.defs,  # raw topics -> raw hypertables: sensors, assets, retention
)

"""The Dagster code location: every domain's definitions and the shared resources.

Each domain exposes one ``dg.Definitions``; this module merges them and binds the
servers from ``LOOM_*`` variables. Dagster allows one ``Definitions`` object at
module scope: ``defs``.
"""

from __future__ import annotations

import dagster as dg

from loom_dagster.assets import enrichment_defs
from loom_dagster.resources import KafkaResource, TimescaleResource

defs = dg.Definitions.merge(
    dg.Definitions(
        resources={
            "timescale": TimescaleResource(database_url=dg.EnvVar("LOOM_DATABASE_URL")),
            "kafka": KafkaResource(bootstrap_servers=dg.EnvVar("LOOM_KAFKA_BOOTSTRAP")),
        }
    ),
    enrichment_defs.defs,
)

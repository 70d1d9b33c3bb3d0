"""The Dagster code location: every domain's definitions and the shared resources.

Each domain package under :mod:`loom_dagster.defs` exposes one ``dg.Definitions``
named ``defs``; this module merges them (add a domain with one line below) and
binds the servers from the ``LOOM_*`` variables of
:class:`~loom_core.settings.LoomSettings`. Dagster allows one ``Definitions``
object at module scope: ``defs``, hence the module imports.
"""

from __future__ import annotations

import dagster as dg

from loom_core.settings import LoomSettings, env_name
from loom_dagster.defs.enrichment import definitions as enrichment
from loom_dagster.defs.landing import definitions as landing
from loom_dagster.defs.retention import definitions as retention
from loom_dagster.resources import KafkaResource, TimescaleResource

defs = dg.Definitions.merge(
    dg.Definitions(
        resources={
            # Read when a run starts, from the variables LoomSettings defines.
            "timescale": TimescaleResource(
                database_url=dg.EnvVar(env_name(LoomSettings, "database_url"))
            ),
            "kafka": KafkaResource(
                bootstrap_servers=dg.EnvVar(env_name(LoomSettings, "kafka_bootstrap"))
            ),
        }
    ),
    landing.defs,  # raw topics -> raw hypertables: assets, checks, jobs, sensors
    enrichment.defs,  # raw hypertables -> gps_tracks, transcripts, captions
    retention.defs,  # raw tables' expired chunks dropped daily
)

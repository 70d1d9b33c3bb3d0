"""Resources: the servers Dagster code reaches, configured from ``LOOM_*`` variables."""

from loom_dagster.resources.kafka import KafkaResource
from loom_dagster.resources.timescale import TimescaleResource

__all__ = ["KafkaResource", "TimescaleResource"]

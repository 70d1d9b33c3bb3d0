"""Prometheus metrics of landing, pushed to a Pushgateway.

Landing runs are short-lived processes nobody scrapes, so each run pushes its
figures (and each sensor tick its lag) when ``LOOM_PUSHGATEWAY_URL`` is set; the
same figures are always recorded in the Dagster materialisation metadata. Counters
are the exact running totals kept in ``landing_totals``, so they never double
count and survive restarts.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping

from loom_core.settings import EXTERNAL_TIMEOUT_S
from loom_dagster.landing.store import Totals

JOB_RUN = "loom_dagster_landing"
JOB_SENSOR = "loom_dagster_landing_sensor"
PREFIX = "loom_dagster_landing_"
ATTEMPTS = 3  # one call and at most two retries

log = logging.getLogger(__name__)


def _push(url: str, job: str, topic: str, registry: object) -> bool:
    from prometheus_client import push_to_gateway  # noqa: PLC0415 - only when used

    for attempt in range(ATTEMPTS):
        try:
            push_to_gateway(
                url,
                job=job,
                grouping_key={"topic": topic},
                registry=registry,  # type: ignore[arg-type]
                timeout=EXTERNAL_TIMEOUT_S,
            )
        except OSError as exc:
            if attempt == ATTEMPTS - 1:
                log.warning("could not push metrics to %s: %s", url, exc)
                return False
            time.sleep(0.5 * (attempt + 1))
        else:
            return True
    return False


def push_run(
    url: str,
    topic: str,
    *,
    totals: Totals,
    rows_per_second: float,
    run_seconds: float,
    lag: int | None,
) -> bool:
    """Push the figures of one landing run; return False if the push failed."""
    from prometheus_client import CollectorRegistry, Counter, Gauge  # noqa: PLC0415

    registry = CollectorRegistry()
    for name, value, what in (
        ("messages", totals.messages, "Messages read from the raw topic"),
        ("rows", totals.rows_inserted, "Rows landed (inserted) in the raw table"),
        ("duplicates", totals.duplicates_skipped, "Events already landed, skipped"),
        ("dead_letters", totals.dead_lettered, "Poison messages dead-lettered"),
    ):
        Counter(PREFIX + name, what, registry=registry).inc(value)
    gauges = {
        "rows_per_second": (rows_per_second, "Rows per second of the last run"),
        "run_seconds": (run_seconds, "Duration of the last landing run"),
        "last_success_timestamp_seconds": (time.time(), "End of the last run"),
    }
    if lag is not None:
        gauges["run_lag_messages"] = (lag, "End offsets minus landed, after the run")
    for name, (value, what) in gauges.items():
        Gauge(PREFIX + name, what, registry=registry).set(value)
    return _push(url, JOB_RUN, topic, registry)


def push_lag(url: str, topic: str, lag_by_partition: Mapping[int, int]) -> bool:
    """Push a sensor tick's lag (end offset minus cursor) per partition."""
    from prometheus_client import CollectorRegistry, Gauge  # noqa: PLC0415

    registry = CollectorRegistry()
    gauge = Gauge(
        PREFIX + "lag_messages",
        "End offset minus the landing sensor's cursor",
        ["partition"],
        registry=registry,
    )
    for partition, lag in lag_by_partition.items():
        gauge.labels(partition=str(partition)).set(lag)
    return _push(url, JOB_SENSOR, topic, registry)

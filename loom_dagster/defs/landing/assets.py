"""Landing assets: one per raw hypertable, filled from its raw topic.

Each asset is named after the table it owns (``gps_data``, ``audio_chunks``, ...)
and is materialised by a run that lands exact Kafka offset ranges (its config,
chosen by the sensor of its topic). Its checks, evaluated by the same step, say
whether requested ranges are landing and how much of the batch was poison.
"""

from typing import Any

import dagster as dg
from pydantic import Field

from loom_core.contracts import FAMILIES, Family
from loom_core.contracts.envelope import is_partition_key
from loom_core.topics import dead_letter_for
from loom_dagster.defs.landing.checks import check_results, landing_check_specs
from loom_dagster.landing import metrics, store, tracing
from loom_dagster.landing.land import Clients, LandingOutcome, land
from loom_dagster.landing.ranges import OffsetRange
from loom_dagster.landing.settings import FAMILY_LIMITS, get_landing_settings
from loom_dagster.partitions import DEVICES
from loom_dagster.resources import KafkaResource, TimescaleResource

CONSUMER_GROUP = "loom-landing"  # never committed: only names the client

# Retries inside the run (a restarting database or broker): 2, 4, 8 s apart.
RETRY_POLICY = dg.RetryPolicy(
    max_retries=3, delay=2, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)


class OffsetRangeConfig(dg.Config):
    """Offsets ``start`` (included) to ``end`` (excluded) of one partition."""

    partition: int = Field(ge=0, description="Kafka partition")
    start: int = Field(ge=0, description="First offset of the range")
    end: int = Field(gt=0, description="One past the last offset")


class LandingConfig(dg.Config):
    """What a landing run lands; the topic's sensor fills it in.

    With no ranges, the run lands every range that was requested and has not
    landed yet (a manual catch-up from the launchpad).
    """

    ranges: list[OffsetRangeConfig] = Field(
        default_factory=list, description="Exact offset ranges to land"
    )
    force: bool = Field(
        default=False,
        description="Land even ranges recorded as landed (after a manual repair)",
    )

    def offset_ranges(self) -> list[OffsetRange]:
        """Return the configured ranges as :class:`OffsetRange` (validated)."""
        return [OffsetRange(r.partition, r.start, r.end) for r in self.ranges]


def _add_devices(
    context: dg.AssetExecutionContext, outcome: LandingOutcome
) -> tuple[list[str], list[str]]:
    """Add unseen devices as dynamic partitions; return (added, refused)."""
    seen = outcome.devices | {pair["device"] for pair in outcome.touched}
    instance = context.instance
    new = sorted(seen - set(instance.get_dynamic_partitions(DEVICES.name)))
    refused = [d for d in new if not is_partition_key(d)]
    added = [d for d in new if d not in refused]
    if added:
        instance.add_dynamic_partitions(DEVICES.name, added)
    if refused:
        context.log.warning(
            "devices %s cannot be Dagster partitions ('...' in the id); their rows "
            "landed but enrichment will not run for them",
            refused,
        )
    return added, refused


def _lag_after(kafka: KafkaResource, outcome: LandingOutcome) -> int | None:
    """End offsets minus the end of this run's ranges, over its partitions.

    The end offsets are those the run's own reads reported; only a run that read
    nothing asks the broker.
    """
    last: dict[int, int] = {}
    for offset_range in outcome.ranges:
        last[offset_range.partition] = max(
            last.get(offset_range.partition, 0), offset_range.end
        )
    ends = outcome.high_watermarks
    if not last.keys() <= ends.keys():
        try:
            ends = {p: high for p, (_, high) in kafka.watermarks(outcome.topic).items()}
        except Exception:  # noqa: BLE001 - lag is informative, never fails a run
            return None
    return sum(max(0, ends[p] - end) for p, end in last.items() if p in ends)


def _metadata(figures: dict[str, Any]) -> dict[str, Any]:
    """Dagster metadata values for plain figures (lists and dicts as JSON, no None)."""
    return {
        key: dg.MetadataValue.json(value) if isinstance(value, list | dict) else value
        for key, value in figures.items()
        if value is not None
    }


def landing_asset(fam: Family) -> dg.AssetsDefinition:
    """Return the asset that lands the raw topic of ``fam`` into its table."""
    limits = FAMILY_LIMITS[fam.name]

    @dg.asset(
        name=fam.table,
        group_name="landing",
        kinds={"kafka", "timescaledb"},
        description=(
            f"Raw {fam.name} events from Kafka topic {fam.topic.name}, landed by "
            "exact offset range: idempotent upsert, poison to "
            f"{dead_letter_for(fam.topic).name}."
        ),
        metadata={
            "topic": fam.topic.name,
            "dead_letter_topic": dead_letter_for(fam.topic).name,
            "table": fam.table,
        },
        freshness_policy=dg.FreshnessPolicy.time_window(
            fail_window=limits.fail_after, warn_window=limits.warn_after
        ),
        retry_policy=RETRY_POLICY,
        check_specs=landing_check_specs(fam),
    )
    def _landing(
        context: dg.AssetExecutionContext,
        config: LandingConfig,
        timescale: TimescaleResource,
        kafka: KafkaResource,
    ) -> dg.MaterializeResult:
        settings = get_landing_settings()
        ranges = config.offset_ranges()
        if not ranges:
            with timescale.connect() as conn:
                ranges = [p.offset_range for p in store.pending(conn, fam.topic.name)]
        provider = tracing.tracer_provider()
        clients = Clients(
            connect=timescale.connect,
            consumer=lambda: kafka.consumer(CONSUMER_GROUP),
            producer=kafka.producer,
            watermarks=kafka.watermarks,
        )
        try:
            outcome = land(
                fam,
                ranges,
                clients=clients,
                settings=settings,
                run_id=context.run.run_id,
                force=config.force,
                provider=provider,
            )
        finally:
            if provider is not None:
                provider.shutdown()
        added, refused = _add_devices(context, outcome)
        lag = _lag_after(kafka, outcome)
        with timescale.connect() as conn:
            totals = store.totals(conn, fam.topic.name)
            waiting = store.pending(conn, fam.topic.name)
        if settings.pushgateway_url:
            metrics.push_run(
                settings.pushgateway_url,
                fam.topic.name,
                totals=totals,
                rows_per_second=outcome.rows_per_second,
                run_seconds=outcome.seconds,
                lag=lag,
            )
        context.log.info(
            "landed %s: %d rows inserted, %d duplicates skipped, %d dead-lettered",
            ", ".join(str(r) for r in sorted(ranges)) or "nothing",
            outcome.total("rows_inserted"),
            outcome.total("duplicates_skipped"),
            outcome.total("dead_lettered"),
        )
        return dg.MaterializeResult(
            metadata=_metadata(
                {
                    **outcome.metadata(),
                    "lag": lag,
                    "devices_added": added,
                    "devices_refused": refused,
                    "rows_total": totals.rows_inserted,
                    "dead_lettered_total": totals.dead_lettered,
                }
            ),
            check_results=check_results(outcome, waiting),
        )

    return _landing


LANDING_ASSETS = [landing_asset(fam) for fam in FAMILIES.values()]

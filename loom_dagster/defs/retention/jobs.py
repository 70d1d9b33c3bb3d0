"""Retention of the raw tables: a daily job that drops expired chunks.

This TimescaleDB has no retention policies (Apache licence), so the schedule
calls ``drop_chunks`` itself. Days per family come from
``LOOM_LANDING_RETENTION_DAYS`` (JSON, e.g. ``{"audio": 30}``) or the run
config; a family without a value is kept forever.
"""

import dagster as dg
from pydantic import Field

from loom_core.contracts import FAMILIES
from loom_dagster.landing import store
from loom_dagster.landing.settings import get_landing_settings
from loom_dagster.resources import TimescaleResource


class RetentionConfig(dg.Config):
    """Retention to apply; empty fields fall back to ``LOOM_LANDING_*``."""

    days: dict[str, int] = Field(
        default_factory=dict,
        description="Days to keep per family, e.g. {'audio': 30}; "
        "empty: LOOM_LANDING_RETENTION_DAYS",
    )
    ranges_keep_days: int = Field(
        default=0,
        ge=0,
        description="Days to keep the record of landed offset ranges "
        "(0: LOOM_LANDING_RANGES_KEEP_DAYS)",
    )


@dg.op(description="Drop raw-table chunks older than each family's retention.")
def drop_expired_chunks(
    context: dg.OpExecutionContext,
    config: RetentionConfig,
    timescale: TimescaleResource,
) -> None:
    """Drop expired chunks per family and forget old landed ranges."""
    settings = get_landing_settings()
    days = config.days or settings.retention_days
    unknown = sorted(set(days) - set(FAMILIES))
    if unknown:
        msg = f"unknown families {unknown} in the retention config; known: {sorted(FAMILIES)}"
        raise dg.Failure(msg)
    with timescale.connect() as conn:
        for name, keep in sorted(days.items()):
            table = FAMILIES[name].table
            dropped = store.drop_expired_chunks(conn, table, keep)
            context.log.info(
                "%s: dropped %d chunks older than %d days", table, len(dropped), keep
            )
            context.log_event(
                dg.AssetObservation(
                    asset_key=table,
                    metadata={
                        "retention_days": keep,
                        "chunks_dropped": len(dropped),
                        "dropped": dg.MetadataValue.json(dropped),
                    },
                )
            )
        forgotten = store.prune_ranges(
            conn, config.ranges_keep_days or settings.ranges_keep_days
        )
        context.log.info("forgot %d landed offset ranges", forgotten)


@dg.job(description="Apply the raw tables' retention (drop_chunks).")
def landing_retention() -> None:
    """Drop expired chunks of the raw tables."""
    drop_expired_chunks()

"""How landing behaves: ``LOOM_LANDING_*`` variables and per-family limits.

Per-family values (``max_messages``, ``retention_days``) are JSON objects keyed by
family name, e.g. ``LOOM_LANDING_RETENTION_DAYS='{"audio": 30, "gps": 3650}'``;
a family left out keeps its default (no retention: kept forever).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from loom_core.contracts import FAMILIES


@dataclass(frozen=True)
class FamilyLimits:
    """Defaults of one family: batch size and how stale its table may get.

    Parameters
    ----------
    max_messages
        Cap on messages per landing run (media messages are large: fewer).
    warn_after, fail_after
        Freshness windows: the table should have landed data within these.
    """

    max_messages: int
    warn_after: timedelta
    fail_after: timedelta


# A run streams its rows in bounded chunks, so the cap bounds a run's duration
# (and what a retry repeats), not its memory.
_SENSOR = FamilyLimits(200_000, timedelta(minutes=30), timedelta(hours=6))
_MEDIA = FamilyLimits(500, timedelta(hours=1), timedelta(hours=12))

FAMILY_LIMITS: dict[str, FamilyLimits] = {
    "gps": _SENSOR,
    "accelerometer": _SENSOR,
    "heartrate": _SENSOR,
    "steps": FamilyLimits(200_000, timedelta(hours=2), timedelta(hours=24)),
    "power": FamilyLimits(200_000, timedelta(hours=2), timedelta(hours=24)),
    "audio": FamilyLimits(2_000, timedelta(hours=1), timedelta(hours=12)),
    "camera": _MEDIA,
    "screenshot": _MEDIA,
}


class LandingSettings(BaseSettings):
    """Landing knobs, read from ``LOOM_LANDING_*`` (and ``LOOM_PUSHGATEWAY_URL``).

    Attributes
    ----------
    interval_s
        ``minimum_interval_seconds`` of every landing sensor.
    autostart
        Whether the landing sensors run as soon as the daemon loads them.
    start
        Where a sensor without a cursor starts: the oldest retained offset
        (``earliest``, lands everything Kafka still holds) or the end (``latest``).
    max_messages
        Per-family override of the cap on messages per run.
    max_runs_per_tick
        How many runs one tick may request when the backlog exceeds the cap.
    recover_after_s
        A requested range still unlanded this long after its request, and owned by
        no live run, is requested again.
    lease_s
        How long a run owns the ranges it claimed (renewed between phases).
    read_timeout_s
        A run fails (and is retried) when Kafka delivers nothing for this long.
    retention_days
        Per-family retention; chunks older than this are dropped daily.
    ranges_keep_days
        How long the record of landed ranges is kept.
    pushgateway_url
        Prometheus Pushgateway to push landing metrics to; unset: no push.
    columnar
        Whether families with a columnar fast path use it
        (:mod:`~loom_dagster.landing.columnar`); off, every message is decoded
        by its pydantic model, as before (the benchmarks' baseline).
    partitions_start
        First UTC day of the day partitions (``LOOM_PARTITIONS_START``): imported
        history can be old.
    """

    model_config = SettingsConfigDict(
        env_prefix="LOOM_LANDING_", extra="ignore", populate_by_name=True
    )

    interval_s: int = Field(default=5, ge=1, le=3600)
    autostart: bool = True
    start: Literal["earliest", "latest"] = "earliest"
    max_messages: dict[str, int] = Field(default_factory=dict)
    max_runs_per_tick: int = Field(default=4, ge=1, le=50)
    recover_after_s: int = Field(default=120, ge=1)
    lease_s: int = Field(default=120, ge=10)
    read_timeout_s: float = Field(default=30.0, gt=0)
    retention_days: dict[str, int] = Field(default_factory=dict)
    ranges_keep_days: int = Field(default=30, ge=1)
    columnar: bool = True
    pushgateway_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "LOOM_PUSHGATEWAY_URL", "LOOM_LANDING_PUSHGATEWAY_URL"
        ),
    )
    partitions_start: str = Field(
        default="2020-01-01",
        pattern=r"^\d{4}-\d{2}-\d{2}$",
        validation_alias=AliasChoices("LOOM_PARTITIONS_START"),
    )

    @field_validator("max_messages", "retention_days")
    @classmethod
    def _known_families(cls, value: dict[str, int]) -> dict[str, int]:
        unknown = sorted(set(value) - set(FAMILIES))
        if unknown:
            msg = f"unknown families {unknown}; known: {sorted(FAMILIES)}"
            raise ValueError(msg)
        if any(v < 1 for v in value.values()):
            msg = "values must be positive whole numbers"
            raise ValueError(msg)
        return value

    def cap(self, family_name: str) -> int:
        """Return the cap on messages per run for ``family_name``."""
        return self.max_messages.get(
            family_name, FAMILY_LIMITS[family_name].max_messages
        )


@cache
def get_landing_settings() -> LandingSettings:
    """Return the landing settings read from the environment once per process."""
    return LandingSettings()

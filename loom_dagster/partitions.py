"""Partitions shared by the landing and enrichment assets: UTC day x device."""

from __future__ import annotations

import dagster as dg

from loom_dagster.landing.settings import get_landing_settings

# Devices become partitions the first time a landing run sees them.
DEVICES = dg.DynamicPartitionsDefinition(name="devices")

# Imported history can be old; the first day is configurable.
DAYS = dg.DailyPartitionsDefinition(
    start_date=get_landing_settings().partitions_start,
    timezone="UTC",
    end_offset=1,  # today is a partition too: data arrives all day
)

DAY_DEVICE = dg.MultiPartitionsDefinition({"day": DAYS, "device": DEVICES})

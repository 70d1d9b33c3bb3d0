"""Deterministic event ids: a replayed point must land once, whoever replays it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

# Fixed namespace for ids Loom derives; never change it (ids would change with it).
LOOM_NAMESPACE = uuid.UUID("5b0e8f0e-6c1f-4d5e-9a57-4c6f6f6d0001")


def derived_event_id(device_id: str, recorded_at: datetime, source: str) -> uuid.UUID:
    """Return the UUIDv5 of a device's point at an instant from one source.

    Apps such as GPSLogger replay points on reconnect without ids of their own; the
    same device, time (to the microsecond, in UTC) and source always give the same
    id, so downstream dedup (``ON CONFLICT DO NOTHING``) lands them once.
    """
    instant = recorded_at.astimezone(UTC).isoformat(timespec="microseconds")
    return uuid.uuid5(LOOM_NAMESPACE, f"{device_id}|{instant}|{source}")

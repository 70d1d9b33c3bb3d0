"""Deterministic event ids: a replayed point must land once, whoever replays it."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime

# Fixed namespace for ids Loom derives; never change it (ids would change with it).
LOOM_NAMESPACE = uuid.UUID("5b0e8f0e-6c1f-4d5e-9a57-4c6f6f6d0001")


# Positions in ids are rounded to 1e-7 degrees (about 1 cm): the precision of
# Google's E7 integers and finer than any tracker app sends.
POSITION_DECIMALS = 7


def derived_event_id(
    device_id: str,
    recorded_at: datetime,
    source: str,
    *,
    latitude: float,
    longitude: float,
) -> uuid.UUID:
    """Return the UUIDv5 of a device's fix at an instant and place from one source.

    Apps such as GPSLogger replay points on reconnect without ids of their own, and
    history files repeat what an app posted live. The id says what the fix says:
    the same device, time (to the microsecond, in UTC), source and position
    (rounded to ``POSITION_DECIMALS``) always give the same id, so downstream dedup
    (``ON CONFLICT DO NOTHING``) lands a true repeat once, while two fixes of the
    same second at different places are two events.
    """
    instant = recorded_at.astimezone(UTC).isoformat(timespec="microseconds")
    place = f"{_rounded(latitude)},{_rounded(longitude)}"
    return uuid.uuid5(LOOM_NAMESPACE, f"{device_id}|{instant}|{source}|{place}")


def _rounded(degrees: float) -> str:
    # Adding 0.0 turns a rounded -0.0 into 0.0: one spelling per position.
    return f"{round(float(degrees), POSITION_DECIMALS) + 0.0:.{POSITION_DECIMALS}f}"


# Ids of the ingress's own events. Each name starts with its kind, so ids of
# different kinds can never meet (a device id has no '|' and no '+').


def content_id(device_id: str, family: str, content: bytes) -> uuid.UUID:
    """Return the id of a posted event that came without one.

    ``content`` is the event's canonical JSON without ``event_id`` and
    ``received_at``: a retried POST of the same event gets the same id, and two
    different events never share one. (``uuid5`` spelled out: the content is
    bytes already, and this runs for every event of a batch.)
    """
    name = f"content|{device_id}|{family}|".encode() + content
    digest = hashlib.sha1(LOOM_NAMESPACE.bytes + name, usedforsecurity=False).digest()
    return uuid.UUID(bytes=digest[:16], version=5)


def chunk_id(device_id: str, stream_id: str, sequence: int) -> uuid.UUID:
    """Return the id of chunk ``sequence`` of an audio stream or upload."""
    return uuid.uuid5(LOOM_NAMESPACE, f"chunk|{device_id}|{stream_id}|{sequence}")


def frame_id(device_id: str, file_id: str, index: int) -> uuid.UUID:
    """Return the id of the ``index``-th frame sampled from an uploaded video."""
    return uuid.uuid5(LOOM_NAMESPACE, f"frame|{device_id}|{file_id}|{index}")


def pair_id_of(first: uuid.UUID, second: uuid.UUID) -> uuid.UUID:
    """Return the id of the paired message of two camera frames (order-free)."""
    low, high = sorted((str(first), str(second)))
    return uuid.uuid5(LOOM_NAMESPACE, f"pair|{low}|{high}")

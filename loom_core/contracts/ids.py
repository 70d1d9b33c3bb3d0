"""Every id Loom derives (UUIDv5): what is sent or computed twice lands once.

Each kind of id has its own fixed namespace; never change one (the ids derived
from it would change with it).
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, date, datetime

# Events the ingress and history imports derive ids for.
LOOM_NAMESPACE = uuid.UUID("5b0e8f0e-6c1f-4d5e-9a57-4c6f6f6d0001")
# Events that reached Kafka without an id: named by where they sit in it.
OFFSET_NAMESPACE = uuid.UUID("6f1c1a8e-4d1e-4c55-9d1f-6c6f6f6d0001")
# Rows of the enrichment assets.
ENRICHMENT_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://loom.local/enrichment")
# Frames and screenshots the demo posts.
DEMO_NAMESPACE = uuid.UUID("6c6f6f6d-6465-6d6f-2d73-616d706c6521")


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


def offset_event_id(topic: str, partition: int, offset: int) -> uuid.UUID:
    """Return the stable event id of the message at ``topic/partition/offset``.

    Events without an ``event_id`` (not produced by the ingress) get this one, so
    landing the same offset twice is still a no-op.
    """
    return uuid.uuid5(OFFSET_NAMESPACE, f"{topic}/{partition}/{offset}")


def enriched_row_id(
    asset: str, device_id: str, day: date, *source: object
) -> uuid.UUID:
    """Return the id of an enriched row.

    It is derived from the asset, the device, the UTC day and the source rows it
    was computed from. Recomputing a partition from the same raw rows (an
    incremental run, a retry or a backfill) therefore yields the same ids, which
    is what lets downstream Kafka consumers deduplicate republished messages.

    Parameters
    ----------
    asset
        The enrichment asset (``gps_tracks``, ``transcripts``, ``captions``).
    device_id, day
        The partition the row belongs to.
    *source
        What identifies the row inside its partition: source event ids, times,
        the segment kind; rendered with ``str``.

    Returns
    -------
    uuid.UUID
        The same value for the same arguments, in every process and release.
    """
    name = "/".join([asset, device_id, day.isoformat(), *map(str, source)])
    return uuid.uuid5(ENRICHMENT_NAMESPACE, name)


def demo_event_id(device_id: str, label: str) -> uuid.UUID:
    """Return the fixed id of a frame or screenshot the demo posts."""
    return uuid.uuid5(DEMO_NAMESPACE, f"{device_id}/{label}")

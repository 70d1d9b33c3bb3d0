"""Deterministic event ids: the same event, sent twice, gets the same id.

``event_id`` is the dedup key downstream (the raw tables key on
``(time, device_id, event_id)``), so an id derived from what identifies an event
makes every retry and every replay land once.
"""

from __future__ import annotations

from datetime import UTC, datetime
from hashlib import sha1
from uuid import UUID, uuid5

# A fixed namespace for Loom's UUIDv5 ids (never change it: ids would change).
NAMESPACE = UUID("6c6f6f6d-0000-5000-8000-696e67657374")


def _isoformat(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def app_point_id(device_id: str, recorded_at: datetime, source: str) -> UUID:
    """Return the id of a point from a tracker app that sends none.

    Apps such as OwnTracks and GPSLogger replay unacknowledged points on
    reconnect; the same device, time and app give the same id.
    """
    return uuid5(NAMESPACE, f"app|{device_id}|{_isoformat(recorded_at)}|{source}")


def content_id(device_id: str, family: str, content: bytes) -> UUID:
    """Return the id of a native event that came without one.

    ``content`` is the event's canonical JSON (without ids), so a retried POST of
    the same event is the same event, and two different events never share an id.
    (``uuid5`` spelled out: the content is bytes already, no str round trip.)
    """
    name = f"content|{device_id}|{family}|".encode() + content
    digest = sha1(NAMESPACE.bytes + name, usedforsecurity=False).digest()
    return UUID(bytes=digest[:16], version=5)


def chunk_id(device_id: str, stream_id: str, sequence: int) -> UUID:
    """Return the id of chunk ``sequence`` of an audio stream or upload."""
    return uuid5(NAMESPACE, f"chunk|{device_id}|{stream_id}|{sequence}")


def frame_id(device_id: str, file_id: str, index: int) -> UUID:
    """Return the id of the ``index``-th frame sampled from an uploaded video."""
    return uuid5(NAMESPACE, f"frame|{device_id}|{file_id}|{index}")


def pair_id_of(first: UUID, second: UUID) -> UUID:
    """Return the id of the paired message made of two frames (order-free)."""
    low, high = sorted((str(first), str(second)))
    return uuid5(NAMESPACE, f"pair|{low}|{high}")

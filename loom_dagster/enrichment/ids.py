"""Stable, deterministic ids of enriched rows (UUIDv5).

An enriched row's id is derived from the asset, the device, the UTC day and the
source rows it was computed from. Recomputing a partition from the same raw rows
(an incremental run, a retry or a backfill) therefore yields the same ids, which
is what lets downstream Kafka consumers deduplicate republished messages.
"""

from __future__ import annotations

import uuid
from datetime import date

NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://loom.local/enrichment")


def stable_id(asset: str, device_id: str, day: date, *source: object) -> uuid.UUID:
    """Return the UUIDv5 of an enriched row.

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
    return uuid.uuid5(NAMESPACE, name)

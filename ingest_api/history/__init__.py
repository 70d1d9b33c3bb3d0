"""Importers for the location history people already have in other apps' files.

Each importer (one module per format) reads a binary stream and yields, record by
record, a :class:`Candidate` (the fields of a ``GpsFix``) or a :class:`Problem` (why
that record is no fix). :mod:`ingest_api.history.load` tells the format from the bytes,
validates candidates with the same contract as the ingest API, derives their ids
with the ingress's function and writes them through the same Kafka path.

What becomes a fix, decided once for every format (``docs/history-formats.md``):
timed points are fixes; a visit (a stay at a place) is one fix at its start; an
activity (a move) a fix at its start and one at its end; a path's points are fixes
where they carry their own time. Times without an offset are UTC. Records without
a time or a position, or outside the valid ranges, are skipped with a reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


class HistoryFormatError(ValueError):
    """The file as a whole cannot be read; the message says where and why."""


@dataclass(frozen=True)
class Candidate:
    """One record of a history file, as contract fields, with where it came from."""

    where: str  # e.g. "line 12", "record 5", "trkpt 3"
    fields: dict[str, Any]


@dataclass(frozen=True)
class Problem:
    """A record that cannot become an event, and why."""

    where: str
    reason: str


Record = Candidate | Problem
Records = Iterator[Record]


def candidate(where: str, **fields: Any) -> Candidate:
    """Return a candidate of the fields that are known (not ``None``)."""
    return Candidate(where, {k: v for k, v in fields.items() if v is not None})

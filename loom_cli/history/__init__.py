"""Readers for location history people already have: GPX, OwnTracks, Google Takeout.

Each reader turns a file into candidate GPS fixes (plain dicts in the contract's
shape) or per-record problems; :mod:`loom_cli.history.load` validates them with the
same contract as the ingest API and writes them through the same Kafka path.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


class HistoryFormatError(ValueError):
    """The file as a whole cannot be read; the message names where and why."""


@dataclass(frozen=True)
class Candidate:
    """One record of a history file, as contract fields, with where it came from."""

    where: str  # e.g. "line 12", "record 5", "trkpt 3 of track 1"
    fields: dict[str, Any]


@dataclass(frozen=True)
class Problem:
    """A record that cannot become an event, and why."""

    where: str
    reason: str


Record = Candidate | Problem
Records = Iterator[Record]

"""Kafka offset ranges: what a sensor requests and a landing run lands.

Pure functions over offsets, no I/O: the sensor's cursor ``{partition: next_offset}``,
planning capped runs from a cursor and the end offsets, run keys, and which parts of
a range other landed ranges do not cover.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

Cursor = dict[int, int]


@dataclass(frozen=True, order=True)
class OffsetRange:
    """Offsets ``start`` (included) to ``end`` (excluded) of one partition.

    Raises
    ------
    ValueError
        When the range is empty or negative.
    """

    partition: int
    start: int
    end: int

    def __post_init__(self) -> None:
        if self.partition < 0 or self.start < 0 or self.end <= self.start:
            msg = (
                f"offset range {self.partition}:{self.start}-{self.end} is invalid; "
                "need partition >= 0 and 0 <= start < end"
            )
            raise ValueError(msg)

    @property
    def size(self) -> int:
        """How many offsets the range spans."""
        return self.end - self.start

    def __str__(self) -> str:
        return f"{self.partition}:{self.start}-{self.end}"

    @classmethod
    def parse(cls, text: str) -> OffsetRange:
        """Parse ``"partition:start-end"`` (the form ``str`` writes)."""
        try:
            partition, span = text.strip().split(":")
            start, end = span.split("-")
            return cls(int(partition), int(start), int(end))
        except ValueError as exc:
            msg = f"{text!r} is not an offset range 'partition:start-end' ({exc})"
            raise ValueError(msg) from None


def format_ranges(ranges: Iterable[OffsetRange]) -> str:
    """Return ``"0:10-20,2:5-9"``: the ranges, sorted, as one tag value."""
    return ",".join(str(r) for r in sorted(ranges))


def parse_ranges(text: str) -> list[OffsetRange]:
    """Parse what :func:`format_ranges` writes (an empty string is no range)."""
    return [OffsetRange.parse(part) for part in text.split(",") if part.strip()]


def run_key(topic: str, ranges: Iterable[OffsetRange]) -> str:
    """Return the run key of a landing run: the topic and its exact ranges."""
    return f"{topic}|{format_ranges(ranges)}"


def dump_cursor(cursor: Mapping[int, int]) -> str:
    """Serialise a cursor ``{partition: next_offset}`` as JSON."""
    return json.dumps({str(p): cursor[p] for p in sorted(cursor)})


def load_cursor(text: str | None) -> Cursor | None:
    """Parse a cursor written by :func:`dump_cursor`; None when there is none.

    Raises
    ------
    ValueError
        When the text is not such a cursor (say which, so it can be reset).
    """
    if not text:
        return None
    try:
        raw = json.loads(text)
        cursor = {int(p): int(offset) for p, offset in raw.items()}
    except (ValueError, AttributeError, TypeError) as exc:
        msg = (
            f"sensor cursor {text[:80]!r} is not {{partition: next_offset}} ({exc}); "
            "reset the sensor's cursor in the Dagster UI"
        )
        raise ValueError(msg) from None
    if any(p < 0 or offset < 0 for p, offset in cursor.items()):
        msg = f"sensor cursor {text[:80]!r} holds a negative partition or offset"
        raise ValueError(msg)
    return cursor


@dataclass(frozen=True)
class Positions:
    """Where each partition's next request starts, and what the cursor missed.

    Attributes
    ----------
    next_offsets
        ``{partition: next_offset}`` to plan from.
    expired
        ``{partition: count}`` of offsets Kafka deleted before they were requested.
    reset
        Partitions whose cursor was past the end (the topic was recreated).
    """

    next_offsets: Cursor
    expired: dict[int, int]
    reset: list[int]


def resolve_positions(
    cursor: Mapping[int, int] | None,
    watermarks: Mapping[int, tuple[int, int]],
    start: Literal["earliest", "latest"] = "earliest",
) -> Positions:
    """Reconcile a cursor with the partitions' ``(low, high)`` watermarks.

    With no cursor at all, every partition starts at ``start``; a partition the
    cursor does not know (added later) starts at its earliest offset. A cursor
    below the low watermark skips what Kafka already deleted (counted in
    ``expired``); one above the high watermark means the topic was recreated, so
    the partition starts again from its earliest offset.
    """
    next_offsets: Cursor = {}
    expired: dict[int, int] = {}
    reset: list[int] = []
    for partition, (low, high) in sorted(watermarks.items()):
        if cursor is None:
            next_offsets[partition] = high if start == "latest" else low
            continue
        position = cursor.get(partition, low)
        if position > high:
            reset.append(partition)
            position = low
        elif position < low:
            expired[partition] = low - position
            position = low
        next_offsets[partition] = position
    return Positions(next_offsets, expired, reset)


def fair_shares(backlog: Mapping[int, int], cap: int) -> dict[int, int]:
    """Split ``cap`` messages over partitions, max-min fair.

    A partition never gets more than its backlog; what a small backlog leaves over
    goes to the larger ones, so one busy partition cannot starve the others.
    """
    shares: dict[int, int] = {}
    left = cap
    by_size = sorted(backlog, key=lambda p: (backlog[p], p))
    for i, partition in enumerate(by_size):
        take = min(backlog[partition], left // (len(by_size) - i))
        shares[partition] = take
        left -= take
    return {p: shares[p] for p in sorted(shares) if shares[p] > 0}


def plan_runs(
    next_offsets: Mapping[int, int],
    ends: Mapping[int, int],
    cap: int,
    max_runs: int,
) -> tuple[list[list[OffsetRange]], Cursor]:
    """Cut the backlog between ``next_offsets`` and ``ends`` into capped runs.

    Returns the runs (each a list of ranges, at most ``cap`` offsets in all) and
    the cursor after them. The backlog beyond ``max_runs`` runs is left for later.
    """
    if cap < 1 or max_runs < 1:
        msg = "cap and max_runs must be at least 1"
        raise ValueError(msg)
    position = dict(next_offsets)
    runs: list[list[OffsetRange]] = []
    while len(runs) < max_runs:
        backlog = {
            p: ends[p] - position[p]
            for p in sorted(position)
            if p in ends and ends[p] > position[p]
        }
        if not backlog:
            break
        run = [
            OffsetRange(p, position[p], position[p] + n)
            for p, n in fair_shares(backlog, cap).items()
        ]
        for offset_range in run:
            position[offset_range.partition] = offset_range.end
        runs.append(run)
    return runs, position


def uncovered(
    wanted: OffsetRange, covering: Iterable[tuple[int, int]]
) -> list[OffsetRange]:
    """Return the parts of ``wanted`` that no ``(start, end)`` in ``covering`` spans."""
    gaps: list[OffsetRange] = []
    position = wanted.start
    for start, end in sorted(covering):
        if end <= position:
            continue
        if start >= wanted.end:
            break
        if start > position:
            gaps.append(OffsetRange(wanted.partition, position, start))
        position = max(position, end)
        if position >= wanted.end:
            break
    if position < wanted.end:
        gaps.append(OffsetRange(wanted.partition, position, wanted.end))
    return gaps


def chunk(ranges: Sequence[OffsetRange], cap: int) -> list[list[OffsetRange]]:
    """Group ranges into runs of at most ``cap`` offsets, splitting large ones."""
    runs: list[list[OffsetRange]] = []
    current: list[OffsetRange] = []
    room = cap
    for offset_range in sorted(ranges):
        start = offset_range.start
        while start < offset_range.end:
            take = min(room, offset_range.end - start)
            current.append(OffsetRange(offset_range.partition, start, start + take))
            start += take
            room -= take
            if room == 0:
                runs.append(current)
                current, room = [], cap
    if current:
        runs.append(current)
    return runs

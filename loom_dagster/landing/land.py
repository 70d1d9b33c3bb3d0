"""One landing run, end to end: claim, read, decode, dead-letter, upsert.

Free of Dagster so that the asset, tests and benchmarks run the same code; the
asset adds what only Dagster knows (run id, dynamic partitions, metadata).
"""

from __future__ import annotations

import contextlib
import gc
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from confluent_kafka import Consumer, Producer

from loom_core.contracts import Family
from loom_core.contracts.envelope import utc_now
from loom_dagster.landing import columnar, dead_letters, store, tracing
from loom_dagster.landing.decode import Poison, decode
from loom_dagster.landing.ranges import OffsetRange
from loom_dagster.landing.reader import KafkaMessage, RangeReader
from loom_dagster.landing.rows import LAYOUTS
from loom_dagster.landing.settings import LandingSettings
from loom_dagster.landing.upsert import Upsert

log = logging.getLogger(__name__)

# The metadata entry that tells the enrichment sensors which (day, device)
# partitions a run wrote: a JSON list of {"day": "YYYY-MM-DD", "device": id}.
PARTITIONS_TOUCHED = "partitions_touched"


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Keep the cyclic garbage collector off inside the block, then as it was.

    Decoding keeps up to a chunk of rows alive, and the collector's passes kept
    walking them: 0.2 of the 1.75 CPU-seconds of Python that landing 100k
    messages took (docs/benchmarks.md). The loop creates no reference cycles;
    what it drops, reference counting frees at once.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# The fast path reads batches of up to this many messages: polars' fixed cost
# per batch is then small (3.0 us per message at 5,000, 2.6 at 20,000).
MERGED_BATCH = 20_000


def merged(
    batches: Iterable[tuple[OffsetRange, list[KafkaMessage]]],
    size: int = MERGED_BATCH,
) -> Iterator[tuple[OffsetRange, list[KafkaMessage]]]:
    """Join consecutive batches of the same range, up to ``size`` messages each."""
    held: list[KafkaMessage] = []
    held_range: OffsetRange | None = None
    for offset_range, batch in batches:
        if held and (offset_range != held_range or len(held) + len(batch) > size):
            yield held_range, held  # type: ignore[misc]
            held = []
        held_range = offset_range
        held.extend(batch)
    if held:
        yield held_range, held  # type: ignore[misc]


@dataclass(frozen=True)
class Clients:
    """Factories of the connections a landing run opens (and closes)."""

    connect: Callable[[], psycopg.Connection]
    consumer: Callable[[], Consumer]
    producer: Callable[[], Producer]
    watermarks: Callable[[str], dict[int, tuple[int, int]]]


@dataclass
class LandingOutcome:
    """What a landing run did; becomes the materialisation's metadata."""

    topic: str
    table: str
    ranges: list[OffsetRange]
    landed: list[store.RangeOutcome] = field(default_factory=list)
    already_landed: list[OffsetRange] = field(default_factory=list)
    replayed_touched: set[tuple[str, str]] = field(default_factory=set)
    devices: set[str] = field(default_factory=set)
    poison_reasons: Counter[str] = field(default_factory=Counter)
    links_dropped: int = 0
    seconds: float = 0.0
    high_watermarks: dict[int, int] = field(default_factory=dict)  # as last read

    def total(self, attribute: str) -> int:
        """Sum ``attribute`` over the ranges landed by this run."""
        return sum(getattr(o, attribute) for o in self.landed)

    @property
    def touched(self) -> list[dict[str, str]]:
        """Day x device pairs with new rows (and those a replay re-announces)."""
        pairs = set(self.replayed_touched)
        for outcome in self.landed:
            pairs |= outcome.touched
        return store.touched_list(pairs)

    @property
    def rows_per_second(self) -> float:
        """Valid events handled per second of the run."""
        return self.total("valid") / self.seconds if self.seconds else 0.0

    def metadata(self) -> dict[str, Any]:
        """Plain values of the figures of the run, keyed as the metadata is."""
        return {
            "topic": self.topic,
            "offset_ranges": [
                {"partition": r.partition, "start": r.start, "end": r.end}
                for r in sorted(self.ranges)
            ],
            "already_landed": [str(r) for r in sorted(self.already_landed)],
            "messages": self.total("messages"),
            "rows_inserted": self.total("rows_inserted"),
            "duplicates_skipped": self.total("duplicates_skipped"),
            "dead_lettered": self.total("dead_lettered"),
            "dead_letter_reasons": dict(sorted(self.poison_reasons.items())),
            "offsets_missing": self.total("offsets_missing"),
            PARTITIONS_TOUCHED: self.touched,
            "rows_per_second": round(self.rows_per_second, 1),
            "seconds": round(self.seconds, 3),
            "trace_links_dropped": self.links_dropped,
        }


@dataclass(frozen=True)
class LandingRun:
    """What one landing run works with: the family, its clients and settings."""

    fam: Family
    clients: Clients
    settings: LandingSettings
    run_id: str
    provider: Any | None = None  # an OpenTelemetry tracer provider; None: off

    @property
    def topic(self) -> str:
        """The raw topic."""
        return self.fam.topic.name

    def land(self, ranges: Sequence[OffsetRange], *, force: bool) -> LandingOutcome:
        """Land ``ranges``, skipping those already landed unless ``force``."""
        started = time.monotonic()
        outcome = LandingOutcome(self.topic, self.fam.table, list(ranges))
        with self.clients.connect() as conn:
            if force:
                claim = store.Claim(list(ranges), [], set())
            else:
                claim = store.claim(
                    conn, self.topic, ranges, self.run_id, self.settings.lease_s
                )
            outcome.already_landed = claim.already_landed
            outcome.replayed_touched = claim.touched
            if claim.to_land:
                self._land_claimed(claim.to_land, outcome, conn)
        outcome.seconds = time.monotonic() - started
        return outcome

    def _land_claimed(
        self,
        ranges: list[OffsetRange],
        outcome: LandingOutcome,
        conn: psycopg.Connection,
    ) -> None:
        reader = RangeReader(
            self.clients.consumer(),
            self.topic,
            idle_timeout_s=self.settings.read_timeout_s,
            watermarks=lambda p: self.clients.watermarks(self.topic)[p],
        )
        outcome.landed = [store.RangeOutcome(r) for r in ranges]
        poisoned: list[tuple[KafkaMessage, Poison]] = []
        headers: list[list[tuple[str, bytes | None]]] = []
        span_name = f"land {self.fam.table}"
        with (
            tracing.landing_span(self.provider, span_name) as span,
            conn.transaction(),
        ):
            # Chunks are upserted while later messages are still being read.
            with (
                collector_paused(),
                Upsert(
                    conn, self.fam.table, LAYOUTS[self.fam.name], outcome.landed
                ) as upsert,
            ):
                self._decode_all(reader, outcome, upsert, poisoned, headers)
            outcome.high_watermarks = reader.high_watermarks
            for range_outcome in outcome.landed:
                range_outcome.offsets_missing = reader.missing.get(
                    range_outcome.offset_range, 0
                )
            outcome.poison_reasons.update(p.reason.value for _, p in poisoned)
            outcome.links_dropped = tracing.link_parents(span, headers)
            # Dead letters are confirmed before the commit: never lost, maybe
            # repeated by a retry (see dead_letters).
            if poisoned:
                dead_letters.send(self.clients.producer(), self.topic, poisoned)
            store.mark_landed(conn, self.topic, outcome.landed, self.run_id)
            span.set_attributes(self._span_attributes(outcome))
        if reader.missing:
            log.warning(
                "%s: %d offsets were not in Kafka (deleted by retention?): %s",
                self.topic,
                sum(reader.missing.values()),
                ", ".join(f"{r} ({n})" for r, n in sorted(reader.missing.items())),
            )

    def _decode_all(
        self,
        reader: RangeReader,
        outcome: LandingOutcome,
        upsert: Upsert,
        poisoned: list[tuple[KafkaMessage, Poison]],
        headers: list[list[tuple[str, bytes | None]]],
    ) -> None:
        """Decode every message of the ranges: rows to ``upsert``, poison aside.

        A family with a columnar fast path has each batch read and checked as
        columns first; only the messages it does not vouch for are decoded one by
        one, by the pydantic model, which decides what is poison.
        """
        # The hot loop of a run (bench/landing_throughput.py): names bound once.
        row, model, topic = LAYOUTS[self.fam.name].row, self.fam.model, self.topic
        write, devices = upsert.write, outcome.devices
        fast = columnar.fast_path(self.fam) if self.settings.columnar else None
        traced = self.provider is not None
        by_range = {o.offset_range: o for o in outcome.landed}
        for offset_range, batch in merged(reader.batches(list(by_range))):
            range_outcome = by_range[offset_range]
            range_outcome.messages += len(batch)
            if traced:
                headers.extend(message.headers() or [] for message in batch)
            valid, rest = 0, batch
            if fast is not None:
                rows, left = fast.split(
                    [message.value() for message in batch],
                    offset_range.partition,
                    [message.offset() for message in batch],
                    utc_now(),
                )
                if rows.height:
                    upsert.write_frame(rows)
                    devices.update(rows.get_column("device_id").unique().to_list())
                    valid = rows.height
                rest = [batch[i] for i in left]
            for message in rest:
                event = decode(model, message, topic)
                if isinstance(event, Poison):
                    poisoned.append((message, event))
                    range_outcome.dead_lettered += 1
                    continue
                write(
                    row(event, message.partition(), message.offset()),
                    len(message.value()),  # not None: it decoded
                )
                devices.add(event.device_id)
                valid += 1
            range_outcome.valid += valid

    def _span_attributes(self, outcome: LandingOutcome) -> dict[str, Any]:
        return {
            "messaging.system": "kafka",
            "messaging.destination.name": self.topic,
            "messaging.batch.message_count": outcome.total("messages"),
            "db.collection.name": self.fam.table,
            "loom.offset_ranges": ",".join(str(r) for r in sorted(outcome.ranges)),
            "loom.rows_inserted": outcome.total("rows_inserted"),
            "loom.dead_lettered": outcome.total("dead_lettered"),
            "dagster.run_id": self.run_id,
        }


def land(
    fam: Family,
    ranges: Sequence[OffsetRange],
    *,
    clients: Clients,
    settings: LandingSettings,
    run_id: str,
    force: bool = False,
    provider: Any | None = None,
) -> LandingOutcome:
    """Land exactly ``ranges`` of the family's raw topic into its table.

    Ranges already landed (by this or other ranges) are skipped, unless
    ``force``: re-running a range is a no-op. Poison messages are dead-lettered
    and counted; the rest are upserted, and the ranges marked landed, in one
    transaction.
    """
    return LandingRun(fam, clients, settings, run_id, provider).land(
        ranges, force=force
    )

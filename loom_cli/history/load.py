"""Validate history records with the contracts and write them to Kafka."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from confluent_kafka import KafkaException, Producer
from pydantic import ValidationError

from loom_cli.history import (
    HistoryFormatError,
    Problem,
    Record,
    gpx,
    owntracks,
    takeout,
)
from loom_core.contracts import GpsFix
from loom_core.contracts.ids import derived_event_id
from loom_core.kafka import producer_config, to_message

READERS: dict[str, Callable[[Path], Iterable[Record]]] = {
    "gpx": gpx.read,
    "owntracks": owntracks.read,
    "takeout": takeout.read,
}
SUFFIXES = {".gpx": "gpx", ".rec": "owntracks", ".json": "takeout"}


def detect_format(path: Path) -> str:
    """Tell a file's format from its suffix."""
    try:
        return SUFFIXES[path.suffix.lower()]
    except KeyError:
        known = "|".join(READERS)
        msg = f"cannot tell the format of {path.name} from its suffix; pass --format {known}"
        raise HistoryFormatError(msg) from None


def validate(record: Record, device_id: str) -> GpsFix | Problem:
    """Return the contract event of a candidate, or the problem that stops it.

    The event id derives from device, time and source, so importing the same file
    twice, or a point the app already posted live, lands once downstream.
    """
    if isinstance(record, Problem):
        return record
    try:
        fix = GpsFix.model_validate({**record.fields, "device_id": device_id})
    except ValidationError as exc:
        reasons = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'record'}: {e['msg']}"
            for e in exc.errors()
        )
        return Problem(record.where, reasons)
    return fix.model_copy(
        update={
            "event_id": derived_event_id(device_id, fix.recorded_at, fix.source or "")
        }
    )


@dataclass
class ImportSummary:
    """What an import did."""

    acknowledged: int = 0
    rejected: int = 0
    failed: int = 0
    problems: list[Problem] = field(default_factory=list)
    reasons: Counter[str] = field(default_factory=Counter)

    def reject(self, problem: Problem, keep: int = 20) -> None:
        """Count a rejected record, keeping the first few for the report."""
        self.rejected += 1
        self.reasons[problem.reason.split(":")[0]] += 1
        if len(self.problems) < keep:
            self.problems.append(problem)


def events(path: Path, fmt: str, device_id: str) -> Iterator[GpsFix | Problem]:
    """Yield validated events and problems from a history file."""
    for record in READERS[fmt](path):
        yield validate(record, device_id)


def write(
    items: Iterable[GpsFix | Problem],
    bootstrap: str,
    progress: Callable[[int], None] = lambda _: None,
    batch: int = 5_000,
) -> ImportSummary:
    """Produce every event (acks=all, idempotent) and count what Kafka acknowledged."""
    summary = ImportSummary()
    producer = Producer(producer_config(bootstrap, **{"linger.ms": 50}))

    def delivered(err: object, _msg: object) -> None:
        if err is None:
            summary.acknowledged += 1
        else:
            summary.failed += 1

    pending = 0
    for item in items:
        if isinstance(item, Problem):
            summary.reject(item)
            progress(1)
            continue
        topic, key, value = to_message(item)
        while True:
            try:
                producer.produce(topic, key=key, value=value, on_delivery=delivered)
                break
            except BufferError:
                producer.poll(0.5)
            except KafkaException as exc:
                msg = (
                    f"Kafka refused the write ({exc}); is the stack up? (loom stack up)"
                )
                raise HistoryFormatError(msg) from exc
        pending += 1
        progress(1)
        if pending >= batch:
            producer.flush(30)
            pending = 0
        producer.poll(0)
    summary.failed += producer.flush(30)
    return summary

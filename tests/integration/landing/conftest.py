"""Helpers of the landing integration tests: produce, land, drive the sensors.

Dagster runs on a temporary instance (``dg.instance_for_test``), never on the
shared ``dagster`` database; the resources point at whichever stack a test uses.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import dagster as dg
import psycopg
import pytest
from confluent_kafka import Producer

from loom_core import kafka as loom_kafka
from loom_core.contracts import FAMILIES, DeviceEvent, Family
from loom_core.kafka import to_message
from loom_core.settings import LoomSettings
from loom_dagster.defs.landing.jobs import run_config
from loom_dagster.landing import store
from loom_dagster.landing.ranges import OffsetRange, dump_cursor
from loom_dagster.landing.settings import get_landing_settings
from loom_dagster.resources import KafkaResource

GPS = FAMILIES["gps"]
TRACE = "00-{:032x}-{:016x}-01"


@dataclass(frozen=True)
class Acked:
    """A message Kafka acknowledged, and where it went."""

    partition: int
    offset: int
    key: bytes | None
    value: bytes


def produce(
    settings: LoomSettings,
    topic: str,
    messages: Iterable[tuple[str | None, bytes, list[tuple[str, bytes]] | None]],
    partition: int | None = None,
) -> list[Acked]:
    """Produce ``(key, value, headers)`` messages; return those Kafka acknowledged."""
    producer = Producer(loom_kafka.producer_config(settings.kafka_bootstrap))
    acked: list[Acked] = []

    def report(error: object, message: object) -> None:
        if error is None:
            acked.append(
                Acked(
                    message.partition(),
                    message.offset(),
                    message.key(),
                    message.value(),
                )
            )

    for key, value, headers in messages:
        extra = {} if partition is None else {"partition": partition}
        producer.produce(
            topic, key=key, value=value, headers=headers, on_delivery=report, **extra
        )
        producer.poll(0)
    producer.flush(30)
    return acked


def ranges_of(acked: Iterable[Acked]) -> list[OffsetRange]:
    """The smallest ranges (one per partition) that hold every acknowledged message."""
    spans: dict[int, tuple[int, int]] = {}
    for message in acked:
        low, high = spans.get(message.partition, (message.offset, message.offset + 1))
        spans[message.partition] = (
            min(low, message.offset),
            max(high, message.offset + 1),
        )
    return [OffsetRange(p, s, e) for p, (s, e) in sorted(spans.items())]


def as_messages(events: Iterable[DeviceEvent], traced: bool = False) -> list[tuple]:
    """Kafka messages of contract events, as the contract defines them."""
    out = []
    for i, event in enumerate(events):
        trace = TRACE.format(i + 1, i + 1).encode()
        _, key, value = to_message(event)
        out.append((key, value, [("traceparent", trace)] if traced else None))
    return out


@pytest.fixture
def use_stack(monkeypatch: pytest.MonkeyPatch) -> Callable[[LoomSettings], None]:
    """Point the definitions' EnvVar resources (and landing settings) at a stack."""

    def point(settings: LoomSettings, **landing: str) -> None:
        monkeypatch.setenv("LOOM_DATABASE_URL", settings.database_url)
        monkeypatch.setenv("LOOM_KAFKA_BOOTSTRAP", settings.kafka_bootstrap)
        for key, value in landing.items():
            monkeypatch.setenv(f"LOOM_LANDING_{key.upper()}", value)
        get_landing_settings.cache_clear()

    yield point
    get_landing_settings.cache_clear()


@pytest.fixture
def shared(settings: LoomSettings, use_stack: Callable[..., None]) -> LoomSettings:
    """The shared stack, with the resources pointed at it."""
    use_stack(settings)
    return settings


def land_job(
    fam: Family,
    ranges: list[OffsetRange],
    instance: dg.DagsterInstance,
    **config: object,
) -> dg.ExecuteInProcessResult:
    """Run the landing job of ``fam`` for ``ranges``, in process."""
    from loom_dagster.definitions import defs  # noqa: PLC0415 - after env is set

    run_cfg = run_config(fam, ranges)
    if config:
        run_cfg.ops[fam.table] = run_cfg.ops[fam.table].model_copy(update=config)
    return defs.resolve_job_def(f"land_{fam.table}").execute_in_process(
        run_config=run_cfg, instance=instance, raise_on_error=False
    )


def materialization(
    result: dg.ExecuteInProcessResult, fam: Family
) -> dict[str, object]:
    """The metadata of the run's materialisation of the landing asset, as values."""
    (event,) = result.asset_materializations_for_node(fam.table)
    return {key: value.value for key, value in event.metadata.items()}


def tick(
    fam: Family, instance: dg.DagsterInstance, cursor: str | None
) -> dg.SensorResult:
    """Evaluate the sensor of ``fam`` once."""
    from loom_dagster.definitions import defs  # noqa: PLC0415

    sensor = defs.resolve_sensor_def(f"{fam.table}_sensor")
    with dg.build_sensor_context(
        instance=instance, cursor=cursor, resources=defs.resources, definitions=defs
    ) as ctx:
        return sensor(ctx)


def cursor_at_end(settings: LoomSettings, fam: Family) -> str:
    """A cursor at the topic's current end: only what comes next is new."""
    marks = KafkaResource(bootstrap_servers=settings.kafka_bootstrap).watermarks(
        fam.topic.name
    )
    return dump_cursor({p: high for p, (_, high) in marks.items()})


def pending_within(
    settings: LoomSettings, fam: Family, ranges: list[OffsetRange]
) -> list[OffsetRange]:
    """Requested, unlanded ranges of ``fam`` that overlap ``ranges``."""
    with psycopg.connect(settings.database_url) as conn:
        waiting = store.pending(conn, fam.topic.name, limit=100_000)
    return [
        p.offset_range
        for p in waiting
        if any(
            p.offset_range.partition == r.partition
            and p.offset_range.start < r.end
            and p.offset_range.end > r.start
            for r in ranges
        )
    ]


def drive(
    fam: Family,
    instance: dg.DagsterInstance,
    cursor: str | None,
    done: Callable[[], bool],
    timeout_s: float = 180.0,
) -> str | None:
    """Tick the sensor and run what it requests until ``done()``; return the cursor."""
    deadline = time.monotonic() + timeout_s
    while not done():
        assert time.monotonic() < deadline, "landing did not catch up in time"
        result = tick(fam, instance, cursor)
        cursor = result.cursor
        for request in result.run_requests or []:
            from loom_dagster.definitions import defs  # noqa: PLC0415

            defs.resolve_job_def(f"land_{fam.table}").execute_in_process(
                run_config=request.run_config,
                instance=instance,
                tags=request.tags,
                raise_on_error=False,
            )
        if not result.run_requests:
            time.sleep(1)
    return cursor


def rows_of(
    settings: LoomSettings, table: str, device_id: str
) -> list[dict[str, object]]:
    """Every row of ``device_id`` in ``table``, as dicts, by time."""
    with psycopg.connect(settings.database_url) as conn, conn.cursor() as cur:
        cur.execute(
            f"SELECT * FROM {table} WHERE device_id = %s ORDER BY time, event_id",
            (device_id,),
        )
        names = [c.name for c in cur.description]
        return [dict(zip(names, row)) for row in cur.fetchall()]


def event_ids(settings: LoomSettings, table: str, device_id: str) -> list[uuid.UUID]:
    """The event ids of ``device_id``'s rows in ``table``, sorted."""
    return sorted(r["event_id"] for r in rows_of(settings, table, device_id))

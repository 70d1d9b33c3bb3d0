"""Landing sensors: one per raw topic, turning new offsets into landing runs.

A tick reads the topic's watermarks - never a payload - and its cursor
``{partition: next_offset}``. New offsets become runs of at most the family's
cap, each with its exact ranges in its config and a run key made of them. The
ranges are recorded in ``landing_ranges`` before the runs are requested; a
range still unlanded long after, owned by no live run (a run that failed for
good, a worker killed, a request lost), is requested again. Each tick also
reports the topic's lag as an asset observation.
"""

import time
from dataclasses import dataclass

import dagster as dg
import psycopg
from confluent_kafka import KafkaException

from loom_core.contracts import FAMILIES, Family
from loom_dagster.defs.landing.jobs import LANDING_JOBS, run_config
from loom_dagster.landing import metrics, store
from loom_dagster.landing.ranges import (
    OffsetRange,
    chunk,
    dump_cursor,
    format_ranges,
    load_cursor,
    plan_runs,
    resolve_positions,
    run_key,
)
from loom_dagster.landing.settings import LandingSettings, get_landing_settings
from loom_dagster.resources import KafkaResource, TimescaleResource

TOPIC_TAG = "loom/topic"
RANGES_TAG = "loom/ranges"
OBSERVE_EVERY_S = 60  # an idle topic reports its lag once a minute
# Requested but not launched: the run queue is full. (A run that is starting is
# not waiting: the next range may start beside it.)
WAITING = [dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.QUEUED]


@dataclass(frozen=True)
class Plan:
    """What one tick decided: runs to request, the new cursor, and why."""

    requests: list[dg.RunRequest]
    cursor: dict[int, int]
    lag: dict[int, int]
    pending_messages: int
    recovered: list[OffsetRange]
    expired: int
    waiting_runs: int


def _request(
    fam: Family, ranges: list[OffsetRange], key: str, *, recovery: bool
) -> dg.RunRequest:
    tags = {TOPIC_TAG: fam.topic.name, RANGES_TAG: format_ranges(ranges)}
    if recovery:
        tags["loom/recovery"] = "true"
    return dg.RunRequest(run_key=key, run_config=run_config(fam, ranges), tags=tags)


def _waiting_runs(instance: dg.DagsterInstance, topic: str) -> int:
    """How many landing runs of ``topic`` are requested but not started yet."""
    return len(
        instance.get_run_records(
            filters=dg.RunsFilter(tags={TOPIC_TAG: topic}, statuses=WAITING), limit=10
        )
    )


def plan_tick(
    fam: Family,
    cursor_text: str | None,
    *,
    kafka: KafkaResource,
    timescale: TimescaleResource,
    settings: LandingSettings,
    waiting_runs: int,
) -> Plan:
    """Decide one tick of the sensor of ``fam``: reads watermarks and the DB only.

    While a run of the topic is still waiting to start, nothing new is requested:
    the backlog grows into the next, larger run instead of a queue of small ones.
    """
    topic = fam.topic.name
    cap = settings.cap(fam.name)
    try:
        watermarks = kafka.watermarks(topic)
    except KafkaException as exc:
        msg = f"cannot read the offsets of {topic} from Kafka: {exc}; is the broker up?"
        raise RuntimeError(msg) from None
    positions = resolve_positions(load_cursor(cursor_text), watermarks, settings.start)
    ends = {p: high for p, (_, high) in watermarks.items()}
    requests: list[dg.RunRequest] = []
    cursor = dict(positions.next_offsets)
    recovered: list[OffsetRange] = []
    with timescale.connect() as conn:
        if not waiting_runs:
            recovered = _recover(fam, conn, settings, requests)
            runs, cursor = plan_runs(cursor, ends, cap, settings.max_runs_per_tick)
            for ranges in runs:
                key = run_key(topic, ranges)
                store.record_requests(conn, topic, ranges, key)
                requests.append(_request(fam, ranges, key, recovery=False))
        pending_messages = sum(p.offset_range.size for p in store.pending(conn, topic))
    return Plan(
        requests=requests,
        cursor=cursor,
        lag={p: ends[p] - cursor[p] for p in sorted(ends)},
        pending_messages=pending_messages,
        recovered=recovered,
        expired=sum(positions.expired.values()),
        waiting_runs=waiting_runs,
    )


def _recover(
    fam: Family,
    conn: psycopg.Connection,
    settings: LandingSettings,
    requests: list[dg.RunRequest],
) -> list[OffsetRange]:
    """Request again the ranges requested long ago that no live run owns."""
    topic = fam.topic.name
    stale = [
        p
        for p in store.pending(conn, topic)
        if p.age_s > settings.recover_after_s and not p.claimed
    ]
    if not stale:
        return []
    attempt = 1 + max(p.recoveries for p in stale)
    remaining = store.settle_covered(conn, topic, [p.offset_range for p in stale])
    for ranges in chunk(remaining, settings.cap(fam.name)):
        key = f"{run_key(topic, ranges)}|recovery-{attempt}"
        store.record_requests(conn, topic, ranges, key)
        requests.append(_request(fam, ranges, key, recovery=True))
    store.mark_rerequested(conn, topic, [p.offset_range for p in stale])
    return remaining


def _observation(fam: Family, plan: Plan) -> dg.AssetObservation:
    return dg.AssetObservation(
        asset_key=fam.table,
        metadata={
            "topic": fam.topic.name,
            "lag": sum(plan.lag.values()),
            "lag_by_partition": dg.MetadataValue.json(
                {str(p): n for p, n in plan.lag.items()}
            ),
            "cursor": dg.MetadataValue.json(
                {str(p): n for p, n in plan.cursor.items()}
            ),
            "pending_messages": plan.pending_messages,
            "runs_requested": len(plan.requests),
            "ranges_recovered": dg.MetadataValue.json([str(r) for r in plan.recovered]),
            "offsets_expired": plan.expired,
            "runs_waiting": plan.waiting_runs,
        },
    )


def _due(last_tick: float | None, now: float) -> bool:
    """Whether an idle tick should report lag (first tick of each minute)."""
    return last_tick is None or int(now // OBSERVE_EVERY_S) != int(
        last_tick // OBSERVE_EVERY_S
    )


def landing_sensor(fam: Family, settings: LandingSettings) -> dg.SensorDefinition:
    """Return the sensor that requests landing runs for the raw topic of ``fam``."""

    @dg.sensor(
        name=f"{fam.table}_sensor",
        job=LANDING_JOBS[fam.name],
        minimum_interval_seconds=settings.interval_s,
        default_status=(
            dg.DefaultSensorStatus.RUNNING
            if settings.autostart
            else dg.DefaultSensorStatus.STOPPED
        ),
        description=(
            f"Requests a landing run for each new offset range of {fam.topic.name} "
            "(watermarks only) and re-requests ranges that never landed."
        ),
    )
    def _sensor(
        context: dg.SensorEvaluationContext,
        kafka: KafkaResource,
        timescale: TimescaleResource,
    ) -> dg.SensorResult:
        plan = plan_tick(
            fam,
            context.cursor,
            kafka=kafka,
            timescale=timescale,
            settings=get_landing_settings(),
            waiting_runs=_waiting_runs(context.instance, fam.topic.name),
        )
        busy = plan.requests or any(plan.lag.values()) or plan.pending_messages
        events = []
        if busy or _due(context.last_tick_completion_time, time.time()):
            events.append(_observation(fam, plan))
        url = get_landing_settings().pushgateway_url
        if url:
            metrics.push_lag(url, fam.topic.name, plan.lag)
        return dg.SensorResult(
            run_requests=plan.requests,
            cursor=dump_cursor(plan.cursor),
            asset_events=events,
        )

    return _sensor


LANDING_SENSORS = [
    landing_sensor(fam, get_landing_settings()) for fam in FAMILIES.values()
]

"""Landing against the shared stack: what arrives, field by field, count by count.

Each test uses its own device id and asserts on its own rows and messages only:
other engineers produce to the same topics and may land the same offsets.
"""

from __future__ import annotations

import base64
import gc
import json
import time
import uuid
from datetime import UTC, datetime, timedelta, timezone

import dagster as dg
import psycopg
import pytest
from confluent_kafka import Consumer, TopicPartition
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from loom_core import kafka as loom_kafka
from loom_core.contracts import (
    FAMILIES,
    AccelerometerSample,
    AudioChunk,
    CameraFrame,
    FrameImage,
    GpsFix,
    HeartRate,
    PowerState,
    Screenshot,
    Steps,
)
from loom_core.contracts.ids import derived_event_id
from loom_core.contracts.samples import gps_fixes
from loom_core.kafka import to_message
from loom_core.topics import dead_letter_for
from loom_dagster.landing import land as land_module
from loom_dagster.landing.columnar import FastPath, fast_path
from loom_dagster.landing.land import Clients, land
from loom_dagster.landing.ranges import OffsetRange, parse_ranges
from loom_dagster.landing.rows import LAYOUTS
from loom_dagster.landing.settings import LandingSettings
from loom_dagster.landing.store import RangeOutcome
from loom_dagster.landing.upsert import Upsert
from loom_dagster.partitions import DEVICES
from loom_dagster.resources import KafkaResource, TimescaleResource
from tests.integration.landing.conftest import (
    GPS,
    as_messages,
    cursor_at_end,
    event_ids,
    land_job,
    materialization,
    pending_within,
    produce,
    ranges_of,
    rows_of,
    tick,
)


def test_gps_fixes_land_field_by_field(shared, instance, device_id):
    fixes = gps_fixes(device_id, 40, start=datetime(2024, 3, 9, 23, 59, 50, tzinfo=UTC))
    acked = produce(shared, GPS.topic.name, as_messages(fixes))
    assert len(acked) == 40
    ranges = ranges_of(acked)

    result = land_job(GPS, ranges, instance)
    assert result.success

    rows = rows_of(shared, "gps_data", device_id)
    assert len(rows) == 40
    where = {(a.partition, a.offset) for a in acked}
    for fix, row in zip(sorted(fixes, key=lambda f: f.recorded_at), rows):
        assert row["time"] == fix.recorded_at
        assert row["event_id"] == fix.event_id
        assert row["received_at"] == fix.received_at
        assert (row["latitude"], row["longitude"]) == (fix.latitude, fix.longitude)
        assert row["accuracy_m"] == pytest.approx(3.5)
        assert row["altitude_m"] == pytest.approx(35.25)
        assert (row["speed_mps"], row["bearing_deg"]) == (1.5, 90.0)
        assert row["battery_level"] == pytest.approx(0.5)
        assert row["source"] == "owntracks"
        assert (row["kafka_partition"], row["kafka_offset"]) in where

    meta = materialization(result, GPS)
    assert meta["topic"] == GPS.topic.name
    # Lag from the end offsets the run's fetches saw; nothing was produced since.
    ends = KafkaResource(bootstrap_servers=shared.kafka_bootstrap).watermarks(
        GPS.topic.name
    )
    assert meta["lag"] == sum(ends[r.partition][1] - r.end for r in ranges)
    assert meta["offset_ranges"] == [
        {"partition": r.partition, "start": r.start, "end": r.end} for r in ranges
    ]
    assert (
        meta["messages"]
        == meta["rows_inserted"] + meta["duplicates_skipped"] + meta["dead_lettered"]
    )
    # The fixes straddle midnight UTC: two day partitions for this device.
    mine = [p for p in meta["partitions_touched"] if p["device"] == device_id]
    if meta["already_landed"] == []:  # nobody else landed these offsets first
        assert mine == [
            {"day": "2024-03-09", "device": device_id},
            {"day": "2024-03-10", "device": device_id},
        ]
    assert instance.has_dynamic_partition(DEVICES.name, device_id)
    with psycopg.connect(shared.database_url) as conn:
        landed = conn.execute(
            "SELECT count(*) FROM landing_ranges WHERE topic = %s AND landed_at IS NOT NULL"
            " AND kafka_partition = %s AND start_offset <= %s AND end_offset >= %s",
            (GPS.topic.name, ranges[0].partition, ranges[0].start, ranges[0].end),
        ).fetchone()[0]
    assert landed >= 1
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert set(checks) == {"requested_ranges_landed", "dead_letter_ratio"}
    # Evaluated in the landing step itself: the run is that one step.
    assert {e.step_key for e in result.all_events if e.step_key} == {GPS.table}
    # Whether other ranges of the shared topic are pending is not ours to assert.
    assert checks["requested_ranges_landed"].metadata["pending_ranges"].value >= 0
    assert checks["dead_letter_ratio"].passed


def test_rerunning_a_range_is_a_no_op(shared, instance, device_id):
    acked = produce(shared, GPS.topic.name, as_messages(gps_fixes(device_id, 10)))
    ranges = ranges_of(acked)
    assert land_job(GPS, ranges, instance).success
    before = rows_of(shared, "gps_data", device_id)

    again = land_job(GPS, ranges, instance)
    meta = materialization(again, GPS)
    assert meta["already_landed"] == [str(r) for r in ranges]
    assert (meta["messages"], meta["rows_inserted"]) == (0, 0)
    # The replay re-announces what the range touched (a crash may have hidden it).
    assert {"day": before[0]["time"].date().isoformat(), "device": device_id} in meta[
        "partitions_touched"
    ]

    forced = materialization(land_job(GPS, ranges, instance, force=True), GPS)
    assert forced["rows_inserted"] == 0
    assert forced["duplicates_skipped"] >= 10
    assert rows_of(shared, "gps_data", device_id) == before


def test_events_posted_twice_and_replayed_points_give_one_row_each(
    shared, instance, device_id
):
    fixes = gps_fixes(device_id, 15)
    # A tracker app replaying on reconnect: the ingress derives the same id from
    # the same point (loom_core.contracts.ids), so a replay is the same event again.
    replayed = [
        fix.model_copy(
            update={
                "event_id": derived_event_id(
                    device_id,
                    fix.recorded_at,
                    "gpslogger",
                    latitude=fix.latitude,
                    longitude=fix.longitude,
                ),
                "source": "gpslogger",
            }
        )
        for fix in fixes[:5]
    ]
    first = produce(shared, GPS.topic.name, as_messages(fixes + replayed))
    twice = produce(shared, GPS.topic.name, as_messages(fixes + replayed))
    meta = materialization(land_job(GPS, ranges_of(first + twice), instance), GPS)
    expected = sorted({f.event_id for f in fixes + replayed})
    assert event_ids(shared, "gps_data", device_id) == expected
    assert meta["duplicates_skipped"] >= 20  # the second copies, in the same batch

    later = produce(shared, GPS.topic.name, as_messages(replayed))
    late = materialization(land_job(GPS, ranges_of(later), instance), GPS)
    assert late["duplicates_skipped"] >= 5
    assert event_ids(shared, "gps_data", device_id) == expected


def _dead_letters(settings, topic, start_offsets, key):
    consumer = Consumer(
        loom_kafka.consumer_config(settings.kafka_bootstrap, "test-dlq")
    )
    consumer.assign([TopicPartition(topic, p, o) for p, o in start_offsets.items()])
    found = []
    try:
        for _ in range(40):
            batch = consumer.consume(500, timeout=0.5)
            found += [m for m in batch if m.error() is None and m.key() == key]
            if len(found) >= 3:
                break
    finally:
        consumer.close()
    return found


def test_poison_goes_to_the_dead_letter_topic_and_the_batch_goes_on(
    shared, instance, device_id
):
    dlq = dead_letter_for(GPS.topic).name
    marks = KafkaResource(bootstrap_servers=shared.kafka_bootstrap).watermarks(dlq)
    fixes = gps_fixes(device_id, 5)
    poison = [
        (device_id, b"{not json", [("traceparent", b"00-x")]),
        (
            device_id,
            json.dumps({"device_id": device_id, "latitude": 95}).encode(),
            None,
        ),
        (
            device_id,
            json.dumps({"schema_version": 9, "device_id": device_id}).encode(),
            None,
        ),
    ]
    acked = produce(
        shared, GPS.topic.name, as_messages(fixes[:2]) + poison + as_messages(fixes[2:])
    )
    result = land_job(GPS, ranges_of(acked), instance)
    assert result.success
    assert event_ids(shared, "gps_data", device_id) == sorted(f.event_id for f in fixes)
    meta = materialization(result, GPS)
    assert meta["dead_lettered"] >= 3
    assert {"not_json", "schema_invalid", "unknown_schema_version"} <= set(
        meta["dead_letter_reasons"]
    )
    ratio = {e.check_name: e for e in result.get_asset_check_evaluations()}[
        "dead_letter_ratio"
    ]
    assert not ratio.passed  # 3 of 8 messages: over 1 %, a warning
    assert ratio.severity == dg.AssetCheckSeverity.WARN
    assert ratio.metadata["dead_lettered"].value == meta["dead_lettered"]

    letters = _dead_letters(
        shared, dlq, {p: high for p, (_, high) in marks.items()}, device_id.encode()
    )
    by_value = {m.value(): dict(m.headers()) for m in letters}
    sources = {a.value: a for a in acked}
    assert set(by_value) == {value for _, value, _ in poison}
    for value, headers in by_value.items():
        source = sources[value]
        assert headers["source_topic"] == GPS.topic.name.encode()
        assert headers["source_partition"] == str(source.partition).encode()
        assert headers["source_offset"] == str(source.offset).encode()
    assert by_value[b"{not json"]["dead_letter_reason"] == b"not_json"
    assert by_value[b"{not json"]["traceparent"] == b"00-x"
    reasons = {h["dead_letter_reason"] for h in by_value.values()}
    assert reasons == {b"not_json", b"schema_invalid", b"unknown_schema_version"}
    invalid = next(
        h for h in by_value.values() if h["dead_letter_reason"] == b"schema_invalid"
    )
    assert b"latitude" in invalid["dead_letter_detail"]


def _one_of_each(device_id):
    at = datetime.now(UTC) - timedelta(minutes=5)
    common = {"device_id": device_id, "recorded_at": at}
    return {
        "accelerometer": AccelerometerSample(**common, x=0.1, y=-9.8, z=0.2),
        "heartrate": HeartRate(**common, bpm=61, confidence=0.9),
        "steps": Steps(**common, count=120, interval_s=60),
        "power": PowerState(**common, battery_level=0.42, charging=True, source="usb"),
        "audio": AudioChunk(
            **common,
            sample_rate=16000,
            stream_id="s1",
            sequence=3,
            data=b"\x01\x02" * 800,
        ),
        "camera": CameraFrame(
            **common,
            images=[
                FrameImage(camera="front", data=b"\xff\xd8front"),
                FrameImage(
                    camera="back", content_type="image/png", data=b"\x89PNGback"
                ),
            ],
            pair_id="pair-1",
            pairing="paired",
        ),
        "screenshot": Screenshot(
            **common, data=b"\x89PNGshot", app="editor", window_title="notes.md"
        ),
    }


def test_every_family_lands_with_its_bytes(shared, instance, device_id):
    for name, event in _one_of_each(device_id).items():
        fam = FAMILIES[name]
        acked = produce(shared, fam.topic.name, as_messages([event]))
        assert land_job(fam, ranges_of(acked), instance).success, name
        (row,) = rows_of(shared, fam.table, device_id)
        assert row["event_id"] == event.event_id
        assert row["time"] == event.recorded_at
        layout = LAYOUTS[name]
        expected = dict(zip(layout.columns, layout.row(event, 0, 0)))
        for column, value in expected.items():
            if column in {"kafka_partition", "kafka_offset"}:
                continue
            got = row[column]
            got = bytes(got) if isinstance(got, memoryview) else got
            assert (
                got == pytest.approx(value)
                if isinstance(value, float)
                else got == value
            ), (
                name,
                column,
            )


def test_layouts_match_the_migrated_tables(shared):
    with psycopg.connect(shared.database_url) as conn:
        for name, layout in LAYOUTS.items():
            table = FAMILIES[name].table
            columns = dict(
                conn.execute(
                    "SELECT column_name, udt_name FROM information_schema.columns"
                    " WHERE table_name = %s AND table_schema = 'public'",
                    (table,),
                ).fetchall()
            )
            assert set(columns) == {*layout.columns, "landed_at"}, table
            assert {c: columns[c] for c in layout.columns} == dict(
                zip(layout.columns, layout.types)
            ), table


def test_sensor_requests_exact_ranges_and_recovers_a_lost_run(
    shared, instance, device_id, use_stack
):
    use_stack(shared, recover_after_s="1")
    cursor = cursor_at_end(shared, GPS)
    acked = produce(shared, GPS.topic.name, as_messages(gps_fixes(device_id, 12)))
    first = tick(GPS, instance, cursor)
    requested = [
        r for q in first.run_requests for r in parse_ranges(q.tags["loom/ranges"])
    ]
    for message in acked:
        assert any(
            r.partition == message.partition and r.start <= message.offset < r.end
            for r in requested
        ), "every new offset is in a requested range"
    for request in first.run_requests:
        key = f"{GPS.topic.name}|{request.tags['loom/ranges']}"
        if request.tags.get("loom/recovery"):  # a stale range of the shared topic
            assert request.run_key.startswith(key + "|recovery-")
        else:
            assert request.run_key == key
    new_cursor = json.loads(first.cursor)
    for message in acked:
        assert new_cursor[str(message.partition)] > message.offset
    (observation,) = first.asset_events
    assert observation.asset_key.path == ["gps_data"]
    assert observation.metadata["lag"].value == 0
    assert observation.metadata["runs_requested"].value == len(first.run_requests)

    # The runs are never launched (a daemon crash, a run that failed for good).
    assert pending_within(shared, GPS, ranges_of(acked))
    assert rows_of(shared, "gps_data", device_id) == []

    time.sleep(1.5)
    second = tick(GPS, instance, first.cursor)
    recovery = [r for r in second.run_requests if r.tags.get("loom/recovery") == "true"]
    assert recovery, "the unlanded ranges are requested again"
    assert all("|recovery-" in r.run_key for r in recovery)
    from loom_dagster.definitions import defs  # noqa: PLC0415

    # Run everything the tick asked for (new ranges too): leave nothing pending.
    for request in second.run_requests:
        defs.resolve_job_def("land_gps_data").execute_in_process(
            run_config=request.run_config, instance=instance, tags=request.tags
        )
    assert event_ids(shared, "gps_data", device_id) == sorted(
        uuid.UUID(json.loads(a.value)["event_id"]) for a in acked
    )
    assert pending_within(shared, GPS, ranges_of(acked)) == []


def clients_of(settings):
    kafka = KafkaResource(bootstrap_servers=settings.kafka_bootstrap)
    return Clients(
        connect=TimescaleResource(database_url=settings.database_url).connect,
        consumer=lambda: kafka.consumer("loom-landing"),
        producer=kafka.producer,
        watermarks=kafka.watermarks,
    )


@pytest.mark.parametrize("columnar", [False, True])
def test_a_run_decodes_with_the_collector_paused(
    shared, device_id, monkeypatch, columnar
):
    acked = produce(shared, GPS.topic.name, as_messages(gps_fixes(device_id, 3)))
    collecting = []
    # Each message is decoded by pydantic, or each batch split by the fast path.
    owner, name = (FastPath, "split") if columnar else (land_module, "decode")
    original = getattr(owner, name)

    def spy(*args):
        collecting.append(gc.isenabled())
        return original(*args)

    monkeypatch.setattr(owner, name, spy)
    assert gc.isenabled()
    land(
        GPS,
        ranges_of(acked),
        clients=clients_of(shared),
        settings=LandingSettings(columnar=columnar),
        run_id=f"test-{uuid.uuid4()}",
    )
    assert len(rows_of(shared, "gps_data", device_id)) == 3
    assert len(collecting) >= (1 if columnar else 3)  # other tests' messages too
    assert not any(collecting)
    assert gc.isenabled()  # as it was before the run


def test_the_landing_span_links_every_ingest_trace(shared, device_id):
    fixes = gps_fixes(device_id, 6)
    acked = produce(shared, GPS.topic.name, as_messages(fixes, traced=True))
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    outcome = land(
        GPS,
        ranges_of(acked),
        clients=clients_of(shared),
        settings=LandingSettings(),
        run_id=f"test-{uuid.uuid4()}",
        provider=provider,
        force=True,
    )
    assert outcome.total("messages") >= 6
    (span,) = exporter.get_finished_spans()
    assert span.name == "land gps_data"
    linked = {format(link.context.span_id, "016x") for link in span.links}
    assert {format(i, "016x") for i in range(1, 7)} <= linked
    assert span.attributes["messaging.destination.name"] == GPS.topic.name


def test_audio_bytes_survive_base64_in_kafka(shared, instance, device_id):
    pcm = bytes(range(256)) * 8
    chunk = AudioChunk(
        device_id=device_id, recorded_at=datetime.now(UTC), sample_rate=8000, data=pcm
    )
    value = chunk.model_dump_json().encode()
    assert base64.b64encode(pcm) in value  # bytes travel as base64 in JSON
    acked = produce(shared, FAMILIES["audio"].topic.name, [(device_id, value, None)])
    assert land_job(FAMILIES["audio"], ranges_of(acked), instance).success
    (row,) = rows_of(shared, "audio_chunks", device_id)
    assert bytes(row["pcm"]) == pcm
    assert row["duration_s"] == pytest.approx(len(pcm) / 2 / 8000)


def test_chunked_upsert_counts_exactly_what_each_range_inserted(shared, device_id):
    fixes = gps_fixes(device_id, 7, start=datetime(2024, 6, 1, 23, 59, 57, tzinfo=UTC))
    layout = LAYOUTS["gps"]
    first, second = OffsetRange(0, 100, 104), OffsetRange(1, 50, 53)
    outcomes = [RangeOutcome(first), RangeOutcome(second)]
    rows = [layout.row(f, 0, 100 + i) for i, f in enumerate(fixes[:4])] + [
        layout.row(f, 1, 50 + i) for i, f in enumerate(fixes[4:])
    ]
    again = layout.row(fixes[1], 1, 52)  # a duplicate, in another chunk and range
    with (
        psycopg.connect(shared.database_url) as conn,
        conn.transaction(),
        Upsert(
            conn, "gps_data", layout, outcomes, chunk_rows=3, chunk_bytes=250
        ) as upsert,
    ):
        for row in [*rows[:6], again]:
            upsert.write(row, size=100)  # chunks of 3 rows, or 250 bytes
    assert [o.rows_inserted for o in outcomes] == [4, 2]
    assert outcomes[0].touched == {("2024-06-01", device_id), ("2024-06-02", device_id)}
    assert outcomes[1].touched == {("2024-06-02", device_id)}
    assert len(rows_of(shared, "gps_data", device_id)) == 6


def test_a_chunk_meeting_a_row_already_in_the_table_inserts_the_others(
    shared, device_id
):
    # The plain INSERT of the chunk fails on the existing row; the chunk and the
    # rest of the run must still land through ON CONFLICT DO NOTHING.
    layout = LAYOUTS["gps"]
    fixes = gps_fixes(device_id, 6)
    rows = [layout.row(f, 0, i) for i, f in enumerate(fixes)]
    _upsert_all(shared.database_url, [rows[1]], RangeOutcome(OffsetRange(0, 1, 2)))

    outcome = RangeOutcome(OffsetRange(0, 0, 6))
    with (
        psycopg.connect(shared.database_url) as conn,
        conn.transaction(),
        Upsert(conn, "gps_data", layout, [outcome], chunk_rows=3) as upsert,
    ):
        for row in rows:
            upsert.write(row)
    assert outcome.rows_inserted == 5  # rows 0 and 2, then 3-5 in a later chunk
    assert event_ids(shared, "gps_data", device_id) == sorted(f.event_id for f in fixes)


def test_a_chunk_holding_the_same_event_twice_inserts_it_once(shared, device_id):
    layout = LAYOUTS["gps"]
    fixes = gps_fixes(device_id, 3)
    # The same event at offsets 0 and 3 (posted twice), all in the first chunk.
    rows = [layout.row(f, 0, i) for i, f in enumerate(fixes)]
    rows.append(layout.row(fixes[0], 0, 3))
    outcome = RangeOutcome(OffsetRange(0, 0, 4))
    _upsert_all(shared.database_url, rows, outcome, chunk_rows=10)
    assert outcome.rows_inserted == 3
    landed = rows_of(shared, "gps_data", device_id)
    assert [r["event_id"] for r in landed] == [f.event_id for f in fixes]
    assert outcome.touched == {
        (fixes[0].recorded_at.date().isoformat(), device_id),
        (fixes[-1].recorded_at.date().isoformat(), device_id),
    }


def _upsert_all(database_url, rows, outcome, chunk_rows=2):
    with (
        psycopg.connect(database_url) as conn,
        conn.transaction(),
        Upsert(
            conn, "gps_data", LAYOUTS["gps"], [outcome], chunk_rows=chunk_rows
        ) as upsert,
    ):
        for row in rows:
            upsert.write(row)


def test_a_chunk_that_fails_rolls_back_the_chunks_before_it(shared, device_id):
    layout = LAYOUTS["gps"]
    rows = [layout.row(f, 0, i) for i, f in enumerate(gps_fixes(device_id, 4))]
    bad = list(rows[3])
    bad[layout.columns.index("latitude")] = 91.0  # the table's CHECK refuses it
    rows[3] = tuple(bad)
    outcome = RangeOutcome(OffsetRange(0, 0, 4))
    with pytest.raises(psycopg.errors.CheckViolation):
        _upsert_all(shared.database_url, rows, outcome)
    assert rows_of(shared, "gps_data", device_id) == []


def _edge_messages(device_id: str, now: datetime) -> list[bytes]:
    """GPS values at the edges of what a column stores, and poison among them."""
    fixes = [
        GpsFix(
            device_id=device_id,
            event_id=uuid.UUID(int=i + 1),
            recorded_at=now - timedelta(days=3, seconds=i, microseconds=7 * i),
            latitude=lat,
            longitude=lon,
            accuracy_m=acc,
            altitude_m=alt,
            speed_mps=None if i % 3 else 0.1,
            bearing_deg=360.0 if i % 2 else None,
            battery_level=1 / 3,
            source=["", "owntracks", "émoji ✓, a,b", 'quote"d', None][i % 5],
            received_at=now,
        )
        for i, (lat, lon, acc, alt) in enumerate(
            [
                (-90.0, -180.0, 0.0, -0.0),
                (90.0, 180.0, 1e7, -2e4),  # the contract's bounds
                (5e-324, 1e-300, 1e-45, 1.17549435e-38),
                (48.85661400000001, 2.3522219, 0.1, 1e6),
                (0.1 + 0.2, -0.0, 9999999.5, 123456.789),  # 4-byte floats round
            ]
        )
    ]
    values = [to_message(f)[2] for f in fixes]
    # Another zone and a whole second: the same instant, another spelling.
    values.append(
        values[0]
        .replace(
            b'"event_id":"00000000-0000-0000-0000-000000000001"',
            b'"event_id":"00000000-0000-0000-0000-0000000000aa"',
        )
        .replace(b'"source":""', b'"source":"zone"')
    )
    moment = (now - timedelta(days=2)).replace(microsecond=0)
    values.append(
        values[-1]
        .replace(b'"source":"zone"', b'"source":"zone2"')
        .replace(b"0000000000aa", b"0000000000bb")
    )
    values[-1] = json.dumps(
        {
            **json.loads(values[-1]),
            "recorded_at": moment.astimezone(
                timezone(timedelta(hours=5, minutes=30))
            ).isoformat(),
        },
        separators=(",", ":"),
    ).encode()
    values += [b"not json", values[1].replace(b'"latitude":90.0', b'"latitude":90.5')]
    return values


def test_the_columnar_and_pydantic_paths_land_the_same_table_rows(shared, device_id):
    """The same messages, landed once each way, give the same rows and poison."""
    landed, now = {}, datetime.now(UTC)
    # What the fast path vouches for: all but the escaped string and the poison.
    values = _edge_messages(device_id, now)
    rows, rest = fast_path(GPS).split(values, 0, list(range(len(values))), now)
    assert (rows.height, rest) == (6, [3, 7, 8])
    for columnar in (False, True):
        device = f"{device_id}-{int(columnar)}"
        acked = produce(
            shared,
            GPS.topic.name,
            [(device.encode(), v, None) for v in _edge_messages(device, now)],
            partition=0,
        )
        outcome = land(
            GPS,
            ranges_of(acked),
            clients=clients_of(shared),
            settings=LandingSettings(columnar=columnar),
            run_id=f"test-{uuid.uuid4()}",
        )
        first = min(a.offset for a in acked)
        rows = [
            {
                **row,
                "device_id": None,
                "landed_at": None,
                "kafka_offset": row["kafka_offset"] - first,
            }
            for row in rows_of(shared, "gps_data", device)
        ]
        landed[columnar] = (
            rows,
            outcome.total("dead_lettered"),
            outcome.poison_reasons,
        )
    assert len(landed[True][0]) == 7
    assert landed[True] == landed[False]
    assert landed[True][1] == 2


def _frames_of(fixes, chunk: int) -> list:
    """The fast path's frames of ``fixes`` at offsets 0.., ``chunk`` rows each."""
    values = [to_message(f)[2] for f in fixes]
    frames = []
    for start in range(0, len(values), chunk):
        part = values[start : start + chunk]
        frame, rest = fast_path(GPS).split(
            part, 0, list(range(start, start + len(part))), datetime.now(UTC)
        )
        assert rest == []
        frames.append(frame)
    return frames


@pytest.mark.parametrize("existing", [[], [1], [0, 4]])
def test_frames_land_each_row_once_straight_or_through_staging(
    shared, device_id, existing
):
    # A frame of new rows is COPYed straight into the table; one meeting a row
    # already there goes through staging and ON CONFLICT, and so does the rest.
    fixes = gps_fixes(device_id, 6, start=datetime(2024, 3, 9, 23, 59, 57, tzinfo=UTC))
    layout = LAYOUTS["gps"]
    for i in existing:
        _upsert_all(
            shared.database_url,
            [layout.row(fixes[i], 0, i)],
            RangeOutcome(OffsetRange(0, i, i + 1)),
        )
    outcomes = [RangeOutcome(OffsetRange(0, 0, 2)), RangeOutcome(OffsetRange(0, 2, 6))]
    with (
        psycopg.connect(shared.database_url) as conn,
        conn.transaction(),
        Upsert(conn, "gps_data", layout, outcomes, chunk_rows=3) as upsert,
    ):
        for frame in _frames_of(fixes, 3):
            upsert.write_frame(frame)
    inserted = [o.rows_inserted for o in outcomes]
    assert inserted == [
        2 - sum(i < 2 for i in existing),
        4 - sum(i >= 2 for i in existing),
    ]
    landed = rows_of(shared, "gps_data", device_id)
    assert [r["event_id"] for r in landed] == [f.event_id for f in fixes]
    # Offsets 0-2 are on 2024-03-09, 3-5 on 2024-03-10 (UTC).
    new = [i for i in range(6) if i not in existing]
    touched = outcomes[0].touched | outcomes[1].touched
    days = {("2024-03-09" if i < 3 else "2024-03-10", device_id) for i in new}
    assert touched == days
    assert outcomes[0].touched == {("2024-03-09", device_id) for i in new if i < 2}

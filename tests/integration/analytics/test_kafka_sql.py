"""The kafka catalog reads what was just produced; ingest_freshness.sql joins both."""

import json
import uuid
from datetime import UTC, datetime, timedelta

from confluent_kafka import Producer

from loom_core import kafka, topics
from loom_core.contracts import GpsFix
from tests.integration.analytics.conftest import audio_chunk, gps_fix, insert


def produce(settings, topic, events, timestamps=None):
    """Produce contract events keyed by device; wait for every acknowledgement."""
    producer = Producer(kafka.producer_config(settings.kafka_bootstrap))
    errors = []
    for i, event in enumerate(events):
        extra = (
            {"timestamp": int(timestamps[i].timestamp() * 1000)} if timestamps else {}
        )
        producer.produce(
            topic.name,
            key=event.device_id.encode(),
            value=event.model_dump_json().encode(),
            on_delivery=lambda err, _msg: errors.append(err),
            **extra,
        )
    assert producer.flush(10) == 0
    assert errors == [None] * len(events)


def test_kafka_catalog_reads_an_event_just_produced(settings, devices, loom_sql):
    me = devices()
    fix = GpsFix(
        device_id=me,
        recorded_at=datetime(2024, 3, 4, 12, 30, 15, 250000, tzinfo=UTC),
        latitude=52.520008,
        longitude=13.404954,
        accuracy_m=4.5,
        speed_mps=1.25,
        source="owntracks",
    )
    produce(settings, topics.GPS_RAW, [fix])
    # the JSON decoder keeps milliseconds
    received_ms = fix.received_at.replace(
        microsecond=fix.received_at.microsecond // 1000 * 1000
    )
    rows = loom_sql(
        "SELECT _key, event_id, device_id, recorded_at, received_at, latitude, longitude,"
        " accuracy_m, altitude_m, speed_mps, bearing_deg, battery_level, source,"
        " schema_version FROM kafka.raw.gps_data"
        # a lower bound on _timestamp lets Trino seek instead of reading the topic
        " WHERE _key = :device AND _timestamp > now() - INTERVAL '2' MINUTE",
        device=me,
    )
    assert rows == [
        {
            "_key": me,
            "event_id": str(fix.event_id),
            "device_id": me,
            "recorded_at": "2024-03-04T12:30:15.250000+00:00",
            "received_at": received_ms.isoformat(timespec="microseconds"),
            "latitude": 52.520008,
            "longitude": 13.404954,
            "accuracy_m": 4.5,
            "altitude_m": None,
            "speed_mps": 1.25,
            "bearing_deg": None,
            "battery_level": None,
            "source": "owntracks",
            "schema_version": 1,
        }
    ]


def test_kafka_catalog_reads_an_enriched_segment_just_produced(
    settings, devices, loom_sql
):
    """A stay as the gps_tracks asset republishes it (EnrichedRow.message())."""
    me = devices()
    segment_id = str(uuid.uuid4())
    message = {
        "schema_version": 1,
        "op": "upsert",
        "time": "2024-03-04T08:00:00Z",
        "device_id": me,
        "day": "2024-03-04",
        "segment_id": segment_id,
        "kind": "stay",
        "end_time": "2024-03-04T09:30:00.125000Z",
        "duration_s": 5400.125,
        "point_count": 42,
        "centroid_lat": 52.52,
        "centroid_lon": 13.405,
        "distance_m": 0.0,
        "mean_speed_mps": 0.0,
        "place_name": "Berlin",
        "place_admin": "Land Berlin",
        "place_country": "DE",
        "algorithm": "stay-points/1",
    }
    producer = Producer(kafka.producer_config(settings.kafka_bootstrap))
    producer.produce(
        topics.GPS_TRACK_SEGMENTS.name,
        key=me.encode(),
        value=json.dumps(message).encode(),
    )
    assert producer.flush(10) == 0
    rows = loom_sql(
        "SELECT * FROM kafka.enriched.gps_tracks"
        " WHERE _key = :device AND _timestamp > now() - INTERVAL '2' MINUTE",
        device=me,
    )
    assert rows == [
        {
            **message,
            "time": "2024-03-04T08:00:00+00:00",
            "end_time": "2024-03-04T09:30:00.125000+00:00",
        }
    ]


def landed(device, received, delay_s):
    return gps_fix(device, received, landed_at=received + timedelta(seconds=delay_s))


def test_ingest_freshness_per_topic(settings, db, devices, loom_sql):
    """A 10-minute window ending a few minutes ago (Kafka refuses future times).

    Trino reads each topic from the window's start to its end, so a short, recent
    window keeps the read small on a busy shared topic.
    """
    me = devices()
    as_of = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=3)

    def ago(minutes, seconds=0):
        return as_of - timedelta(minutes=minutes, seconds=seconds)

    insert(
        db,
        "gps_data",
        [
            landed(me, ago(8), 2),
            landed(me, ago(6), 5),
            landed(me, ago(4), 3),
            landed(me, ago(20), 10),  # landed before the window
            landed(me, ago(-2), 1),  # landed after as_of
        ],
    )
    insert(db, "audio_chunks", [audio_chunk(me, ago(5), 1, landed_at=ago(5, -30))])
    produced_at = [ago(15), ago(6), ago(3), ago(-2)]
    produce(
        settings,
        topics.GPS_RAW,
        [
            GpsFix(device_id=me, recorded_at=t, latitude=1, longitude=2)
            for t in produced_at
        ],
        timestamps=produced_at,
    )
    rows = loom_sql(
        "ingest_freshness", device_id=me, as_of=as_of.isoformat(), window_minutes=10
    )
    by_table = {r["table_name"]: r for r in rows}
    assert [r["topic"] for r in rows] == sorted(t.name for t in topics.RAW_TOPICS)
    assert by_table["gps_data"] == {
        "topic": topics.GPS_RAW.name,
        "table_name": "gps_data",
        "messages": 2,
        "newest_message_at": ago(3).isoformat(),
        "rows_landed": 3,
        "landing_p50_s": 3.0,
        "landing_p95_s": 5.0,
        "newest_recorded_at": ago(4).isoformat(),
        "newest_received_at": ago(4).isoformat(),
        "newest_landed_at": ago(4, -3).isoformat(),
        "seconds_since_landed": 237.0,
        "landing_lag_s": 60.0,
    }
    audio = by_table["audio_chunks"]
    assert (audio["messages"], audio["newest_message_at"], audio["landing_lag_s"]) == (
        0,
        None,
        None,
    )
    assert (audio["rows_landed"], audio["landing_p50_s"], audio["landing_p95_s"]) == (
        1,
        30.0,
        30.0,
    )
    for table in set(by_table) - {"gps_data", "audio_chunks"}:
        assert by_table[table]["messages"] == 0
        assert by_table[table]["rows_landed"] == 0
        assert by_table[table]["newest_landed_at"] is None

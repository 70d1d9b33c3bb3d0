"""The stack's servers are real: Kafka, TimescaleDB, Redis and Trino do real work."""

import time
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import redis
import trino
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from loom_core import kafka as loom_kafka
from loom_core import topics


def test_every_catalog_topic_exists(settings):
    existing = AdminClient({"bootstrap.servers": settings.kafka_bootstrap}).list_topics(
        timeout=5
    )
    assert set(topics.CATALOG) <= set(existing.topics)


def test_produce_and_consume_with_a_committed_consumer_group(settings):
    topic = f"test.stack.roundtrip.t{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap})
    admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])[
        topic
    ].result()
    try:
        producer = Producer(loom_kafka.producer_config(settings.kafka_bootstrap))
        acked = []
        for i in range(5):
            producer.produce(
                topic,
                key=b"dev",
                value=f"m{i}".encode(),
                on_delivery=lambda err, msg: acked.append((err, msg.offset())),
            )
        assert producer.flush(10) == 0
        assert [err for err, _ in acked] == [None] * 5

        group = f"test-group-{uuid.uuid4().hex[:8]}"
        consumer = Consumer(loom_kafka.consumer_config(settings.kafka_bootstrap, group))
        consumer.subscribe([topic])
        seen = []
        deadline = time.monotonic() + 30
        while len(seen) < 3 and time.monotonic() < deadline:
            msg = consumer.poll(1.0)
            if msg is not None and msg.error() is None:
                seen.append(msg)
        assert [m.value() for m in seen] == [b"m0", b"m1", b"m2"]
        consumer.commit(message=seen[-1], asynchronous=False)
        consumer.close()

        # A new member of the same group resumes after the committed offset.
        again = Consumer(loom_kafka.consumer_config(settings.kafka_bootstrap, group))
        committed = again.committed([TopicPartition(topic, 0)], timeout=10)
        assert committed[0].offset == 3
        again.subscribe([topic])
        msg = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            msg = again.poll(1.0)
            if msg is not None and msg.error() is None:
                break
            assert msg is None or msg.error().code() == KafkaError._PARTITION_EOF
        assert msg is not None
        assert msg.value() == b"m3"
        again.close()
    finally:
        admin.delete_topics([topic])


def test_hypertable_with_daily_chunks_and_time_bucket(settings):
    table = f"test_ht_{uuid.uuid4().hex[:8]}"
    start = datetime(2024, 3, 1, tzinfo=UTC)
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute(
            f"CREATE TABLE {table} (time timestamptz NOT NULL, v double precision)"
        )
        try:
            conn.execute(
                "SELECT create_hypertable(%s, 'time', chunk_time_interval => INTERVAL '1 day')",
                (table,),
            )
            with conn.cursor().copy(f"COPY {table} (time, v) FROM STDIN") as copy:
                for hour in range(72):
                    copy.write_row((start + timedelta(hours=hour), hour))
            chunks = conn.execute(
                "SELECT count(*) FROM timescaledb_information.chunks WHERE hypertable_name = %s",
                (table,),
            ).fetchone()[0]
            assert chunks == 3
            interval = conn.execute(
                "SELECT time_interval FROM timescaledb_information.dimensions"
                " WHERE hypertable_name = %s",
                (table,),
            ).fetchone()[0]
            assert interval == timedelta(days=1)
            rows = conn.execute(
                f"SELECT time_bucket('1 day', time) AS day, count(*), sum(v)"
                f" FROM {table} GROUP BY day ORDER BY day"
            ).fetchall()
            assert [(r[1], r[2]) for r in rows] == [(24, 276), (24, 852), (24, 1428)]
            assert rows[0][0] == start
        finally:
            conn.execute(f"DROP TABLE {table}")


def test_redis_key_expires_after_its_ttl(settings):
    client = redis.Redis.from_url(settings.redis_url)
    key = f"pair:test-{uuid.uuid4().hex[:8]}:0"
    client.set(key, b"frame", ex=1)
    assert client.get(key) == b"frame"
    assert 0 < client.ttl(key) <= 1
    time.sleep(1.3)
    assert client.get(key) is None


def test_trino_reads_a_timescaledb_table(settings):
    table = f"test_trino_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {table} (device_id text, n integer)")
        conn.execute(f"INSERT INTO {table} VALUES ('a', 1), ('a', 2), ('b', 40)")
        try:
            url = settings.trino_url.removeprefix("http://")
            host, port = url.split(":")
            cursor = trino.dbapi.connect(
                host=host,
                port=int(port),
                user="loom",
                catalog="timescale",
                schema="public",
            ).cursor()
            cursor.execute(
                f"SELECT device_id, sum(n) FROM {table} GROUP BY device_id ORDER BY 1"
            )
            assert cursor.fetchall() == [["a", 3], ["b", 40]]
        finally:
            conn.execute(f"DROP TABLE {table}")

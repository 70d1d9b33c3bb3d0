"""`loom import` writes validated history to the real Kafka, with stable ids."""

import json
import time

from click.testing import CliRunner
from confluent_kafka import Consumer, TopicPartition

from loom_cli.main import cli
from loom_core import kafka as loom_kafka
from loom_core import topics
from loom_core.contracts import schemas


def gpx_file(tmp_path, points: int):
    rows = "".join(
        f'<trkpt lat="{52.5 + i / 1000}" lon="13.4"><time>2024-05-01T08:{i:02d}:00Z</time></trkpt>'
        for i in range(points)
    )
    path = tmp_path / "walk.gpx"
    path.write_text(
        '<gpx version="1.1" creator="t" xmlns="http://www.topografix.com/GPX/1/1">'
        f'<trk><trkseg>{rows}<trkpt lat="95" lon="13.4"><time>2024-05-01T09:00:00Z'
        "</time></trkpt></trkseg></trk></gpx>"
    )
    return path


def end_offsets(consumer, topic):
    meta = consumer.list_topics(topic.name, timeout=5).topics[topic.name]
    return {
        p: consumer.get_watermark_offsets(TopicPartition(topic.name, p), timeout=5)[1]
        for p in meta.partitions
    }


def read_device(consumer, topic, start: dict[int, int], device_id: str, want: int):
    consumer.assign([TopicPartition(topic.name, p, o) for p, o in start.items()])
    found, deadline = [], time.monotonic() + 30
    while len(found) < want and time.monotonic() < deadline:
        msg = consumer.poll(0.5)
        if msg is not None and msg.error() is None and msg.key() == device_id.encode():
            found.append(json.loads(msg.value()))
    return found


def test_import_writes_valid_events_and_a_rerun_reuses_their_ids(
    settings, tmp_path, device_id
):
    path = gpx_file(tmp_path, points=5)
    consumer = Consumer(
        loom_kafka.consumer_config(settings.kafka_bootstrap, "t-import")
    )
    start = end_offsets(consumer, topics.GPS_RAW)

    result = CliRunner().invoke(cli, ["import", str(path), "--device", device_id])
    assert result.exit_code == 0, result.output
    assert "5 accepted and acknowledged by Kafka, 1 rejected, 0 failed" in result.output
    assert "rejected 1 (trkpt 6, ...): latitude: Input should be less" in result.output

    first = read_device(consumer, topics.GPS_RAW, start, device_id, want=5)
    assert [m["latitude"] for m in sorted(first, key=lambda m: m["recorded_at"])] == [
        52.5,
        52.501,
        52.502,
        52.503,
        52.504,
    ]
    assert {m["source"] for m in first} == {"gpx"}
    validator = schemas.validator("gps")
    assert all(not list(validator.iter_errors(m)) for m in first)

    again = CliRunner().invoke(cli, ["import", str(path), "--device", device_id])
    assert again.exit_code == 0
    both = read_device(consumer, topics.GPS_RAW, start, device_id, want=10)
    consumer.close()
    assert len(both) == 10
    assert {m["event_id"] for m in both} == {m["event_id"] for m in first}


def test_a_malformed_file_is_one_clear_line(tmp_path, device_id):
    path = tmp_path / "Records.json"
    path.write_text('{"locations": [ {"latitudeE7": 1,, } ]}')
    result = CliRunner().invoke(cli, ["import", str(path), "--device", device_id])
    assert result.exit_code == 2
    assert "stopped: Records.json: not valid JSON (parse error" in result.output
    assert "Traceback" not in result.output


def test_a_zip_prints_a_line_per_file_and_names_what_it_skipped(tmp_path, device_id):
    import zipfile  # noqa: PLC0415

    path = tmp_path / "export.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.write(gpx_file(tmp_path, points=2), "tracks/walk.gpx")
        archive.writestr("tracks/readme.txt", "my tracks")
    result = CliRunner().invoke(cli, ["import", str(path), "--device", device_id])
    assert result.exit_code == 0, result.output
    assert (
        f"export.zip/tracks/walk.gpx (gpx) for {device_id}: 2 accepted" in result.output
    )
    assert "export.zip/tracks/readme.txt: skipped, not a location history format" in (
        result.output
    )


def test_a_file_of_no_known_format_asks_for_format(tmp_path, device_id):
    path = tmp_path / "notes.json"
    path.write_text('{"shopping": ["milk"]}')
    result = CliRunner().invoke(cli, ["import", str(path), "--device", device_id])
    assert result.exit_code == 2
    assert "cannot tell the format of notes.json from its content" in result.output
    assert "pass --format" in result.output
    assert "Traceback" not in result.output

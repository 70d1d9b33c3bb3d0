"""Import -> land -> export -> import again, against the real Kafka and TimescaleDB.

Rows are compared column by column; the second import of an export for the same
device must land nothing new, and a same-second pair at two places lands twice.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from ingest_api.history.load import inputs
from loom_cli.history.writer import Writer
from loom_cli.main import cli
from loom_dagster.landing.ranges import OffsetRange
from tests.integration.landing.conftest import GPS, land_job, rows_of
from tests.unit.history.conftest import LOCATION_HISTORY

DAY = (datetime.now(UTC) - timedelta(days=2)).replace(
    hour=8, minute=0, second=0, microsecond=0
)
KEPT = (
    "time",
    "latitude",
    "longitude",
    "accuracy_m",
    "altitude_m",
    "speed_mps",
    "bearing_deg",
    "battery_level",
    "source",
)


def rec(tmp_path: Path) -> Path:
    """An OwnTracks recorder file: a fix, another place in the same second, the
    first again (a true repeat), and a later fix."""
    tst = int(DAY.timestamp())
    base = {"_type": "location", "tid": "ph", "acc": 12, "alt": 40, "batt": 81}
    messages = [
        {**base, "lat": 52.5200001, "lon": 13.405, "tst": tst, "vel": 18, "cog": 90},
        {**base, "lat": 52.5200002, "lon": 13.405, "tst": tst},
        {**base, "lat": 52.5200001, "lon": 13.405, "tst": tst, "vel": 18, "cog": 90},
        {**base, "lat": 52.53, "lon": 13.41, "tst": tst + 60},
    ]
    stamp = DAY.strftime("%Y-%m-%dT%H:%M:%SZ")
    path = tmp_path / "phone.rec"
    path.write_text("".join(f"{stamp}\t*\t{json.dumps(m)}\n" for m in messages))
    return path


SKIPPED: Counter[str] = Counter()  # reasons of the last import_and_land


def import_and_land(settings, dagster, path: Path, device_id: str) -> int:
    """Import ``path`` for ``device_id``, land what Kafka took; return the count."""
    writer = Writer(settings.kafka_bootstrap)
    acknowledged = 0
    SKIPPED.clear()
    for item in inputs(path):
        summary = writer.write(item, device_id)
        assert summary.failed == 0
        assert summary.error is None
        acknowledged += summary.acknowledged
        SKIPPED.update(summary.reasons)
        ranges = [OffsetRange(p, s, e) for p, (s, e) in summary.offsets.items()]
        result = land_job(GPS, ranges, dagster)
        assert result.success
    return acknowledged


def kept(rows: list[dict]) -> list[tuple]:
    return sorted(tuple(row[c] for c in KEPT) for row in rows)


def test_a_same_second_pair_lands_twice_and_a_repeat_once(
    shared, instance, tmp_path, device_id
):
    assert import_and_land(shared, instance, rec(tmp_path), device_id) == 4
    landed = rows_of(shared, "gps_data", device_id)
    assert sorted((r["time"], r["latitude"]) for r in landed) == [
        (DAY, 52.5200001),
        (DAY, 52.5200002),
        (DAY + timedelta(minutes=1), 52.53),
    ]


def add_segments(settings, device_id: str) -> None:
    """A stay and a move of the device, as the gps_tracks asset writes them."""
    with psycopg.connect(settings.database_url) as conn:
        for kind, start, minutes in (("stay", DAY, 0.5), ("move", DAY, 1.0)):
            conn.execute(
                "INSERT INTO gps_tracks (time, device_id, segment_id, day, kind,"
                " end_time, duration_s, point_count, centroid_lat, centroid_lon,"
                " distance_m, mean_speed_mps, place_name, algorithm)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, 2, 52.52, 13.405, 10, 0.1,"
                " 'Caf\u00e9 & Bar', 'test')",
                (
                    start,
                    device_id,
                    uuid.uuid4(),
                    start.date(),
                    kind,
                    start + timedelta(minutes=minutes),
                    minutes * 60,
                ),
            )


SEGMENTS = {"gpx": 1, "geojson": 2, "csv": 0}  # GPX: stays only; CSV: fixes only


@pytest.mark.parametrize("fmt", ["gpx", "geojson", "csv"])
def test_export_imports_back_to_the_same_rows(
    shared, instance, tmp_path, device_id, fmt
):
    import_and_land(shared, instance, rec(tmp_path), device_id)
    add_segments(shared, device_id)
    original = rows_of(shared, "gps_data", device_id)
    out = tmp_path / f"export.{fmt}"
    day = DAY.date().isoformat()
    result = CliRunner().invoke(
        cli,
        [
            "export",
            device_id,
            "--from",
            day,
            "--to",
            day,
            "--format",
            fmt,
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    segments = SEGMENTS[fmt]
    assert f"exported 3 fixes and {segments} stays/moves of {device_id}" in (
        result.output
    )
    if segments:
        assert "Caf\u00e9" in out.read_text(encoding="utf-8")

    copy = f"{device_id}-copy"
    assert import_and_land(shared, instance, out, copy) == 3
    assert sum(SKIPPED.values()) == segments  # Loom's stays/moves: computed again
    assert all("Loom derived from fixes" in reason for reason in SKIPPED)
    assert kept(rows_of(shared, "gps_data", copy)) == kept(original)

    # the same device: the ids derive from what the file kept, nothing new lands
    import_and_land(shared, instance, out, device_id)
    assert rows_of(shared, "gps_data", device_id) == original


def test_the_real_owntracks_file_lands_each_distinct_fix(shared, instance, device_id):
    path = LOCATION_HISTORY / "owntracks_rec" / "2024-03.rec"
    if not path.exists():
        pytest.skip(f"shared fixtures not found at {LOCATION_HISTORY}")
    # 9 location records: two are the same second at other places (kept), one an
    # exact repeat (collapsed)
    assert import_and_land(shared, instance, path, device_id) == 9
    assert len(rows_of(shared, "gps_data", device_id)) == 8

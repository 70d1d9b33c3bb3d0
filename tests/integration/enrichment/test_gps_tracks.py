"""gps_tracks on a synthetic day: stays and moves as constructed, with places."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from loom_core import topics
from loom_dagster.defs.enrichment.assets.gps_tracks import gps_tracks
from loom_dagster.enrichment import samples
from loom_dagster.enrichment.messages import TrackSegment
from tests.integration.enrichment.conftest import (
    DAY,
    assert_contract,
    check_results,
    materialize,
    metadata,
    rows,
)

TOLERANCE = timedelta(minutes=3)  # a stay's 100 m radius eats the ends of a move


def land_gps(db: psycopg.Connection, device: str, fixes) -> None:
    with db.cursor() as cur:
        cur.executemany(
            "INSERT INTO gps_data (time, device_id, event_id, received_at, latitude,"
            " longitude, accuracy_m) VALUES (%s, %s, %s, now(), %s, %s, %s)",
            [(t, device, uuid.uuid4(), lat, lon, acc) for t, lat, lon, acc in fixes],
        )


@pytest.fixture
def day(db, device_id):
    synthetic = samples.gps_day(DAY)
    land_gps(db, device_id, synthetic.fixes)
    # A fix of the next day belongs to the next partition, not this one.
    land_gps(
        db, device_id, [(datetime(2024, 5, 7, 0, 0, 1, tzinfo=UTC), 0.0, 0.0, 5.0)]
    )
    return synthetic


def test_a_day_becomes_the_stays_and_moves_it_was_built_from(
    day, db, instance, resources, device_id, tail
):
    kafka = tail(topics.GPS_TRACK_SEGMENTS)
    result = materialize(gps_tracks, instance, resources, device_id)
    assert result.success
    stored = rows(db, "gps_tracks", device_id, "time")

    assert [r["kind"] for r in stored] == [leg.kind for leg in day.legs]
    for row, leg in zip(stored, day.legs):
        assert abs(row["time"] - leg.start) <= TOLERANCE
        assert abs(row["end_time"] - leg.end) <= TOLERANCE
        assert row["day"] == DAY
        assert row["algorithm"] == "stay-points-v1"
    assert [r["place_name"] for r in stored if r["kind"] == "stay"] == [
        "Cambridge",
        "Boston",
        "Cambridge",
    ]
    assert {r["place_country"] for r in stored} == {"US"}
    walk, drive = (r for r in stored if r["kind"] == "move")
    assert 1.2 <= walk["mean_speed_mps"] <= 1.8
    assert 10.0 <= drive["mean_speed_mps"] <= 14.0
    assert 4000 <= walk["distance_m"] <= 4900  # 4435 m as the crow flies
    assert all(r["distance_m"] == 0 for r in stored if r["kind"] == "stay")
    # every fix but the outlier belongs to exactly one segment
    assert sum(r["point_count"] for r in stored) == len(day.fixes) - 1

    meta = metadata(result)
    assert meta["fixes"] == len(day.fixes)
    assert meta["rejected_outliers"] == 1
    assert meta["places"] == "Cambridge, Boston"
    png = base64.b64decode(meta["map"].split("base64,")[1].rstrip(")"))
    assert png.startswith(b"\x89PNG")
    assert check_results(result) == {
        "coordinates_in_range": True,
        "speeds_plausible": True,
        "segments_do_not_overlap": True,
    }

    messages = kafka.messages(device_id)
    assert_contract(TrackSegment, messages)
    assert [m["segment_id"] for m in messages] == [str(r["segment_id"]) for r in stored]
    assert all(m["op"] == "upsert" and m["schema_version"] == 1 for m in messages)
    assert messages[0]["place_name"] == "Cambridge"


def test_a_backfill_rewrites_the_same_rows_and_republishes_the_same_ids(
    day, db, instance, resources, device_id, tail
):
    assert materialize(gps_tracks, instance, resources, device_id).success
    first = rows(db, "gps_tracks", device_id, "time")
    kafka = tail(topics.GPS_TRACK_SEGMENTS)

    again = materialize(gps_tracks, instance, resources, device_id)

    assert again.success
    assert rows(db, "gps_tracks", device_id, "time") == first
    assert metadata(again)["deleted_segments"] == 0
    republished = kafka.messages(device_id)
    assert {m["segment_id"] for m in republished} == {
        str(r["segment_id"]) for r in first
    }


def test_segments_that_no_longer_exist_are_republished_as_deletions(
    day, db, instance, resources, device_id, tail
):
    assert materialize(gps_tracks, instance, resources, device_id).success
    before = rows(db, "gps_tracks", device_id, "time")
    db.execute(
        "DELETE FROM gps_data WHERE device_id = %s AND time >= %s",
        (device_id, day.legs[2].start),
    )
    kafka = tail(topics.GPS_TRACK_SEGMENTS)

    result = materialize(gps_tracks, instance, resources, device_id)

    after = rows(db, "gps_tracks", device_id, "time")
    assert [r["kind"] for r in after] == ["stay", "move"]
    gone = {str(r["segment_id"]) for r in before} - {
        str(r["segment_id"]) for r in after
    }
    deletions = [m for m in kafka.messages(device_id) if m["op"] == "delete"]
    assert {m["segment_id"] for m in deletions} == gone
    assert metadata(result)["deleted_segments"] == len(gone)


def test_a_day_without_fixes_has_no_segments(db, instance, resources, device_id):
    result = materialize(gps_tracks, instance, resources, device_id)
    assert result.success
    assert rows(db, "gps_tracks", device_id, "time") == []
    assert metadata(result)["segments"] == 0


def test_an_implausible_day_fails_a_blocking_check_and_changes_nothing(
    db, instance, resources, device_id, tail
):
    noon = datetime(2024, 5, 6, 12, tzinfo=UTC)
    # Two fixes 1000 km apart one second apart: nothing to compare them with, so
    # cleaning keeps both and the move is impossibly fast.
    land_gps(
        db,
        device_id,
        [(noon, 48.0, 2.0, 5.0), (noon + timedelta(seconds=1), 57.0, 2.0, 5.0)],
    )
    kafka = tail(topics.GPS_TRACK_SEGMENTS)

    result = materialize(gps_tracks, instance, resources, device_id)

    assert check_results(result)["speeds_plausible"] is False
    assert not result.success  # blocking: the run fails, downstream does not run
    assert metadata(result)["committed"] is False
    assert rows(db, "gps_tracks", device_id, "time") == []  # rolled back
    assert kafka.messages(device_id) == []

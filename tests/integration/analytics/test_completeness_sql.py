"""data_completeness.sql on gps_data and audio_chunks rows seeded by hand."""

from tests.integration.analytics.conftest import at, audio_chunk, gps_fix, insert


def row(rows, day, source):
    (found,) = [r for r in rows if (r["day"], r["source"]) == (day, source)]
    return {k: v for k, v in found.items() if k not in {"device_id", "day", "source"}}


def test_data_completeness_finds_gaps_per_device_day(db, devices, loom_sql):
    me, other = devices(), devices()
    insert(
        db,
        "gps_data",
        [
            *(
                gps_fix(me, at(4, h, m))
                for h, m in ((8, 0), (8, 5), (8, 10), (9, 0), (9, 5))
            ),
            gps_fix(other, at(4, 12)),
        ],
    )
    insert(
        db,
        "audio_chunks",
        [
            # 12:00:00-12:01:30 without a pause, 90 s of silence, then 12:03-12:04
            audio_chunk(me, at(4, 12, 0, 0), 30),
            audio_chunk(me, at(4, 12, 0, 30), 30),
            audio_chunk(me, at(4, 12, 1, 0), 30),
            audio_chunk(me, at(4, 12, 3, 0), 30),
            audio_chunk(me, at(4, 12, 3, 30), 30),
            # crosses into 2024-03-06, past the end of the range
            audio_chunk(me, at(5, 23, 59, 45), 30),
        ],
    )
    rows = loom_sql(
        "data_completeness", device_id=me, start_day="2024-03-04", end_day="2024-03-05"
    )
    assert [(r["device_id"], r["day"], r["source"]) for r in rows] == [
        (me, "2024-03-04", "gps"),
        (me, "2024-03-04", "audio"),
        (me, "2024-03-05", "gps"),
        (me, "2024-03-05", "audio"),
    ]
    # GPS gaps (> 10 min): 00:00-08:00, 08:10-09:00, 09:05-24:00, all of the 5th
    assert row(rows, "2024-03-04", "gps") == {
        "samples": 5,
        "first_sample": "2024-03-04T08:00:00+00:00",
        "last_sample": "2024-03-04T09:05:00+00:00",
        "gaps": 3,
        "gap_minutes": 1425.0,
        "longest_gap_minutes": 895.0,
        "coverage": 0.01,
    }
    assert row(rows, "2024-03-05", "gps") == {
        "samples": 0,
        "first_sample": None,
        "last_sample": None,
        "gaps": 1,
        "gap_minutes": 1440.0,
        "longest_gap_minutes": 1440.0,
        "coverage": 0.0,
    }
    # audio gaps (> 60 s): 00:00-12:00, 12:01:30-12:03, 12:04 to the next day
    assert row(rows, "2024-03-04", "audio") == {
        "samples": 5,
        "first_sample": "2024-03-04T12:00:00+00:00",
        "last_sample": "2024-03-04T12:03:30+00:00",
        "gaps": 3,
        "gap_minutes": 1437.5,
        "longest_gap_minutes": 720.0,
        "coverage": 0.002,
    }
    # ... which runs on until the last chunk at 23:59:45
    assert row(rows, "2024-03-05", "audio") == {
        "samples": 1,
        "first_sample": "2024-03-05T23:59:45+00:00",
        "last_sample": "2024-03-05T23:59:45+00:00",
        "gaps": 1,
        "gap_minutes": 1439.8,
        "longest_gap_minutes": 1439.8,
        "coverage": 0.0,
    }

    # Thresholds are parameters: with 1 h for GPS, 08:10-09:00 is no longer a gap.
    lenient = loom_sql(
        "data_completeness",
        device_id=me,
        start_day="2024-03-04",
        end_day="2024-03-04",
        gps_max_gap_s=3600,
    )
    assert row(lenient, "2024-03-04", "gps")["gaps"] == 2
    assert row(lenient, "2024-03-04", "gps")["gap_minutes"] == 1375.0


def test_a_device_without_data_is_one_gap_per_day(devices, loom_sql):
    silent = devices()
    rows = loom_sql(
        "data_completeness",
        device_id=silent,
        start_day="2024-03-04",
        end_day="2024-03-05",
    )
    assert [
        (r["day"], r["source"], r["samples"], r["gaps"], r["coverage"]) for r in rows
    ] == [
        ("2024-03-04", "gps", 0, 1, 0.0),
        ("2024-03-04", "audio", 0, 1, 0.0),
        ("2024-03-05", "gps", 0, 1, 0.0),
        ("2024-03-05", "audio", 0, 1, 0.0),
    ]
    assert {r["gap_minutes"] for r in rows} == {1440.0}

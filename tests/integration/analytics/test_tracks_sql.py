"""daily_distance.sql and place_time_weekly.sql on gps_tracks rows seeded by hand."""

import time
import uuid
from datetime import UTC, datetime, timedelta

from tests.integration.analytics.conftest import at, insert


def segment(device, kind, start, minutes, distance_m=0.0, place=None):
    """A gps_tracks row; ``place`` is (name, admin, country) for stays."""
    end = start + timedelta(minutes=minutes)
    name, admin, country = place or (None, None, None)
    return {
        "time": start,
        "device_id": device,
        "segment_id": uuid.uuid4(),
        "day": start.date(),
        "kind": kind,
        "end_time": end,
        "duration_s": minutes * 60.0,
        "point_count": 10,
        "centroid_lat": 52.5,
        "centroid_lon": 13.4,
        "distance_m": distance_m,
        "mean_speed_mps": distance_m / (minutes * 60.0),
        "place_name": name,
        "place_admin": admin,
        "place_country": country,
        "algorithm": "test",
    }


HOME = ("Berlin", "Land Berlin", "DE")
OFFICE = ("Potsdam", "Brandenburg", "DE")


def test_daily_distance_sums_moves_per_day(db, devices, loom_sql):
    me, other = devices(), devices()
    insert(
        db,
        "gps_tracks",
        [
            # 2024-03-04: two moves (5 km in 30 min, 7.5 km in 45 min) between stays
            segment(me, "stay", at(4, 0), 480, place=HOME),
            segment(me, "move", at(4, 8), 30, 5000.0),
            segment(me, "stay", at(4, 8, 30), 510, place=OFFICE),
            segment(me, "move", at(4, 17), 45, 7500.0),
            # 2024-03-05: stays only
            segment(me, "stay", at(5, 0), 1440, place=HOME),
            # 2024-03-06: 1 km in 10 min
            segment(me, "move", at(6, 9), 10, 1000.0),
            # outside the range, and another device on the same day
            segment(me, "move", at(9, 9), 10, 999.0),
            segment(other, "move", at(4, 9), 60, 40000.0),
        ],
    )
    rows = loom_sql(
        "daily_distance", device_id=me, start_day="2024-03-04", end_day="2024-03-08"
    )
    assert rows == [
        {
            "device_id": me,
            "day": "2024-03-04",
            "distance_km": 12.5,
            "moving_minutes": 75.0,
            "moves": 2,
            "stays": 2,
            "mean_moving_kmh": 10.0,
        },
        {
            "device_id": me,
            "day": "2024-03-05",
            "distance_km": 0.0,
            "moving_minutes": 0.0,
            "moves": 0,
            "stays": 1,
            "mean_moving_kmh": None,
        },
        {
            "device_id": me,
            "day": "2024-03-06",
            "distance_km": 1.0,
            "moving_minutes": 10.0,
            "moves": 1,
            "stays": 0,
            "mean_moving_kmh": 6.0,
        },
    ]

    # Without a device: every device, each on its own rows.
    everyone = loom_sql("daily_distance", start_day="2024-03-04", end_day="2024-03-04")
    mine = [r for r in everyone if r["device_id"] in {me, other}]
    assert [
        (r["device_id"], r["distance_km"], r["moving_minutes"]) for r in mine
    ] == sorted([(me, 12.5, 75.0), (other, 40.0, 60.0)])


def a_day_that_lasts_the_test(margin: timedelta = timedelta(minutes=2)) -> datetime:
    """Today's midnight (UTC), after waiting out a day that ends within ``margin``.

    The query's default window ends on the server's current day: a test started a
    moment before midnight would compare it with yesterday.
    """
    now = datetime.now(UTC)
    tomorrow = (now + timedelta(days=1)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    if tomorrow - now < margin:
        time.sleep((tomorrow - now).total_seconds() + 1)
        return tomorrow
    return tomorrow - timedelta(days=1)


def test_daily_distance_defaults_to_the_last_seven_days(db, devices, loom_sql):
    me = devices()
    today = a_day_that_lasts_the_test()
    insert(
        db,
        "gps_tracks",
        [
            segment(me, "move", today, 6, 100.0),
            segment(me, "move", today - timedelta(days=6), 6, 200.0),
            segment(me, "move", today - timedelta(days=7), 6, 400.0),
        ],
    )
    rows = loom_sql("daily_distance", device_id=me)
    assert [(r["day"], r["distance_km"]) for r in rows] == [
        ((today - timedelta(days=6)).date().isoformat(), 0.2),
        (today.date().isoformat(), 0.1),
    ]


def test_place_time_weekly_sums_stays_per_place_and_week(db, devices, loom_sql):
    me, other = devices(), devices()
    insert(
        db,
        "gps_tracks",
        [
            # week of Monday 2024-03-04: home 8 h + 10 h, office 9 h + 8 h, 1 h unnamed
            segment(me, "stay", at(4, 0), 8 * 60, place=HOME),
            segment(me, "move", at(4, 8), 30, 5000.0),
            segment(me, "stay", at(4, 9), 9 * 60, place=OFFICE),
            segment(me, "stay", at(5, 0), 10 * 60, place=HOME),
            segment(me, "stay", at(5, 10), 8 * 60, place=OFFICE),
            segment(me, "stay", at(6, 12), 60),
            # week of Monday 2024-03-11: home 5 h
            segment(me, "stay", at(12, 0), 5 * 60, place=HOME),
            segment(other, "stay", at(4, 0), 24 * 60, place=HOME),
        ],
    )
    rows = loom_sql(
        "place_time_weekly", device_id=me, start_day="2024-03-04", end_day="2024-03-17"
    )
    week1, week2 = "2024-03-04", "2024-03-11"
    assert [
        (
            r["week"],
            r["place"],
            r["place_admin"],
            r["place_country"],
            r["visits"],
            r["hours"],
            r["share_of_week"],
        )
        for r in rows
    ] == [
        (week1, "Berlin", "Land Berlin", "DE", 2, 18.0, 0.5),
        (week1, "Potsdam", "Brandenburg", "DE", 2, 17.0, 0.472),
        (week1, "unknown place", None, None, 1, 1.0, 0.028),
        (week2, "Berlin", "Land Berlin", "DE", 1, 5.0, 1.0),
    ]
    assert {r["device_id"] for r in rows} == {me}

"""The gps_data_by_day view (migration 0040): a UTC day column Trino groups by in PostgreSQL."""

from datetime import UTC, datetime

from tests.integration.analytics.conftest import gps_fix, insert

QUERY = """
SELECT day, count(*) AS fixes, max(speed_mps) AS top_speed
FROM timescale.public.gps_data_by_day
WHERE device_id = :device
  AND time >= TIMESTAMP '2024-03-04 00:00:00 UTC' AND time < TIMESTAMP '2024-03-06 00:00:00 UTC'
GROUP BY day
ORDER BY day"""


def test_fixes_fall_on_their_utc_day_and_the_grouping_is_pushed_down(
    db, devices, loom_sql
):
    me = devices()
    insert(
        db,
        "gps_data",
        [
            gps_fix(me, datetime(2024, 3, 4, 0, 0, tzinfo=UTC), speed_mps=1.5),
            gps_fix(me, datetime(2024, 3, 4, 23, 59, 59, tzinfo=UTC), speed_mps=2.5),
            gps_fix(me, datetime(2024, 3, 5, 0, 0, 1, tzinfo=UTC), speed_mps=4.0),
        ],
    )
    assert loom_sql(QUERY, device=me) == [
        {"day": "2024-03-04", "fixes": 2, "top_speed": 2.5},
        {"day": "2024-03-05", "fixes": 1, "top_speed": 4.0},
    ]
    (plan,) = loom_sql("EXPLAIN " + QUERY, device=me)
    pushed = next(
        line for line in plan["Query Plan"].splitlines() if "timescale:" in line
    )
    assert "timescale:Query[SELECT" in pushed
    assert "GROUP BY" in pushed

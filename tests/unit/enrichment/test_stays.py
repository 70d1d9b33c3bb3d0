from __future__ import annotations

import itertools
from datetime import date

import numpy as np
import pytest

from loom_dagster.enrichment import samples, stays

T0 = 1_715_000_000.0


def track(rows):
    return stays.Track.from_rows(rows)


def still(n, lat=42.0, lon=-71.0, step=30.0, start=T0, jitter=0.0, seed=0):
    rng = np.random.default_rng(seed)
    return [
        (
            start + k * step,
            lat + rng.normal(0, jitter),
            lon + rng.normal(0, jitter),
            5.0,
        )
        for k in range(n)
    ]


def test_the_synthetic_day_segments_as_constructed():
    day = samples.gps_day(date(2024, 5, 6))
    raw = track([(t.timestamp(), a, b, acc) for t, a, b, acc in day.fixes])
    cleaned, rejected = stays.clean(raw)
    segments = stays.segment(cleaned)
    assert [s.kind for s in segments] == [leg.kind for leg in day.legs]
    assert rejected == stays.Rejections(outlier=1)
    assert day.outlier[0].timestamp() not in cleaned.time
    assert sum(s.point_count for s in segments) == len(cleaned)
    for seg, leg in zip(segments, day.legs):
        assert abs(seg.start - leg.start.timestamp()) <= 180
        assert abs(seg.end - leg.end.timestamp()) <= 180
    # moves and stays tile the day: each starts where the previous ended
    assert all(a.end == b.start for a, b in itertools.pairwise(segments))


def test_from_rows_sorts_by_time_and_keeps_unknown_accuracy_as_nan():
    t = track([(T0 + 10, 1.0, 2.0, None), (T0, 3.0, 4.0, 5.0)])
    assert list(t.time) == [T0, T0 + 10]
    assert np.isnan(t.accuracy_m[1])
    assert len(track([])) == 0


@pytest.mark.parametrize("n", [0, 1])
def test_fewer_than_two_fixes_make_no_segment(n):
    assert stays.segment(track(still(n))) == []


def test_a_day_at_home_is_one_stay_with_no_distance():
    (stay,) = stays.segment(track(still(40, jitter=0.0001)))
    assert stay.kind == "stay"
    assert stay.point_count == 40
    assert stay.distance_m == 0.0
    assert stay.mean_speed_mps == 0.0
    assert stay.centroid_lat == pytest.approx(42.0, abs=1e-4)


def test_steady_motion_is_one_move():
    rows = [(T0 + k * 10, 42.0 + k * 0.0001, -71.0, 5.0) for k in range(60)]
    (move,) = stays.segment(track(rows))
    assert move.kind == "move"
    assert move.point_count == 60
    assert move.distance_m == pytest.approx(59 * 11.12, rel=0.02)
    assert move.mean_speed_mps == pytest.approx(1.11, rel=0.02)


def test_a_short_pause_is_not_a_stay():
    rows = still(5, step=30)  # two minutes still, then walking away
    rows += [(T0 + 150 + k * 10, 42.0 + k * 0.0002, -71.0, 5.0) for k in range(1, 30)]
    assert [s.kind for s in stays.segment(track(rows))] == ["move"]


def test_a_move_that_leads_the_day_starts_at_its_first_fix():
    walk = [(T0 + k * 10, 41.99 + k * 0.0005, -71.0, 5.0) for k in range(20)]
    rows = walk + still(20, start=T0 + 200, lat=42.0 + 0.0005)
    kinds = [s.kind for s in stays.segment(track(rows))]
    assert kinds == ["move", "stay"]


def test_inaccurate_fixes_and_repeated_timestamps_are_dropped():
    rows = still(10)
    rows.append((T0 + 5, 43.0, -70.0, 500.0))  # a cell-tower fix
    rows.append((T0 + 30, 42.0, -71.0, 5.0))  # same time as the second fix
    cleaned, rejected = stays.clean(track(rows))
    assert rejected == stays.Rejections(inaccurate=1, duplicate=1)
    assert rejected.total == 2
    assert len(cleaned) == 10


@pytest.mark.parametrize("where", [0, 5, 9])
def test_a_spike_is_rejected_wherever_it_is(where):
    rows = still(10)
    t, lat, lon, acc = rows[where]
    rows[where] = (t, lat + 0.2, lon, acc)  # 22 km away for one fix
    cleaned, rejected = stays.clean(track(rows))
    assert rejected.outlier == 1
    assert float(cleaned.lat.max()) < 42.01


def test_two_spikes_in_a_row_are_both_rejected():
    rows = still(10)
    for k in (4, 5):
        t, lat, lon, acc = rows[k]
        rows[k] = (t, lat + 0.2, lon, acc)
    assert stays.clean(track(rows))[1].outlier == 2


def test_sustained_high_speed_is_kept():
    rows = [(T0 + k * 10, 42.0 + k * 0.02, -71.0, 5.0) for k in range(20)]  # 222 m/s
    cleaned, rejected = stays.clean(track(rows))
    assert rejected.outlier == 0
    assert len(cleaned) == 20


def test_stays_closer_than_the_radius_merge():
    rows = still(15, lat=42.0)
    # a 20-minute jitter excursion 60 m away, then back
    rows += still(40, lat=42.00054, start=T0 + 15 * 30)
    rows += still(15, lat=42.0, start=T0 + 55 * 30)
    (stay,) = stays.segment(track(rows))
    assert stay.point_count == 70


def test_four_wild_fixes_in_a_row_are_a_place_not_a_spike():
    rows = still(10)
    for k in (3, 4, 5, 6):
        t, lat, lon, acc = rows[k]
        rows[k] = (t, lat + 0.2, lon, acc)
    assert stays.clean(track(rows))[1].outlier == 0

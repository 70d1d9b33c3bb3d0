from loom_core.topics import GPS_RAW
from loom_dagster.landing.land import LandingOutcome, merged
from loom_dagster.landing.ranges import OffsetRange
from loom_dagster.landing.store import RangeOutcome, touched_list


def test_touched_list_is_sorted_unique_and_shaped_for_enrichment():
    pairs = [("2024-05-02", "b"), ("2024-05-01", "z"), ("2024-05-02", "b")]
    assert touched_list(pairs) == [
        {"day": "2024-05-01", "device": "z"},
        {"day": "2024-05-02", "device": "b"},
    ]


def test_outcome_sums_ranges_and_unions_replayed_pairs():
    first = RangeOutcome(
        OffsetRange(0, 0, 10),
        messages=10,
        valid=9,
        rows_inserted=7,
        dead_lettered=1,
        touched={("2024-05-01", "a")},
    )
    second = RangeOutcome(
        OffsetRange(1, 5, 8),
        messages=3,
        valid=3,
        rows_inserted=3,
        offsets_missing=2,
        touched={("2024-05-01", "b")},
    )
    outcome = LandingOutcome(
        GPS_RAW.name,
        "gps_data",
        [OffsetRange(1, 5, 8), OffsetRange(0, 0, 10)],
        landed=[first, second],
        replayed_touched={("2024-04-30", "a")},
        seconds=2.0,
    )
    meta = outcome.metadata()
    assert meta["offset_ranges"] == [
        {"partition": 0, "start": 0, "end": 10},
        {"partition": 1, "start": 5, "end": 8},
    ]
    assert (meta["messages"], meta["rows_inserted"], meta["duplicates_skipped"]) == (
        13,
        10,
        2,
    )
    assert (meta["dead_lettered"], meta["offsets_missing"]) == (1, 2)
    assert meta["partitions_touched"] == [
        {"day": "2024-04-30", "device": "a"},
        {"day": "2024-05-01", "device": "a"},
        {"day": "2024-05-01", "device": "b"},
    ]
    assert meta["rows_per_second"] == 6.0


def test_an_idle_outcome_has_zero_rate():
    outcome = LandingOutcome("t.x", "gps_data", [])
    assert outcome.rows_per_second == 0.0
    assert outcome.metadata()["partitions_touched"] == []


def test_merged_joins_batches_of_one_range_up_to_the_size():
    a, b = OffsetRange(0, 0, 10), OffsetRange(1, 0, 10)
    batches = [(a, [1, 2]), (a, [3]), (a, [4, 5]), (b, [6]), (a, [7]), (a, [8])]
    assert list(merged(iter(batches), size=3)) == [
        (a, [1, 2, 3]),
        (a, [4, 5]),
        (b, [6]),
        (a, [7, 8]),
    ]
    assert list(merged(iter([]))) == []

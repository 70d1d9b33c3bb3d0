import pytest

from loom_core.topics import GPS_RAW
from loom_dagster.landing.ranges import (
    OffsetRange,
    chunk,
    dump_cursor,
    fair_shares,
    format_ranges,
    load_cursor,
    parse_ranges,
    plan_runs,
    resolve_positions,
    run_key,
    uncovered,
)


def test_offset_range_round_trips_through_text():
    r = OffsetRange(2, 10, 20)
    assert str(r) == "2:10-20"
    assert OffsetRange.parse(" 2:10-20 ") == r
    assert r.size == 10


@pytest.mark.parametrize(
    ("p", "s", "e"), [(0, 5, 5), (0, 6, 5), (-1, 0, 1), (0, -1, 3)]
)
def test_offset_range_rejects_empty_or_negative(p, s, e):
    with pytest.raises(ValueError, match="invalid"):
        OffsetRange(p, s, e)


@pytest.mark.parametrize("text", ["", "1:2", "a:1-2", "1:2-x", "1-2:3"])
def test_parse_rejects_garbage_with_the_expected_form(text):
    with pytest.raises(ValueError, match="partition:start-end"):
        OffsetRange.parse(text)


def test_ranges_tag_is_sorted_and_parses_back():
    ranges = [OffsetRange(1, 5, 9), OffsetRange(0, 10, 20)]
    assert format_ranges(ranges) == "0:10-20,1:5-9"
    assert parse_ranges("0:10-20,1:5-9") == sorted(ranges)
    assert parse_ranges("") == []


def test_run_key_names_topic_and_exact_ranges():
    key = run_key(GPS_RAW.name, [OffsetRange(1, 5, 9), OffsetRange(0, 0, 3)])
    assert key == f"{GPS_RAW.name}|0:0-3,1:5-9"


def test_cursor_round_trip_and_absence():
    assert load_cursor(dump_cursor({2: 7, 0: 3})) == {0: 3, 2: 7}
    assert dump_cursor({2: 7, 0: 3}) == '{"0": 3, "2": 7}'
    assert load_cursor(None) is None
    assert load_cursor("") is None


@pytest.mark.parametrize("text", ["[1, 2]", "not json", '{"a": 1}', '{"0": "x"}'])
def test_cursor_garbage_says_how_to_reset(text):
    with pytest.raises(ValueError, match="reset the sensor's cursor"):
        load_cursor(text)


def test_cursor_rejects_negative_offsets():
    with pytest.raises(ValueError, match="negative"):
        load_cursor('{"0": -1}')


def test_positions_without_cursor_start_earliest_or_latest():
    marks = {0: (5, 50), 1: (0, 7)}
    assert resolve_positions(None, marks, "earliest").next_offsets == {0: 5, 1: 0}
    assert resolve_positions(None, marks, "latest").next_offsets == {0: 50, 1: 7}


def test_positions_new_partition_starts_at_its_earliest_even_when_latest():
    positions = resolve_positions({0: 40}, {0: (5, 50), 1: (3, 9)}, "latest")
    assert positions.next_offsets == {0: 40, 1: 3}


def test_positions_count_offsets_kafka_deleted_before_request():
    positions = resolve_positions({0: 10}, {0: (25, 30)})
    assert positions.next_offsets == {0: 25}
    assert positions.expired == {0: 15}


def test_positions_restart_a_recreated_topic_from_its_start():
    positions = resolve_positions({0: 900}, {0: (0, 12)})
    assert positions.next_offsets == {0: 0}
    assert positions.reset == [0]


@pytest.mark.parametrize(
    ("backlog", "cap", "expected"),
    [
        ({0: 100, 1: 100, 2: 100}, 10, {0: 3, 1: 3, 2: 4}),
        ({0: 2, 1: 100, 2: 100}, 10, {0: 2, 1: 4, 2: 4}),
        ({0: 5, 1: 5}, 100, {0: 5, 1: 5}),
        ({0: 100, 1: 100, 2: 100}, 2, {1: 1, 2: 1}),
        ({}, 10, {}),
    ],
)
def test_fair_shares_never_exceed_cap_or_backlog(backlog, cap, expected):
    shares = fair_shares(backlog, cap)
    assert shares == expected
    assert sum(shares.values()) == min(cap, sum(backlog.values()))


def test_plan_runs_caps_each_run_and_moves_the_cursor():
    runs, cursor = plan_runs({0: 0, 1: 10}, {0: 30, 1: 12}, cap=10, max_runs=10)
    assert runs == [
        [OffsetRange(0, 0, 8), OffsetRange(1, 10, 12)],
        [OffsetRange(0, 8, 18)],
        [OffsetRange(0, 18, 28)],
        [OffsetRange(0, 28, 30)],
    ]
    assert cursor == {0: 30, 1: 12}
    assert all(sum(r.size for r in run) <= 10 for run in runs)


def test_plan_runs_leaves_the_rest_beyond_max_runs_for_later():
    runs, cursor = plan_runs({0: 0}, {0: 100}, cap=10, max_runs=2)
    assert len(runs) == 2
    assert cursor == {0: 20}


def test_plan_runs_without_new_data_requests_nothing():
    assert plan_runs({0: 5}, {0: 5}, cap=10, max_runs=3) == ([], {0: 5})


def test_plan_runs_rejects_a_zero_cap():
    with pytest.raises(ValueError, match="at least 1"):
        plan_runs({0: 0}, {0: 5}, cap=0, max_runs=1)


@pytest.mark.parametrize(
    ("covering", "expected"),
    [
        ([], ["0:10-20"]),
        ([(10, 20)], []),
        ([(0, 100)], []),
        ([(10, 15)], ["0:15-20"]),
        ([(12, 14), (16, 18)], ["0:10-12", "0:14-16", "0:18-20"]),
        ([(15, 25), (5, 12)], ["0:12-15"]),
        ([(0, 5), (20, 30)], ["0:10-20"]),
        ([(10, 15), (15, 20)], []),
    ],
)
def test_uncovered_parts(covering, expected):
    assert [str(r) for r in uncovered(OffsetRange(0, 10, 20), covering)] == expected


def test_chunk_groups_and_splits_ranges_under_the_cap():
    runs = chunk([OffsetRange(1, 0, 7), OffsetRange(0, 0, 3)], cap=4)
    assert [[str(r) for r in run] for run in runs] == [
        ["0:0-3", "1:0-1"],
        ["1:1-5"],
        ["1:5-7"],
    ]
    assert chunk([], cap=4) == []

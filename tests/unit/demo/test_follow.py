"""When the demo considers the day landed and enriched."""

from datetime import date

import pytest

from loom_cli.demo import follow
from loom_cli.demo.dagster_api import Materialization, Run


@pytest.mark.parametrize(
    ("ranges", "start", "end", "expected"),
    [
        ([(0, 10)], 0, 10, True),
        ([(0, 5), (5, 10)], 0, 10, True),
        ([(5, 10), (0, 5)], 0, 10, True),  # any order
        ([(0, 6), (4, 12)], 2, 10, True),  # overlapping recoveries
        ([(0, 5), (6, 10)], 0, 10, False),  # offset 5 never landed
        ([(3, 10)], 0, 10, False),  # the start is missing
        ([(0, 9)], 0, 10, False),  # the end is missing
        ([], 0, 10, False),
        ([], 4, 4, True),  # nothing to land
    ],
)
def test_covered(ranges, start, end, expected):
    assert follow.covered(ranges, start, end) is expected


def test_spans_are_the_partitions_that_grew():
    before = {"t": {0: 5, 1: 7}, "u": {0: 0}}
    after = {"t": {0: 9, 1: 7, 2: 3}, "u": {0: 0}}
    assert follow.spans(before, after) == {"t": {0: (5, 9), 2: (0, 3)}, "u": {}}


def test_the_partition_key_is_dagsters_day_then_device():
    part = follow.DeviceDay("phone-1", date(2025, 6, 14))
    assert part.key == "2025-06-14|phone-1"
    assert part.start.isoformat() == "2025-06-14T00:00:00+00:00"
    assert part.end.isoformat() == "2025-06-15T00:00:00+00:00"


def done_observation(**changes):
    seen = follow.Observation(
        rows={"gps_data": 100, "audio_chunks": 2},
        landed={"gps_data": True, "audio_chunks": True},
        processed={"transcripts": (2, 2), "captions": (3, 3)},
        tracks=Materialization("r1", 1, {"fixes": 100, "committed": True}),
    )
    for key, value in changes.items():
        setattr(seen, key, value)
    return seen


def test_done_needs_landing_and_every_asset():
    assert done_observation().done
    assert not done_observation(landed={"gps_data": True, "audio_chunks": False}).done
    assert not done_observation(landed={}).done
    assert not done_observation(
        processed={"transcripts": (1, 2), "captions": (3, 3)}
    ).done


def test_gps_tracks_is_done_when_its_run_read_every_fix_and_committed():
    assert not done_observation(tracks=None).done
    stale = Materialization("r0", 1, {"fixes": 60, "committed": True})
    assert not done_observation(tracks=stale).enrichment_done("gps_tracks")
    failed = Materialization("r2", 1, {"fixes": 100, "committed": False})
    assert not done_observation(tracks=failed).enrichment_done("gps_tracks")


def test_runs_are_sorted_into_failed_and_active_and_change_the_signature():
    runs = [
        Run("a", "land_gps_data", "SUCCESS", {}),
        Run("b", "__ASSET_JOB", "FAILURE", {"dagster/partition": "2025-06-14|x"}),
        Run("c", "__ASSET_JOB", "QUEUED", {}, ("captions",)),
    ]
    seen = done_observation(runs=runs)
    assert [r.run_id for r in seen.failed_runs()] == ["b"]
    assert [r.run_id for r in seen.active_runs()] == ["c"]
    assert seen.failed_runs()[0].partition == "2025-06-14|x"
    moved = done_observation(runs=[*runs[:2], Run("c", "__ASSET_JOB", "STARTED", {})])
    assert moved.signature() != seen.signature()
    assert done_observation(runs=runs).signature() == seen.signature()


def test_only_the_partitions_enrichment_runs_queued_behind_others_jump_the_queue():
    day = follow.DeviceDay("demo-phone", date(2025, 6, 14))
    ours = {"dagster/partition": day.key}

    def run(run_id, status="QUEUED", tags=ours, assets=("transcripts",), created=10.0):
        return Run(run_id, "__ASSET_JOB", status, tags, assets, created)

    mine = [
        run("stuck"),
        run("fresh", created=95.0),
        run("started", status="STARTED"),
        run("other", tags={"dagster/partition": "2025-06-14|someone"}),
        run("landing", assets=("gps_data",)),
        run("jumped", tags=ours | {follow.JUMPED_TAG: "loom demo"}),
    ]
    backlog = run(
        "backlog", tags={"dagster/partition": "2026-11-28|test-1"}, created=1.0
    )
    later = run("later", tags={"dagster/partition": "2026-11-28|test-2"}, created=50.0)

    behind = follow.Observation(runs=mine, queued=[backlog, *mine])
    assert [r.run_id for r in behind.stuck_in_queue(day, now=100.0)] == ["stuck"]
    # queued only behind its own partition's runs, or before the others: it waits
    alone = follow.Observation(runs=mine, queued=[later, *mine])
    assert alone.stuck_in_queue(day, now=100.0) == []

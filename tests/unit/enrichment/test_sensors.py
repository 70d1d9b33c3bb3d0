from __future__ import annotations

import json

import dagster as dg
import pytest

from loom_dagster.defs.enrichment.sensors import (
    build_enrichment_sensor,
    partitions_touched,
)


@pytest.mark.parametrize(
    "value",
    [
        [{"day": "2024-05-06", "device": "phone"}],
        '[{"day": "2024-05-06", "device": "phone"}]',
        dg.MetadataValue.json([{"day": "2024-05-06", "device": "phone"}]),
        dg.MetadataValue.text('[{"day": "2024-05-06", "device": "phone"}]'),
    ],
)
def test_partitions_touched_accepts_json_values_and_strings(value):
    assert partitions_touched(value) == ([("2024-05-06", "phone")], [])


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (None, "expected a list, got NoneType"),
        ("{not json", "not JSON"),
        ({"day": "2024-05-06"}, "expected a list, got dict"),
        ([{"day": "06/05/2024", "device": "p"}], "needs day YYYY-MM-DD"),
        ([{"device": "p"}], "needs day YYYY-MM-DD"),
        (["2024-05-06"], "needs day YYYY-MM-DD"),
        ([{"day": "2024-05-06", "device": ""}], "device must be a non-empty string"),
    ],
)
def test_partitions_touched_reports_what_is_wrong(value, problem):
    pairs, problems = partitions_touched(value)
    assert pairs == []
    assert problem in problems[0]


def test_bad_entries_do_not_hide_good_ones():
    pairs, problems = partitions_touched(
        [{"day": "2024-05-06", "device": "a"}, {"day": "x", "device": "b"}]
    )
    assert pairs == [("2024-05-06", "a")]
    assert len(problems) == 1


def landed(instance, table, *pairs, metadata=None):
    value = [{"day": day, "device": device} for day, device in pairs]
    instance.report_runless_asset_event(
        dg.AssetMaterialization(
            asset_key=table,
            metadata=metadata or {"partitions_touched": dg.MetadataValue.json(value)},
        )
    )


def evaluate(sensor, instance, cursor=None):
    return sensor(dg.build_sensor_context(instance=instance, cursor=cursor))


def test_the_sensor_requests_each_touched_partition_once_and_adds_new_devices():
    sensor = build_enrichment_sensor(
        "captions",
        ["camera_frames", "screenshots"],
        {"ops": {"captions": {"config": {"incremental": True}}}},
    )
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("devices", ["known"])
        landed(
            instance, "camera_frames", ("2024-05-06", "known"), ("2024-05-06", "new")
        )
        landed(
            instance, "screenshots", ("2024-05-06", "known"), ("2019-12-31", "known")
        )
        landed(instance, "gps_data", ("2024-05-07", "known"))  # not this sensor's
        landed(instance, "screenshots", metadata={"rows": 3})  # no partitions_touched

        result = evaluate(sensor, instance)

        keys = [r.partition_key for r in result.run_requests]
        assert keys == ["2024-05-06|known", "2024-05-06|new"]
        run = result.run_requests[0]
        assert run.asset_selection == [dg.AssetKey("captions")]
        assert run.run_config == {
            "ops": {"captions": {"config": {"incremental": True}}}
        }
        assert run.tags["loom/trigger"] == "enrichment_sensor"
        (add,) = result.dynamic_partitions_requests
        assert (add.partitions_def_name, list(add.partition_keys)) == (
            "devices",
            ["new"],
        )

        again = evaluate(sensor, instance, result.cursor)
        assert again.run_requests == []
        assert json.loads(again.cursor) == json.loads(result.cursor)

        landed(instance, "screenshots", ("2024-05-06", "known"))
        later = evaluate(sensor, instance, result.cursor)
        (rerun,) = later.run_requests
        assert rerun.partition_key == "2024-05-06|known"
        assert rerun.run_key != run.run_key  # a new landing is a new run


def test_a_device_that_cannot_be_a_partition_key_gets_no_run_and_no_partition():
    """Landing refuses '...' device ids as partitions; the sensor must agree."""
    sensor = build_enrichment_sensor("gps_tracks", ["gps_data"], None)
    with dg.instance_for_test() as instance:
        landed(
            instance, "gps_data", ("2024-05-06", "phone...1"), ("2024-05-06", "phone")
        )

        result = evaluate(sensor, instance)

        assert [r.partition_key for r in result.run_requests] == ["2024-05-06|phone"]
        (add,) = result.dynamic_partitions_requests
        assert list(add.partition_keys) == ["phone"]


def test_partitions_touched_names_a_device_that_cannot_be_a_partition_key():
    pairs, problems = partitions_touched([{"day": "2024-05-06", "device": "a...b"}])
    assert pairs == []
    assert problems == ["device 'a...b' cannot be a partition key ('...')"]

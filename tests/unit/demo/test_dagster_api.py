"""The demo's GraphQL questions to Dagster's webserver (answers as Dagster gives them)."""

import json

import httpx
import pytest

from loom_cli.demo import dagster_api
from loom_cli.demo.dagster_api import DagsterError, DagsterUI


def ui_answering(*answers):
    queue = list(answers)
    sent = []

    def handler(request):
        sent.append(json.loads(request.content))
        answer = queue.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return httpx.Response(200, json=answer)

    ui = DagsterUI("http://ui:3000/")
    ui.client = httpx.Client(base_url=ui.url, transport=httpx.MockTransport(handler))
    return ui, sent


def test_the_code_location_is_loaded_only_when_dagster_says_so():
    entries = lambda status: {
        "data": {
            "locationStatusesOrError": {
                "__typename": "WorkspaceLocationStatusEntries",
                "entries": [{"name": dagster_api.LOCATION, "loadStatus": status}],
            }
        }
    }
    ui, _ = ui_answering(entries("LOADING"), entries("LOADED"))
    assert not ui.location_loaded()
    assert ui.location_loaded()


def test_sensor_state_and_a_missing_sensor():
    found = {
        "data": {
            "sensorOrError": {
                "__typename": "Sensor",
                "sensorState": {"status": "RUNNING", "ticks": [{"status": "SKIPPED"}]},
            }
        }
    }
    missing = {
        "data": {
            "sensorOrError": {"__typename": "SensorNotFoundError", "message": "nope"}
        }
    }
    ui, sent = ui_answering(found, missing)
    assert ui.sensor_state("gps_data_sensor") == ("RUNNING", True)
    assert sent[0]["variables"]["selector"] == {
        "repositoryLocationName": "loom_dagster.definitions",
        "repositoryName": "__repository__",
        "sensorName": "gps_data_sensor",
    }
    with pytest.raises(DagsterError, match="no sensor gps_tracks_after_landing"):
        ui.sensor_state("gps_tracks_after_landing")


def test_latest_materialization_reads_its_metadata():
    event = {
        "runId": "r1",
        "timestamp": "1749888000000",
        "metadataEntries": [
            {"label": "fixes", "intValue": 100},
            {"label": "committed", "boolValue": True},
            {"label": "distance_km", "floatValue": 1.2},
            {"label": "map", "mdStr": "![map](data:...)"},
            {"label": "other"},
        ],
    }
    ui, sent = ui_answering(
        {
            "data": {
                "assetOrError": {
                    "__typename": "Asset",
                    "assetMaterializations": [event],
                }
            }
        },
        {
            "data": {
                "assetOrError": {"__typename": "Asset", "assetMaterializations": []}
            }
        },
        {"data": {"assetOrError": {"__typename": "AssetNotFoundError"}}},
    )
    found = ui.latest_materialization("gps_tracks", "2025-06-14|x")
    assert found.run_id == "r1"
    assert found.timestamp_ms == 1749888000000
    assert found.metadata == {
        "fixes": 100,
        "committed": True,
        "distance_km": 1.2,
        "map": "![map](data:...)",
        "other": None,
    }
    assert sent[0]["variables"] == {
        "asset": {"path": ["gps_tracks"]},
        "partitions": ["2025-06-14|x"],
    }
    assert ui.latest_materialization("gps_tracks", "2025-06-14|x") is None
    assert ui.latest_materialization("gps_tracks", "2025-06-14|x") is None


def test_runs_since_reads_status_tags_and_assets():
    runs = {
        "data": {
            "runsOrError": {
                "__typename": "Runs",
                "results": [
                    {
                        "runId": "r1",
                        "jobName": "__ASSET_JOB",
                        "status": "STARTED",
                        "tags": [{"key": "dagster/partition", "value": "d|x"}],
                        "assetSelection": [{"path": ["captions"]}],
                    },
                    {
                        "runId": "r2",
                        "jobName": "land_gps_data",
                        "status": "SUCCESS",
                        "tags": [],
                        "assetSelection": None,
                    },
                ],
            }
        }
    }
    ui, sent = ui_answering(runs)
    found = ui.runs_since(1000.0)
    assert sent[0]["variables"] == {"filter": {"createdAfter": 1000.0}}
    assert [(r.run_id, r.status, r.assets, r.partition) for r in found] == [
        ("r1", "STARTED", ("captions",), "d|x"),
        ("r2", "SUCCESS", (), None),
    ]
    assert ui.run_url("r1") == "http://ui:3000/runs/r1"


def test_a_webserver_that_does_not_answer_is_retried_twice_then_one_line():
    refused = httpx.ConnectError("refused")
    ui, sent = ui_answering(refused, refused, refused)
    with pytest.raises(DagsterError, match="did not answer"):
        ui.location_loaded()
    assert len(sent) == 3
    ui, _ = ui_answering(refused, {"data": {"locationStatusesOrError": {}}})
    assert not ui.location_loaded()


def test_graphql_errors_are_one_line():
    ui, _ = ui_answering({"errors": [{"message": "Cannot query field"}]})
    with pytest.raises(DagsterError, match="refused a query: Cannot query field"):
        ui.runs_since(0)


QUEUED = dagster_api.Run(
    "r1",
    "__ASSET_JOB",
    "QUEUED",
    {
        "dagster/partition": "2025-06-14|demo-phone",
        "dagster/partition/day": "2025-06-14",
        "dagster/partition/device": "demo-phone",
        "dagster/sensor_name": "captions_after_landing",
        "dagster/run_key": "captions:2025-06-14|demo-phone:7",
        "loom/trigger": "enrichment_sensor",
    },
    ("captions",),
    created=1000.0,
    run_config_yaml="ops:\n  captions:\n    config:\n      incremental: true\n",
)


def test_a_queued_run_is_launched_again_ahead_of_the_queue_then_cancelled():
    launched = {
        "data": {
            "launchRun": {"__typename": "LaunchRunSuccess", "run": {"runId": "r2"}}
        }
    }
    cancelled = {"data": {"terminateRun": {"__typename": "TerminateRunSuccess"}}}
    ui, sent = ui_answering(launched, cancelled)

    assert ui.relaunch_first(QUEUED, 5, "loom demo") == "r2"

    params = sent[0]["variables"]["params"]
    assert params["selector"]["pipelineName"] == "__ASSET_JOB"
    assert params["selector"]["assetSelection"] == [{"path": ["captions"]}]
    assert params["runConfigData"] == {
        "ops": {"captions": {"config": {"incremental": True}}}
    }
    tags = {t["key"]: t["value"] for t in params["executionMetadata"]["tags"]}
    assert tags == {
        "dagster/partition": "2025-06-14|demo-phone",
        "dagster/partition/day": "2025-06-14",
        "dagster/partition/device": "demo-phone",
        "loom/trigger": "enrichment_sensor",
        "dagster/priority": "5",
        "loom/launched_by": "loom demo",
    }
    assert sent[1]["variables"] == {"runId": "r1"}


def test_a_launch_dagster_refuses_is_one_line_and_cancels_nothing():
    refused = {
        "data": {"launchRun": {"__typename": "PythonError", "message": "no such asset"}}
    }
    ui, sent = ui_answering(refused)
    with pytest.raises(
        DagsterError, match=r"did not launch __ASSET_JOB.*no such asset"
    ):
        ui.relaunch_first(QUEUED, 5, "loom demo")
    assert len(sent) == 1


def test_queued_runs_asks_for_the_queue():
    empty = {"data": {"runsOrError": {"__typename": "Runs", "results": []}}}
    ui, sent = ui_answering(empty)
    assert ui.queued_runs() == []
    assert sent[0]["variables"] == {"filter": {"statuses": ["QUEUED"]}}

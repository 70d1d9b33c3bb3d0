"""What the demo asks Dagster, through the webserver's GraphQL API (as the UI does).

No Dagster import: the demo talks HTTP to the webserver it started, so the CLI
stays light and sees exactly what a user sees in the UI.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import yaml

from loom_cli.serve import LOCATION

REPOSITORY = "__repository__"  # the repository of a module's Definitions
TIMEOUT = httpx.Timeout(5.0, read=15.0)
MAX_ATTEMPTS = 3  # the first try and at most two retries
DONE_TICKS = ["SUCCESS", "SKIPPED"]  # a tick that evaluated (and set a cursor)
VALUE_FIELDS = ("intValue", "boolValue", "floatValue", "text", "mdStr")

LOCATIONS = """
query { locationStatusesOrError {
  __typename
  ... on WorkspaceLocationStatusEntries { entries { name loadStatus } }
} }
"""
SENSOR = """
query ($selector: SensorSelector!, $statuses: [InstigationTickStatus!]) {
  sensorOrError(sensorSelector: $selector) {
    __typename
    ... on Sensor { sensorState { status ticks(limit: 1, statuses: $statuses) { status } } }
    ... on PythonError { message }
  }
}
"""
MATERIALIZATION = """
query ($asset: AssetKeyInput!, $partitions: [String!]) {
  assetOrError(assetKey: $asset) {
    __typename
    ... on Asset { assetMaterializations(partitions: $partitions, limit: 1) {
      runId timestamp
      metadataEntries {
        label
        ... on IntMetadataEntry { intValue }
        ... on BoolMetadataEntry { boolValue }
        ... on FloatMetadataEntry { floatValue }
        ... on TextMetadataEntry { text }
        ... on MarkdownMetadataEntry { mdStr }
      }
    } }
  }
}
"""
RUNS = """
query ($filter: RunsFilter) {
  runsOrError(filter: $filter, limit: 500) {
    __typename
    ... on Runs { results {
      runId jobName status creationTime runConfigYaml
      tags { key value } assetSelection { path }
    } }
    ... on PythonError { message }
  }
}
"""
LAUNCH = """
mutation ($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
    ... on RunConfigValidationInvalid { errors { message } }
  }
}
"""
CANCEL = """
mutation ($runId: String!) {
  terminateRun(runId: $runId) {
    __typename
    ... on TerminateRunFailure { message }
    ... on PythonError { message }
  }
}
"""
# Tags a copy of a run must not keep: who requested it and how it was deduplicated.
NOT_COPIED = (
    "dagster/sensor_name",
    "dagster/tick",
    "dagster/run_key",
    "dagster/priority",
)


class DagsterError(Exception):
    """Dagster's webserver did not answer as expected; the message says how."""


@dataclass(frozen=True)
class Run:
    """A Dagster run, as far as the demo cares."""

    run_id: str
    job: str
    status: str  # QUEUED, STARTING, STARTED, SUCCESS, FAILURE, CANCELED, ...
    tags: dict[str, str]
    assets: tuple[str, ...] = ()
    created: float = 0.0  # epoch seconds
    run_config_yaml: str = "{}"

    @property
    def partition(self) -> str | None:
        """The run's partition key, if it has one."""
        return self.tags.get("dagster/partition")


@dataclass(frozen=True)
class Materialization:
    """The latest materialisation of an asset partition."""

    run_id: str
    timestamp_ms: int
    metadata: dict[str, Any]


class DagsterUI:
    """A small client of the webserver's ``/graphql`` endpoint.

    Parameters
    ----------
    url
        The webserver, e.g. ``http://127.0.0.1:3000``.
    """

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self.client = httpx.Client(base_url=self.url, timeout=TIMEOUT)

    def close(self) -> None:
        """Close the HTTP connection."""
        self.client.close()

    def query(self, text: str, variables: dict[str, Any] | None = None) -> Any:
        """Run one GraphQL query and return its ``data``."""
        error: Exception | None = None
        for _ in range(MAX_ATTEMPTS):
            try:
                response = self.client.post(
                    "/graphql", json={"query": text, "variables": variables or {}}
                )
                response.raise_for_status()
                body = response.json()
                break
            except (httpx.HTTPError, ValueError) as exc:
                error = exc
        else:
            msg = f"Dagster's webserver at {self.url} did not answer ({error})"
            raise DagsterError(msg)
        if body.get("errors"):
            msg = f"Dagster's GraphQL API refused a query: {body['errors'][0].get('message')}"
            raise DagsterError(msg)
        return body["data"]

    def location_loaded(self) -> bool:
        """Return True once the code location ``loom_dagster.definitions`` loaded."""
        data = self.query(LOCATIONS)["locationStatusesOrError"]
        entries = data.get("entries", [])
        return any(
            e["name"] == LOCATION and e["loadStatus"] == "LOADED" for e in entries
        )

    def sensor_state(self, name: str) -> tuple[str, bool]:
        """Return a sensor's status (RUNNING, STOPPED) and whether it has ticked."""
        selector = {
            "repositoryLocationName": LOCATION,
            "repositoryName": REPOSITORY,
            "sensorName": name,
        }
        data = self.query(SENSOR, {"selector": selector, "statuses": DONE_TICKS})
        sensor = data["sensorOrError"]
        if sensor["__typename"] != "Sensor":
            msg = f"Dagster has no sensor {name} ({sensor.get('message', sensor['__typename'])})"
            raise DagsterError(msg)
        state = sensor["sensorState"]
        return state["status"], bool(state["ticks"])

    def latest_materialization(
        self, asset: str, partition: str
    ) -> Materialization | None:
        """Return the latest materialisation of ``asset``'s ``partition``, if any."""
        data = self.query(
            MATERIALIZATION, {"asset": {"path": [asset]}, "partitions": [partition]}
        )["assetOrError"]
        events = data.get("assetMaterializations") or []
        if not events:
            return None
        event = events[0]
        metadata = {
            entry["label"]: next(
                (entry[k] for k in VALUE_FIELDS if k in entry),
                None,
            )
            for entry in event["metadataEntries"]
        }
        return Materialization(event["runId"], int(event["timestamp"]), metadata)

    def runs_since(self, created_after: float) -> list[Run]:
        """Return the runs created after ``created_after`` (epoch seconds)."""
        return self.runs({"createdAfter": created_after})

    def queued_runs(self) -> list[Run]:
        """Return the runs waiting in the queue (the first 500)."""
        return self.runs({"statuses": ["QUEUED"]})

    def runs(self, run_filter: dict[str, Any]) -> list[Run]:
        """Return the runs matching a GraphQL ``RunsFilter`` (the newest 500)."""
        data = self.query(RUNS, {"filter": run_filter})
        runs = data["runsOrError"]
        if runs["__typename"] != "Runs":
            msg = f"Dagster could not list its runs: {runs.get('message')}"
            raise DagsterError(msg)
        return [
            Run(
                r["runId"],
                r["jobName"],
                r["status"],
                {t["key"]: t["value"] for t in r["tags"]},
                tuple("/".join(a["path"]) for a in r["assetSelection"] or ()),
                float(r.get("creationTime") or 0.0),
                r.get("runConfigYaml") or "{}",
            )
            for r in runs["results"]
        ]

    def relaunch_first(self, run: Run, priority: int, launched_by: str) -> str:
        """Launch a copy of a queued asset run ahead of the queue; cancel the run.

        The copy has the run's assets, partition tags and config, and the tag
        ``dagster/priority`` (the queue starts higher priorities first). Returns
        the new run's id.
        """
        tags = {k: v for k, v in run.tags.items() if k not in NOT_COPIED}
        tags |= {"dagster/priority": str(priority), "loom/launched_by": launched_by}
        params = {
            "selector": {
                "repositoryLocationName": LOCATION,
                "repositoryName": REPOSITORY,
                "pipelineName": run.job,
                "assetSelection": [{"path": a.split("/")} for a in run.assets],
            },
            "runConfigData": yaml.safe_load(run.run_config_yaml) or {},
            "executionMetadata": {
                "tags": [{"key": k, "value": v} for k, v in sorted(tags.items())]
            },
        }
        launched = self.query(LAUNCH, {"params": params})["launchRun"]
        if launched["__typename"] != "LaunchRunSuccess":
            reason = launched.get("message") or launched.get("errors")
            msg = (
                f"Dagster did not launch {run.job} ({launched['__typename']}: {reason})"
            )
            raise DagsterError(msg)
        # A run that started meanwhile is not cancelled: both are incremental, so
        # the later one finds no work.
        self.query(CANCEL, {"runId": run.run_id})
        return launched["run"]["runId"]

    def run_url(self, run_id: str) -> str:
        """Return the UI page of a run."""
        return f"{self.url}/runs/{run_id}"

"""Sensors that turn landing runs into enrichment runs, partition by partition.

The contract with landing: every materialisation of a landing asset (``gps_data``,
``audio_chunks``, ``camera_frames``, ``screenshots``) carries the metadata entry
``partitions_touched``, a JSON list of ``{"day": "YYYY-MM-DD", "device": "<id>"}``,
and landing adds new devices to the dynamic partitions ``devices``. Each sensor
reads the landing materialisations after its cursor (event-log records only, no
Kafka), and asks for one run per touched (day, device) of its enrichment asset,
with ``incremental: true`` so the run processes only what is new.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import dagster as dg

from loom_core.contracts.envelope import is_partition_key
from loom_dagster.landing.land import PARTITIONS_TOUCHED
from loom_dagster.partitions import DAYS, DEVICES

BATCH = 200  # landing materialisations read per asset and tick
# Marks the runs these sensors request: dagster.yaml (and the chart's values) limit
# how many run at once.
TRIGGER_TAG = "loom/trigger"
TRIGGER = "enrichment_sensor"


def partitions_touched(value: Any) -> tuple[list[tuple[str, str]], list[str]]:
    """Parse a ``partitions_touched`` metadata value.

    Parameters
    ----------
    value
        The metadata value: a JSON metadata value, a JSON string or a list.

    Returns
    -------
    tuple[list[tuple[str, str]], list[str]]
        The valid ``(day, device)`` pairs, and a description of each invalid entry.
    """
    raw = getattr(value, "value", value)
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as exc:
            return [], [f"not JSON ({exc.msg})"]
    if not isinstance(raw, list):
        return [], [f"expected a list, got {type(raw).__name__}"]
    pairs: list[tuple[str, str]] = []
    problems: list[str] = []
    for item in raw:
        try:
            day, device = item["day"], item["device"]
            date.fromisoformat(day)
        except (TypeError, KeyError, ValueError):
            problems.append(f"bad entry {item!r}: needs day YYYY-MM-DD and device")
            continue
        if not isinstance(device, str) or not device:
            problems.append(f"bad entry {item!r}: device must be a non-empty string")
            continue
        if not is_partition_key(device):
            problems.append(f"device {device!r} cannot be a partition key ('...')")
            continue
        pairs.append((day, device))
    return pairs, problems


def build_enrichment_sensor(
    target: str,
    landing_assets: Sequence[str],
    run_config: Mapping[str, Any] | None = None,
    run_tags: Mapping[str, str] | None = None,
) -> dg.SensorDefinition:
    """Return the sensor that materialises ``target`` after landing runs.

    Parameters
    ----------
    target
        The enrichment asset (``gps_tracks``, ``transcripts``, ``captions``).
    landing_assets
        The landing asset keys it follows.
    run_config
        Op config for the incremental runs (``None`` for assets without config).
    run_tags
        Extra tags of its runs (``HEAVY_RUN_TAGS`` sends them to Kubernetes jobs).
    """

    @dg.sensor(
        name=f"{target}_after_landing",
        asset_selection=[target],
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=(
            f"Materialises the {target} partitions that runs of "
            f"{', '.join(landing_assets)} touched (metadata {PARTITIONS_TOUCHED})."
        ),
    )
    def sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        cursor: dict[str, int] = json.loads(context.cursor) if context.cursor else {}
        first_day, last_day = (
            DAYS.get_first_partition_key(),
            DAYS.get_last_partition_key(),
        )
        wanted: dict[tuple[str, str], int] = {}
        for landing in landing_assets:
            result = context.instance.fetch_materializations(
                dg.AssetRecordsFilter(
                    asset_key=dg.AssetKey(landing), after_storage_id=cursor.get(landing)
                ),
                limit=BATCH,
                ascending=True,
            )
            for record in result.records:
                cursor[landing] = record.storage_id
                materialization = record.asset_materialization
                value = (materialization.metadata if materialization else {}).get(
                    PARTITIONS_TOUCHED
                )
                pairs, problems = partitions_touched(value)
                for problem in problems:
                    context.log.warning(
                        "%s materialisation %s: %s %s",
                        landing,
                        record.storage_id,
                        PARTITIONS_TOUCHED,
                        problem,
                    )
                for pair in pairs:
                    if not first_day <= pair[0] <= last_day:
                        context.log.warning(
                            "%s materialisation %s: day %s is outside the day "
                            "partitions (%s to %s; LOOM_PARTITIONS_START sets the "
                            "first); skipped",
                            landing,
                            record.storage_id,
                            pair[0],
                            first_day,
                            last_day,
                        )
                        continue
                    wanted[pair] = max(wanted.get(pair, 0), record.storage_id)
        known = set(context.instance.get_dynamic_partitions(DEVICES.name))
        new_devices = sorted({device for _, device in wanted} - known)
        requests = [
            dg.RunRequest(
                run_key=f"{target}:{day}|{device}:{storage_id}",
                partition_key=dg.MultiPartitionKey({"day": day, "device": device}),
                asset_selection=[dg.AssetKey(target)],
                run_config=dict(run_config or {}),
                tags={TRIGGER_TAG: TRIGGER, **(run_tags or {})},
            )
            for (day, device), storage_id in sorted(wanted.items())
        ]
        return dg.SensorResult(
            run_requests=requests,
            cursor=json.dumps(cursor, sort_keys=True),
            dynamic_partitions_requests=(
                [DEVICES.build_add_request(new_devices)] if new_devices else []
            ),
        )

    return sensor

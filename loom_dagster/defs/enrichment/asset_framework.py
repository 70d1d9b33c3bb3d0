"""The enrichment asset framework: the decorator, partitions, checks and publishing.

The life of a partition run, the same for ``gps_tracks``, ``transcripts`` and
``captions``:

1. read the raw rows of the (UTC day, device) from TimescaleDB;
2. compute outside any transaction (models take seconds);
3. in one transaction: take the partition's advisory lock, delete-and-insert the
   rows, evaluate the blocking checks on what is now stored; commit only if every
   check passed, else roll back, so the table and the topic keep the partition's
   previous state (and a later run redoes the work: nothing is marked processed);
4. after the commit, republish the new rows (and deletions) to Kafka, keyed by
   device with stable ids. A failed check fails the run (the checks are blocking),
   so nothing downstream in Dagster runs either.

Checks judge the raw rows that had landed a minute before the run listed its
input (``as_of``), so rows landing while a run computes are left to the next run
instead of failing this one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import dagster as dg
import psycopg
from psycopg import sql
from pydantic import Field

from loom_core import topics
from loom_dagster.enrichment import store
from loom_dagster.enrichment.messages import EnrichedRow, deletion
from loom_dagster.enrichment.republish import RepublishError, republish
from loom_dagster.enrichment.store import DeviceDay
from loom_dagster.enrichment.weights import ModelSpec
from loom_dagster.partitions import DAY_DEVICE
from loom_dagster.resources import KafkaResource

GROUP = "enrichment"

# Enrichment follows landing within minutes while devices send data; a device that
# is off overnight legitimately sends nothing for hours.
FRESHNESS = dg.FreshnessPolicy.time_window(
    fail_window=timedelta(hours=24), warn_window=timedelta(hours=6)
)


class IncrementalConfig(dg.Config):
    """Run configuration of the assets that can skip what they already processed."""

    incremental: bool = Field(
        default=False,
        description=(
            "Process only the raw rows of the partition not processed yet (what "
            "the landing sensors ask for). False, the default for the UI and "
            "backfills, recomputes the whole partition (delete-and-insert)."
        ),
    )


def device_day(context: dg.AssetExecutionContext) -> DeviceDay:
    """Return the run's partition as a :class:`DeviceDay`."""
    keys = context.partition_key.keys_by_dimension  # type: ignore[attr-defined]
    return DeviceDay(keys["device"], date.fromisoformat(keys["day"]))


def code_version(algorithm: str, spec: ModelSpec | None = None) -> str:
    """Return an asset's code version: its algorithm and its model's name and version.

    A different model version gives a different code version, so Dagster marks the
    partitions materialised with the old one as needing re-materialisation.
    """
    return (
        algorithm
        if spec is None
        else f"{algorithm}|{spec.model_name}@{spec.model_version}"
    )


def k8s_op_tags(cpu: str, memory: str, *, gpu: bool = False) -> dict[str, Any]:
    """Return dagster-k8s op tags requesting a pod's resources (GPU optional).

    Parameters
    ----------
    cpu, memory
        Kubernetes quantities in millicores and MiB (``"2000m"``, ``"4096Mi"``).
    gpu
        Request one ``nvidia.com/gpu`` (the production speech and vision backends).
    """
    limits = {"cpu": cpu, "memory": memory} | ({"nvidia.com/gpu": "1"} if gpu else {})
    return {
        "dagster-k8s/config": {
            "container_config": {
                "resources": {
                    "requests": {"cpu": cpu, "memory": memory},
                    "limits": limits,
                }
            }
        }
    }


def enrichment_asset(
    table: EnrichedTable,
    *,
    deps: Sequence[str],
    checks: Mapping[str, str],
    algorithm: str,
    pod: tuple[str, str],
    description: str,
    model: ModelSpec | None = None,
) -> Any:
    """Return the ``@dg.asset`` decorator every enrichment asset shares.

    Partitioned by UTC day x device, in the ``enrichment`` group, depending on its
    landing tables by key, watched by the freshness policy and by ``checks``
    (check name -> description), all blocking. Its code version is ``algorithm``
    and the ``model``'s name and version; its pod requests ``pod`` (CPU, memory)
    and a GPU when the model needs one; the model is in its metadata.
    """
    return dg.asset(
        name=table.name,
        partitions_def=DAY_DEVICE,
        deps=[dg.AssetKey(dep) for dep in deps],
        group_name=GROUP,
        kinds={"python", "postgres", "kafka"},
        code_version=code_version(algorithm, model),
        freshness_policy=FRESHNESS,
        check_specs=check_specs(table.name, checks),
        op_tags=k8s_op_tags(*pod, gpu=model is not None and model.gpu),
        metadata=(
            None
            if model is None
            else {"model_name": model.model_name, "model_version": model.model_version}
        ),
        description=description,
    )


def check_specs(asset: str, descriptions: Mapping[str, str]) -> list[dg.AssetCheckSpec]:
    """Return the blocking check specs of ``asset``."""
    return [
        dg.AssetCheckSpec(name, asset=asset, description=text, blocking=True)
        for name, text in descriptions.items()
    ]


LANDING_MARGIN = timedelta(minutes=1)  # longer than a landing transaction lasts


def listed_at(conn: psycopg.Connection) -> datetime:
    """Return the database's clock, taken when a run lists its input."""
    row = conn.execute("SELECT now()").fetchone()
    return row[0] if row else datetime.now(UTC)


def run_checks(
    conn: psycopg.Connection,
    queries: Mapping[str, str],
    partition: DeviceDay,
    as_of: datetime,
) -> list[dg.AssetCheckResult]:
    """Run each check's query; a check passes when its query counts no violations.

    Queries take the named parameters ``device``, ``day``, ``start``, ``end`` and
    ``as_of`` (raw rows landed after it are the next run's business).
    """
    params = {
        "device": partition.device_id,
        "day": partition.day,
        "start": partition.start,
        "end": partition.end,
        "as_of": as_of - LANDING_MARGIN,
    }
    results = []
    for name, query in queries.items():
        row = conn.execute(query, params).fetchone()
        violations = int(row[0]) if row else 0
        results.append(
            dg.AssetCheckResult(
                check_name=name,
                passed=violations == 0,
                metadata={"violations": violations},
            )
        )
    return results


def data_version(
    conn: psycopg.Connection, table: str, id_column: str, partition: DeviceDay
) -> dg.DataVersion:
    """Hash the partition's stored rows (all columns but ``computed_at``).

    The same rows give the same data version, whether they were written by one
    backfill or by several incremental runs.
    """
    query = sql.SQL(
        "SELECT md5(coalesce(string_agg((to_jsonb(t) - 'computed_at')::text, '|'"
        " ORDER BY t.{id}), '')) FROM {table} t WHERE t.device_id = %s AND t.day = %s"
    ).format(id=sql.Identifier(id_column), table=sql.Identifier(table))
    row = conn.execute(query, (partition.device_id, partition.day)).fetchone()
    return dg.DataVersion(str(row[0])[:16] if row else "")


@dataclass(frozen=True)
class EnrichedTable:
    """What a partition run writes: the table, its row id, its checks, its topic."""

    name: str
    id_column: str
    check_queries: Mapping[str, str]
    topic: topics.Topic


@dataclass(frozen=True)
class Written:
    """The outcome of :func:`commit_and_publish` (nothing committed if a check failed)."""

    checks: list[dg.AssetCheckResult]
    data_version: dg.DataVersion | None
    vanished: set[str]
    published: int

    @property
    def committed(self) -> bool:
        """Whether the rows were committed (every check passed)."""
        return all(c.passed for c in self.checks)

    def metadata(self) -> dict[str, Any]:
        """Materialisation metadata about the write."""
        return {"committed": self.committed, "republished": self.published}


def commit_and_publish(
    context: dg.AssetExecutionContext,
    conn: psycopg.Connection,
    kafka: KafkaResource,
    table: EnrichedTable,
    *,
    partition: DeviceDay,
    rows: Sequence[EnrichedRow],
    scope: sql.Composable | None = None,
    scope_params: Sequence[Any] = (),
    as_of: datetime,
    sources: Iterable[tuple[str, str, str | None]] | None = None,
    incremental: bool = False,
) -> Written:
    """Write the rows in one transaction, then republish them (steps 3 and 4).

    Parameters
    ----------
    context, conn, kafka
        The run's context, an autocommit connection and the Kafka resource.
    table, partition, rows
        Where the rows go.
    scope, scope_params
        Limit what is replaced (an incremental run); ``None`` replaces the partition.
    sources
        ``(raw event id, outcome, detail)`` consumed, for ``enrichment_sources``.
    as_of
        When the run listed its input (:func:`listed_at`), for the checks.
    incremental
        Add to the partition's ``enrichment_sources`` instead of replacing them.
    """
    with conn.transaction():
        store.lock(conn, table.name, partition)
        vanished = store.replace_rows(
            conn,
            table.name,
            partition,
            id_column=table.id_column,
            rows=[r.model_dump() for r in rows],
            scope=scope,
            scope_params=scope_params,
        )
        if sources is not None:
            store.record_sources(
                conn, table.name, partition, sources, replace_all=not incremental
            )
        checks = run_checks(conn, table.check_queries, partition, as_of)
        version = data_version(conn, table.name, table.id_column, partition)
        failed = [str(c.check_name) for c in checks if not c.passed]
        if failed:
            context.log.error(
                "%s: checks %s failed; the write is rolled back and nothing is "
                "republished to %s",
                partition,
                ", ".join(failed),
                table.topic,
            )
            raise psycopg.Rollback
    if failed:
        return Written(checks, None, set(), 0)
    published = republish_rows(kafka, table, partition, rows, vanished)
    return Written(checks, version, vanished, published)


def republish_rows(
    kafka: KafkaResource,
    table: EnrichedTable,
    partition: DeviceDay,
    rows: Sequence[EnrichedRow],
    vanished: Iterable[str],
) -> int:
    """Republish committed rows and the deletions of vanished ids; return the count."""
    messages = [row.message() for row in rows] + [
        deletion(row_id, table.id_column, partition.device_id, partition.day)
        for row_id in sorted(vanished)
    ]
    return republish_or_fail(kafka, str(table.topic), messages)


def republish_or_fail(
    kafka: KafkaResource, topic: str, messages: Sequence[Mapping[str, Any]]
) -> int:
    """Republish messages; a Kafka failure fails the run with what to do."""
    if not messages:
        return 0
    try:
        return republish(kafka.producer(), topic, messages)
    except RepublishError as exc:
        raise dg.Failure(description=str(exc)) from None

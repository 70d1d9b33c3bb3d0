"""Fixtures of the analytics tests: Trino with this checkout's catalogs, seeded rows.

Rows are inserted straight into the shared hypertables under device ids no other
test uses, every query is filtered by them, and they are deleted afterwards.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner

from loom_cli.main import cli
from loom_cli.stack.services import TRINO_CATALOGS, TRINO_KAFKA_TABLES
from loom_cli.stack.stack import Stack
from loom_dagster.enrichment import samples

TABLES = (
    "gps_data",
    "audio_chunks",
    "gps_tracks",
    "transcripts",
    "captions",
)


def _deployed_differs(etc: Path) -> bool:
    """True when the running Trino was configured from other catalog files."""
    pairs = [
        *((p, etc / "catalog" / p.name) for p in TRINO_CATALOGS.glob("*.properties")),
        *(
            (p, etc / "kafka-tables" / p.name)
            for p in TRINO_KAFKA_TABLES.glob("*.json")
        ),
    ]
    return any(
        not deployed.exists() or deployed.read_text() != source.read_text()
        for source, deployed in pairs
    )


@pytest.fixture(scope="session")
def trino_catalogs(stack: Stack) -> Stack:
    """The stack's Trino serving this checkout's catalogs (restarted once if not).

    A catalog change needs a Trino restart; the shared stack may have been started
    from a checkout with older catalog files.
    """
    if _deployed_differs(stack.service("trino").etc):
        stack.restart("trino")
    return stack


@pytest.fixture
def devices(db: psycopg.Connection) -> Iterator[Callable[[], str]]:
    """Hand out fresh device ids; delete their rows from the tables afterwards."""
    handed: list[str] = []

    def new() -> str:
        handed.append(f"test-{uuid.uuid4().hex[:12]}")
        return handed[-1]

    yield new
    for table in TABLES:
        db.execute(f"DELETE FROM {table} WHERE device_id = ANY(%s)", (handed,))


def at(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """An instant of March 2024 (UTC), the month the SQL tests seed."""
    return samples.at(date(2024, 3, day), hour, minute, second)


def gps_fix(device: str, when: datetime, **fields: Any) -> dict[str, Any]:
    """A ``gps_data`` row of ``device`` at ``when`` (received then too)."""
    return {
        "time": when,
        "device_id": device,
        "event_id": uuid.uuid4(),
        "received_at": when,
        "latitude": 52.5,
        "longitude": 13.4,
        **fields,
    }


def audio_chunk(
    device: str, when: datetime, seconds: float, **fields: Any
) -> dict[str, Any]:
    """An ``audio_chunks`` row of ``seconds`` of silence at 8 kHz from ``when``."""
    return {
        "time": when,
        "device_id": device,
        "event_id": uuid.uuid4(),
        "received_at": when,
        "encoding": "pcm_s16le",
        "sample_rate": 8000,
        "channels": 1,
        "sequence": 0,
        "duration_s": float(seconds),
        "pcm": b"\0\0" * int(8000 * seconds),
        **fields,
    }


def insert(
    db: psycopg.Connection, table: str, rows: Sequence[Mapping[str, Any]]
) -> None:
    """Insert ``rows`` (dicts with the same keys) into ``table``."""
    columns = list(rows[0])
    placeholders = ", ".join(["%s"] * len(columns))
    with db.cursor() as cur:
        cur.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})",
            [
                [json.dumps(v) if k == "words" else v for k, v in row.items()]
                for row in rows
            ],
        )


@pytest.fixture
def loom_sql(trino_catalogs: Stack) -> Callable[..., list[dict[str, Any]]]:
    """Run ``loom sql SOURCE --param k=v ... --format json``; return its rows."""

    def run(source: str, **params: object) -> list[dict[str, Any]]:
        args = ["sql", source, "--format", "json"]
        for name, value in params.items():
            args += ["--param", f"{name}={value}"]
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    return run

"""Dagster's PostgreSQL storage, keeping its connections instead of one per query.

dagster-postgres opens a new connection for every statement it runs (SQLAlchemy's
``NullPool``), so that idle instances hold nothing. A landing run of ours opens
about 56 of them, at 7 ms each through the Unix socket (a backend process forked
per connection): 0.4 s of a run that landed 100k rows in 3.6 s
(bench/landing_throughput.py). These classes are the same storages with a small
pool (``dagster.yaml`` names them):

- a connection is checked with a ping when taken from the pool, so one that
  died with a restarted PostgreSQL is replaced instead of failing a query;
- a forked child (the run launcher forks run workers) starts with an empty pool
  and never touches its parent's sockets;
- disposing the instance closes the pool.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Mapping
from typing import Any, Self

from dagster_postgres import (
    PostgresEventLogStorage,
    PostgresRunStorage,
    PostgresScheduleStorage,
)
from dagster_postgres.utils import create_pg_engine
from sqlalchemy.engine import Engine

from loom_dagster.dagster_internals import (
    ConfigurableClassData,
    postgres_storage_kwargs,
    replace_storage_engine,
    storage_engine,
    storage_token_provider,
)

# Kept open per storage and process: a run worker writes from one thread. The
# daemon's threads take more at once, closed as they are given back.
POOL_SIZE = 1
MAX_OVERFLOW = 16


def pooled_engine(postgres_url: str, token_provider: Any = None) -> Engine:
    """Return an engine that keeps a few connections, safe across ``os.fork``."""
    engine = create_pg_engine(
        postgres_url,
        token_provider,
        isolation_level="AUTOCOMMIT",
        pool_size=POOL_SIZE,
        max_overflow=MAX_OVERFLOW,
        pool_pre_ping=True,
    )
    alive = weakref.ref(engine)

    def forget_parents_connections() -> None:
        if (child_engine := alive()) is not None:
            child_engine.dispose(close=False)

    os.register_at_fork(after_in_child=forget_parents_connections)
    return engine


class _Pooled:
    """Swap a dagster-postgres storage's engine for :func:`pooled_engine`."""

    postgres_url: str

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        storage_engine(self).dispose()
        replace_storage_engine(
            self, pooled_engine(self.postgres_url, storage_token_provider(self))
        )

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, Any]
    ) -> Self:
        """Build the storage from its ``dagster.yaml`` config (dagster-postgres')."""
        return cls(inst_data=inst_data, **postgres_storage_kwargs(config_value))

    def dispose(self) -> None:
        """Dispose as dagster-postgres does, then close the pool's connections."""
        super().dispose()  # type: ignore[misc]
        storage_engine(self).dispose()


class PooledPostgresRunStorage(_Pooled, PostgresRunStorage):
    """Runs in PostgreSQL (``PostgresRunStorage``), with pooled connections."""


class PooledPostgresEventLogStorage(_Pooled, PostgresEventLogStorage):
    """Events in PostgreSQL (``PostgresEventLogStorage``), with pooled connections."""


class PooledPostgresScheduleStorage(_Pooled, PostgresScheduleStorage):
    """Schedules and sensors in PostgreSQL, with pooled connections."""

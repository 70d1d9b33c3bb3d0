"""Every integration test runs against the real local stack.

Fixtures used by several packages of integration tests live here.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import psycopg
import pytest

from loom_cli.stack.stack import Stack
from loom_core.settings import LoomSettings

if TYPE_CHECKING:
    import dagster as dg


@pytest.fixture(autouse=True)
def _stack_is_up(stack: Stack) -> Stack:
    return stack


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    """A throwaway Dagster instance (never the shared `dagster` database)."""
    import dagster as dg  # noqa: PLC0415 (only the tests that use Dagster pay for it)

    with dg.instance_for_test() as the_instance:
        yield the_instance


@pytest.fixture
def db(settings: LoomSettings) -> Iterator[psycopg.Connection]:
    """An autocommit connection to the stack's TimescaleDB."""
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        yield conn

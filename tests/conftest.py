"""Fixtures shared by the whole suite.

Integration tests (``tests/integration``) talk to the real local stack that
``loom stack up`` runs; the session fixture ``stack`` brings it up if needed and
applies the migrations. Tests that stop or kill a server use ``private_stack``,
a disposable second stack on free ports, so the shared one stays up. With
``LOOM_TEST_SERVERS=testcontainers`` the same servers run in containers instead
(:mod:`tests.containers`, machines with Docker).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from loom_cli.stack.stack import Stack, private_settings
from loom_core import migrations
from loom_core.settings import LoomSettings, get_settings

from . import containers

_containers = ExitStack()
LOCAL_STACK_ONLY = "tests the local stack itself; LOOM_TEST_SERVERS=testcontainers"


def pytest_configure(config: pytest.Config) -> None:
    """Start the containers first when asked, so every test reads their addresses."""
    if containers.wanted():
        try:
            os.environ.update(_containers.enter_context(containers.servers()))
        except Exception as exc:  # docker's errors name no fix
            msg = (
                f"{containers.SETTING}=testcontainers needs a running Docker engine "
                f"({type(exc).__name__}: {exc}); unset it to use `loom stack`"
            )
            raise pytest.UsageError(msg) from exc
        get_settings.cache_clear()


def pytest_unconfigure(config: pytest.Config) -> None:
    """Stop the containers."""
    _containers.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark tests/integration as ``integration``, tests/cluster as ``cluster`` too.

    With containers, the tests of the local stack itself are skipped.
    """
    with_containers = containers.wanted()
    tests = Path(__file__).parent
    for item in items:
        # Relative to tests/: a checkout may itself sit in a folder called "cluster".
        path = Path(str(item.fspath))
        parts = path.relative_to(tests).parts if path.is_relative_to(tests) else ()
        if "integration" in parts or "cluster" in parts:
            item.add_marker(pytest.mark.integration)
        local_only = Path(str(item.fspath)).name.startswith("test_stack_") or (
            "private_stack" in getattr(item, "fixturenames", ())
        )
        if with_containers and local_only:
            item.add_marker(pytest.mark.skip(reason=LOCAL_STACK_ONLY))
        if "cluster" in parts:
            item.add_marker(pytest.mark.cluster)


@pytest.fixture(scope="session")
def settings() -> LoomSettings:
    """The settings of the shared local stack (from ``LOOM_*`` or the defaults)."""
    return LoomSettings()


@pytest.fixture(scope="session")
def stack(settings: LoomSettings) -> Stack:
    """The shared local stack (or the containers), up and migrated."""
    the_stack = Stack(settings)
    if not containers.wanted():
        the_stack.up()
    migrations.apply(settings.database_url)
    return the_stack


@pytest.fixture
def device_id() -> str:
    """A device id no other test uses, so tests sharing the stack never collide."""
    return f"test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def private_stack(settings: LoomSettings) -> Iterator[Callable[..., Stack]]:
    """Start a disposable stack of the given services on free ports.

    Call it with the service names, e.g. ``private_stack("kafka")``. It shares the
    download cache of the main stack and is stopped when the test ends.
    """
    started: list[Stack] = []

    def start(*services: str) -> Stack:
        # Under the shared home, not /tmp/pytest-of-*: PostgreSQL runs as `postgres`
        # and must be able to reach its data directory.
        home = settings.home / "test-stacks" / uuid.uuid4().hex[:12]
        home.mkdir(parents=True)
        the_stack = Stack(private_settings(settings, home))
        started.append(the_stack)
        the_stack.up(list(services))
        return the_stack

    yield start
    for the_stack in started:
        the_stack.down()
        shutil.rmtree(the_stack.settings.home, ignore_errors=True)

"""The landing tests' fixtures: a temporary Dagster instance, the shared stack."""

from tests.integration.landing.conftest import (  # noqa: F401 - pytest fixtures
    instance,
    shared,
    use_stack,
)

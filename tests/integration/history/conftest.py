"""Fixtures shared with other suites: landing's (a temporary Dagster instance, the
shared stack) and the ingest API's (a registered device, the app)."""

from tests.integration.ingest_api.conftest import (  # noqa: F401 - pytest fixtures
    api_settings,
    client,
    device,
)
from tests.integration.landing.conftest import (  # noqa: F401 - pytest fixtures
    instance,
    shared,
    use_stack,
)

"""Fixtures shared with other suites: landing's (the shared stack) and the ingest
API's (a registered device, the app); ``instance`` comes from one level up."""

from tests.integration.ingest_api.conftest import (  # noqa: F401 - pytest fixtures
    api_settings,
    client,
    device,
)
from tests.integration.landing.conftest import (  # noqa: F401 - pytest fixtures
    shared,
    use_stack,
)

"""The platform under the demo: the stack, then the ingest API and Dagster.

The stack is started only where a service does not answer; the API and Dagster are
reused when ``loom serve`` or another ``loom demo`` runs them, else started through
``loom serve``'s :class:`~loom_cli.serve.Supervisor` with their output in
``$LOOM_HOME/logs`` and their pids in ``$LOOM_HOME/run`` (so ``loom stack down``
stops them). Waiting for readiness fails early, with the log to read, when one of
them exits.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from loom_cli import serve
from loom_cli.demo.dagster_api import DagsterError, DagsterUI
from loom_cli.stack import apps
from loom_cli.stack.process import StackError, free_port, port_in_use
from loom_cli.stack.stack import Stack
from loom_core.settings import EXTERNAL_TIMEOUT_S, LoomSettings

READY_TIMEOUT_S = 600.0  # a cold start of the code location on a busy 2-core machine
POLL_S = 1.0


class PlatformError(Exception):
    """The platform cannot serve the demo; the message says what to do."""


def ensure_stack(settings: LoomSettings, report: Callable[[str], None]) -> list[str]:
    """Start the services that do not answer; return the names started.

    A service that answers is used whoever runs it; ``loom stack up`` installs
    and starts the others (and says why it cannot).
    """
    stack = Stack(settings, report)
    down = [s.name for s in stack.services if s.health() is not None]
    if down:
        try:
            stack.up(down)
        except StackError as exc:
            msg = f"the stack did not come up: {exc}"
            raise PlatformError(msg) from None
    return down


@dataclass
class Platform:
    """The running ingest API and Dagster, and whether this demo started them."""

    settings: LoomSettings
    api_url: str
    ui_url: str
    supervisor: serve.Supervisor | None = None

    @property
    def started_here(self) -> bool:
        """Whether this process started (and so stops) the API and Dagster."""
        return self.supervisor is not None

    def check_alive(self) -> None:
        """Raise when a child this demo started has exited."""
        if self.supervisor is None:
            return
        exited = self.supervisor.exited()
        if exited is not None and exited.process is not None:
            log = apps.app_process(self.settings, exited.name).log_file
            msg = (
                f"{exited.name} exited with code {exited.process.returncode}; "
                f"see {log}"
            )
            raise PlatformError(msg)

    def stop(self) -> None:
        """Stop what this demo started (nothing otherwise)."""
        if self.supervisor is not None:
            self.supervisor.stop()


def start(settings: LoomSettings, host: str, api_port: int, ui_port: int) -> Platform:
    """Reuse the running API and Dagster, or start them."""
    api_url, ui_url = f"http://{host}:{api_port}", f"http://{host}:{ui_port}"
    running = apps.running_apps(settings)
    if running:
        missing = sorted(set(apps.APPS) - set(running))
        if missing or not (port_in_use(api_port, host) and port_in_use(ui_port, host)):
            pids = ", ".join(f"{name} {pid}" for name, pid in running.items())
            msg = (
                f"the platform runs only in part or on other ports ({pids}; "
                f"expected the API on {api_port} and the UI on {ui_port}); stop it "
                "with `loom stack down` and run the demo again"
            )
            raise PlatformError(msg)
        return Platform(settings, api_url, ui_url)
    try:
        serve.require_free_ports(settings, host, api_port, ui_port)
    except Exception as exc:  # noqa: BLE001 - click's one-line ClickException
        raise PlatformError(str(getattr(exc, "message", exc))) from None
    code_port = free_port()
    dagster_home = serve.prepare_dagster_home(settings, code_port)
    supervisor = serve.Supervisor(
        serve.children(
            serve.API_APP, host, (api_port, ui_port, code_port), dagster_home
        ),
        serve.child_env(settings, dagster_home),
        settings,
        log_to_files=True,
        label="loom demo",
    )
    supervisor.start()
    return Platform(settings, api_url, ui_url, supervisor)


def wait_until(
    platform: Platform,
    ready: Callable[[], str | None],
    what: str,
    timeout_s: float = READY_TIMEOUT_S,
) -> None:
    """Poll ``ready`` (None when ready, else why not) until ready or timed out."""
    deadline = time.monotonic() + timeout_s
    while True:
        platform.check_alive()
        reason = ready()
        if reason is None:
            return
        if time.monotonic() > deadline:
            logs = platform.settings.home / "logs"
            msg = f"{what} not ready after {timeout_s:.0f} s ({reason}); see {logs}"
            raise PlatformError(msg)
        time.sleep(POLL_S)


def api_ready(api_url: str) -> Callable[[], str | None]:
    """Return a probe of the API's ``/readyz`` (Kafka, Redis and PostgreSQL)."""

    def probe() -> str | None:
        try:
            response = httpx.get(f"{api_url}/readyz", timeout=EXTERNAL_TIMEOUT_S)
        except httpx.HTTPError as exc:
            return f"{api_url} does not answer ({type(exc).__name__})"
        return None if response.status_code == 200 else response.text[:200]

    return probe


def sensors_ready(
    ui: DagsterUI, landing: list[str], enrichment: list[str]
) -> Callable[[], str | None]:
    """Return a probe: code location loaded, sensors running, landing ones ticked.

    A landing sensor's first tick sets its cursor; posting before it would leave
    the replay behind the cursor when landing starts at the topics' end
    (``LOOM_LANDING_START=latest``).
    """

    def probe() -> str | None:
        try:
            if not ui.location_loaded():
                return "the code location loom_dagster.definitions is loading"
            for name in [*landing, *enrichment]:
                status, ticked = ui.sensor_state(name)
                if status != "RUNNING":
                    msg = (
                        f"the sensor {name} is {status.lower()}; start it in the "
                        f"Dagster UI ({ui.url}/automation) and run the demo again"
                        + (
                            " (LOOM_LANDING_AUTOSTART=false stops landing sensors)"
                            if name in landing
                            else ""
                        )
                    )
                    raise PlatformError(msg)
                if name in landing and not ticked:
                    return f"waiting for the first tick of {name}"
        except DagsterError as exc:
            return str(exc)
        return None

    return probe

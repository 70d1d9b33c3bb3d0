"""``loom serve``: the ingest API and Dagster's code server, webserver and daemon.

They run in the foreground against the stack of ``LOOM_*`` (``loom stack up``),
after the migrations are applied. Ctrl-C or SIGTERM stops them all (and what
they started); if one exits on its own, the others are stopped too. Their pids are
recorded under ``$LOOM_HOME/run`` (:mod:`loom_cli.stack.apps`), so ``loom stack
down`` stops them too, from another terminal. ``loom demo`` runs the same
children through the same :class:`Supervisor`, with their output in
``$LOOM_HOME/logs``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from urllib.parse import quote, unquote, urlencode, urlsplit, urlunsplit

import click

from loom_cli.errors import no_database
from loom_cli.stack import apps
from loom_cli.stack.process import ManagedProcess, free_port, port_in_use
from loom_cli.stack.services import Postgres
from loom_core.settings import REPO_ROOT, LoomSettings

API_APP = "ingest_api.app:create_app"
DAGSTER_YAML = REPO_ROOT / "dagster.yaml"
LOCATION = "loom_dagster.definitions"  # the code location's name, as workspace.yaml's
CODE_HOST = "127.0.0.1"
CODE_SERVER_READY_S = 300.0  # loading the definitions on a busy 2-core machine
STOP_TIMEOUT_S = 20.0
POLL_S = 0.5
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


def dagster_database_url(settings: LoomSettings) -> str:
    """Return the URL of Dagster's own database.

    ``LOOM_DAGSTER_DATABASE_URL`` when set, else the ``dagster`` database beside
    ``loom`` on the same server (``loom stack up`` creates both).
    """
    if settings.dagster_database_url:
        return settings.dagster_database_url
    parts = urlsplit(settings.database_url)
    return urlunsplit(parts._replace(path="/dagster"))


def dagster_storage_url(settings: LoomSettings) -> str:
    """Return the SQLAlchemy URL of Dagster's storage (``LOOM_DAGSTER_PG_URL``).

    Dagster opens a connection for every event it writes (its storage keeps no
    pool), and over TCP each one costs a SCRAM handshake: about 6 ms of client CPU
    here, a third of a second per landing run. When the database is the local
    stack's, the URL goes through the server's Unix socket instead (the stack's
    ``local`` connections need no handshake).
    """
    parts = urlsplit(dagster_database_url(settings))
    port = parts.port or 5432
    user = parts.username or "loom"
    userinfo = quote(unquote(user), safe="")
    if parts.password:
        userinfo += ":" + quote(unquote(parts.password), safe="")
    socket_dir = Postgres(settings).socket_dir
    if parts.hostname in LOCAL_HOSTS and (socket_dir / f".s.PGSQL.{port}").exists():
        netloc, query = f"{userinfo}@", urlencode({"host": socket_dir, "port": port})
    else:
        netloc, query = f"{userinfo}@{parts.hostname or '127.0.0.1'}:{port}", ""
    database = parts.path.lstrip("/") or "dagster"
    # psycopg 3 is installed too: without the driver named, SQLAlchemy picks it
    # and the daemon fails on NOTIFY.
    return urlunsplit(("postgresql+psycopg2", netloc, f"/{database}", query, ""))


def child_env(settings: LoomSettings, dagster_home: Path) -> dict[str, str]:
    """Return the children's environment: ``LOOM_*``, ``DAGSTER_HOME``, Dagster's DB."""
    env = dict(os.environ)
    env.update(
        {
            "LOOM_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
            "LOOM_DATABASE_URL": settings.database_url,
            "LOOM_REDIS_URL": settings.redis_url,
            "LOOM_TRINO_URL": settings.trino_url,
            "LOOM_HOME": str(settings.home),
            "DAGSTER_HOME": str(dagster_home),
            "LOOM_DAGSTER_PG_URL": dagster_storage_url(settings),
        }
    )
    return env


def prepare_dagster_home(settings: LoomSettings, code_port: int) -> Path:
    """Write ``$LOOM_HOME/dagster``: ``dagster.yaml`` and a ``workspace.yaml``.

    The workspace points at the code server on ``code_port``, which ``loom serve``
    runs for the webserver and the daemon to share. Left to themselves, each would
    spawn its own, which shuts down when a heartbeat is 20 s late (a busy machine):
    runs being launched then fail.
    """
    home = settings.home / "dagster"
    home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(DAGSTER_YAML, home / "dagster.yaml")
    (home / "workspace.yaml").write_text(
        "# Written by `loom serve`: the code server it runs.\n"
        "load_from:\n"
        "  - grpc_server:\n"
        f"      host: {CODE_HOST}\n"
        f"      port: {code_port}\n"
        f"      location_name: {LOCATION}\n"
    )
    return home


@dataclass
class Child:
    """One process ``loom serve`` runs."""

    name: str
    argv: list[str]
    ready_port: int | None = None  # the next child starts once this port answers
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)


def children(
    api_app: str, host: str, ports: tuple[int, int, int], dagster_home: Path
) -> list[Child]:
    """Return the processes, run from this virtual environment.

    ``ports`` are the API's, the UI's and the code server's; the webserver and
    the daemon start once the code server has loaded the definitions.
    """
    from ingest_api.server import PROTOCOL, TIMEOUT_KEEP_ALIVE_S  # noqa: PLC0415

    api_port, ui_port, code_port = ports
    python = sys.executable
    workspace = str(dagster_home / "workspace.yaml")
    api = ["--factory", api_app, "--host", host, "--port", str(api_port)]
    api += ["--http", PROTOCOL, "--timeout-keep-alive", str(TIMEOUT_KEEP_ALIVE_S)]
    api += ["--no-server-header"]
    code = ["-m", LOCATION, "--location-name", LOCATION, "-d", str(REPO_ROOT)]
    code += ["-h", CODE_HOST, "-p", str(code_port)]
    ui = ["-h", host, "-p", str(ui_port), "-w", workspace]
    return [
        Child("ingest-api", [python, "-m", "uvicorn", *api]),
        Child(
            "dagster-code-server",
            [python, "-m", "dagster", "code-server", "start", *code],
            ready_port=code_port,
        ),
        Child("dagster-webserver", [python, "-m", "dagster_webserver", *ui]),
        Child(
            "dagster-daemon", [python, "-m", "dagster._daemon", "run", "-w", workspace]
        ),
    ]


class Supervisor:
    """Starts children in their own process groups and stops them all together.

    Parameters
    ----------
    members
        The children.
    env
        Their environment (:func:`child_env`).
    settings
        When given, each child's pid is recorded under ``$LOOM_HOME/run`` while it
        runs, so ``loom stack down`` can stop it.
    log_to_files
        Append each child's output to ``$LOOM_HOME/logs/<name>.log`` instead of
        this terminal (needs ``settings``).
    label
        Names the supervising command in its messages.
    """

    def __init__(
        self,
        members: list[Child],
        env: dict[str, str],
        settings: LoomSettings | None = None,
        *,
        log_to_files: bool = False,
        label: str = "loom serve",
    ) -> None:
        self.members = members
        self.env = env
        self.settings = settings
        self.log_to_files = log_to_files
        self.label = label
        self.stop_requested = False

    def request_stop(self, signum: int, _frame: FrameType | None) -> None:
        """Signal handler: ask the wait loop to stop everything."""
        click.echo(f"{self.label}: {signal.Signals(signum).name}, stopping", err=True)
        self.stop_requested = True

    def start(self) -> None:
        """Start every child (each leads a new process group)."""
        for child in self.members:
            handle = self._handle(child)
            output = None
            if handle is not None and self.log_to_files:
                handle.log_dir.mkdir(parents=True, exist_ok=True)
                output = handle.log_file.open("ab")
                output.write(f"\n--- loom: starting {child.name} ---\n".encode())
                output.flush()
            try:
                child.process = subprocess.Popen(
                    child.argv,
                    env=self.env,
                    cwd=REPO_ROOT,
                    start_new_session=True,
                    stdin=subprocess.DEVNULL if output else None,
                    stdout=output,
                    stderr=subprocess.STDOUT if output else None,
                )
            finally:
                if output is not None:
                    output.close()
            if handle is not None:
                handle.run_dir.mkdir(parents=True, exist_ok=True)
                handle.pid_file.write_text(f"{child.process.pid}\n")
            if child.ready_port is not None:
                self._wait_ready(child, child.ready_port)

    def _wait_ready(self, child: Child, port: int) -> None:
        """Wait until ``child`` answers on ``port``, exits, or takes too long.

        The others start regardless after that; they wait for the code server
        themselves, and an exited child is reported by :meth:`wait`.
        """
        deadline = time.monotonic() + CODE_SERVER_READY_S
        while not port_in_use(port, CODE_HOST) and time.monotonic() < deadline:
            assert child.process is not None  # noqa: S101 - just started
            if self.stop_requested or child.process.poll() is not None:
                return
            time.sleep(POLL_S)

    def _handle(self, child: Child) -> ManagedProcess | None:
        if self.settings is None or child.name not in apps.APPS:
            return None
        return apps.app_process(self.settings, child.name)

    def exited(self) -> Child | None:
        """Return a child that has exited, if any."""
        for child in self.members:
            if child.process and child.process.poll() is not None:
                return child
        return None

    def wait(self) -> Child | None:
        """Block until a stop is requested (None) or a child exits (that child)."""
        while not self.stop_requested:
            exited = self.exited()
            if exited is not None:
                return exited
            time.sleep(POLL_S)
        return None

    def stop(self) -> None:
        """SIGTERM every process group, then SIGKILL what is left after a while."""
        running = [c for c in self.members if c.process is not None]
        for child in running:
            _signal_group(child, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for child in running:
            assert child.process is not None  # noqa: S101 - filtered above
            try:
                child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                click.echo(
                    f"{self.label}: {child.name} did not stop; killing it", err=True
                )
        for child in running:
            _signal_group(child, signal.SIGKILL)  # stragglers: code servers, runs
            assert child.process is not None  # noqa: S101
            child.process.wait()
            handle = self._handle(child)
            if handle is not None and handle.pid() == child.process.pid:
                handle.pid_file.unlink(missing_ok=True)


def _signal_group(child: Child, signum: signal.Signals) -> None:
    assert child.process is not None  # noqa: S101
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child.process.pid, signum)


def _require_app(api_app: str) -> None:
    module = api_app.split(":", 1)[0]
    try:
        found = importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        found = False
    if not found:
        msg = (
            f"cannot import the ingest API {api_app!r}: module {module} is not in "
            "this checkout; merge the ingest API branch, or pass --api-app"
        )
        raise click.ClickException(msg)


def require_free_ports(
    settings: LoomSettings, host: str, api_port: int, ui_port: int
) -> None:
    """Fail with what to do when the API's or the UI's port is taken."""
    running = apps.running_apps(settings)
    for name, port in (("the ingest API", api_port), ("the Dagster UI", ui_port)):
        if not port_in_use(port, host):
            continue
        if running:
            pids = ", ".join(f"{app} {pid}" for app, pid in running.items())
            msg = (
                f"port {port} for {name} is taken: `loom serve` or `loom demo` "
                f"already runs the platform ({pids}); use it, or stop it with "
                "`loom stack down`"
            )
        else:
            msg = f"port {port} for {name} is taken; stop what holds it or pick another port"
        raise click.ClickException(msg)


def _migrate(settings: LoomSettings) -> None:
    import psycopg  # noqa: PLC0415 - keep the CLI's start light

    from loom_core import migrations  # noqa: PLC0415

    try:
        applied = migrations.apply(settings.database_url)
    except migrations.MigrationError as exc:
        raise click.ClickException(str(exc)) from None
    except psycopg.OperationalError as exc:
        msg = no_database(exc)
        raise click.ClickException(msg) from None
    click.echo(f"loom serve: database migrated ({len(applied)} applied now)", err=True)


@click.command()
@click.option(
    "--api-app", default=API_APP, show_default=True, help="ASGI app factory to serve."
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--api-port", default=8000, show_default=True, type=int)
@click.option(
    "--ui-port", default=3000, show_default=True, type=int, help="Dagster UI port."
)
def serve(api_app: str, host: str, api_port: int, ui_port: int) -> None:
    """Run the ingest API and Dagster (code server, UI, daemon) until Ctrl-C."""
    settings = LoomSettings()
    _require_app(api_app)
    require_free_ports(settings, host, api_port, ui_port)
    _migrate(settings)
    code_port = free_port()
    dagster_home = prepare_dagster_home(settings, code_port)
    supervisor = Supervisor(
        children(api_app, host, (api_port, ui_port, code_port), dagster_home),
        child_env(settings, dagster_home),
        settings,
    )
    signal.signal(signal.SIGINT, supervisor.request_stop)
    signal.signal(signal.SIGTERM, supervisor.request_stop)
    with apps.supervising(settings):
        click.echo("loom serve: loading the Dagster definitions", err=True)
        supervisor.start()
        click.echo(
            f"loom serve: ingest API http://{host}:{api_port}, Dagster UI "
            f"http://{host}:{ui_port}; Ctrl-C (or `loom stack down`) stops "
            "everything",
            err=True,
        )
        exited = supervisor.wait()
        if exited is not None:
            code = exited.process.returncode if exited.process else 1
            click.secho(
                f"loom serve: {exited.name} exited with code {code} (see its output "
                "above); stopping the others",
                fg="red",
                err=True,
            )
        supervisor.stop()
    sys.exit(1 if exited is not None else 0)

"""Bring the local stack up, down, and report on it."""

from __future__ import annotations

import contextlib
import fcntl
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from loom_cli.errors import first_line
from loom_cli.stack import apps, provision
from loom_cli.stack.cluster import ClusterLayout
from loom_cli.stack.process import StackError, free_port, port_in_use
from loom_cli.stack.services import Service, all_services
from loom_core.settings import LoomSettings

PORT_SETTLE_S = 2.0  # see _frees_up


@dataclass(frozen=True)
class ServiceStatus:
    """What ``loom stack status`` says about one service."""

    name: str
    port: int
    state: str  # healthy | unhealthy | crashed | stopped | foreign
    detail: str
    pid: int | None

    @property
    def healthy(self) -> bool:
        """True when the service answers its health check."""
        return self.state == "healthy"

    def line(self) -> str:
        """One human-readable line."""
        pid = f" pid {self.pid}" if self.pid else ""
        detail = f" - {self.detail}" if self.detail else ""
        return f"{self.name:<18} {self.state:<9} 127.0.0.1:{self.port}{pid}{detail}"


def private_settings(shared: LoomSettings, home: Path) -> LoomSettings:
    """Return settings for a disposable second stack on free ports, sharing downloads.

    Used by tests and benchmarks that stop or kill servers, so the shared stack
    stays up.
    """
    return LoomSettings(
        home=home,
        cache_dir=shared.cache,
        kafka_bootstrap=f"127.0.0.1:{free_port(span=2)}",  # + its controller
        database_url=f"postgresql://loom:loom@127.0.0.1:{free_port()}/loom",
        redis_url=f"redis://127.0.0.1:{free_port()}/0",
        trino_url=f"http://127.0.0.1:{free_port()}",
    )


class Stack:
    """The local stack: PostgreSQL+TimescaleDB, Redis, Kafka and Trino.

    Parameters
    ----------
    settings
        Ports come from the connection URLs; state lives under ``settings.home``.
    report
        Receives one-line progress messages.
    services
        The services to run (default: the single-node stack's four).
    """

    def __init__(
        self,
        settings: LoomSettings,
        report: provision.Report = provision.quiet,
        services: list[Service] | None = None,
    ) -> None:
        self.settings = settings
        self.report = report
        self.services = services or all_services(settings, report)

    @classmethod
    def cluster(
        cls,
        home: LoomSettings,
        layout: ClusterLayout,
        report: provision.Report = provision.quiet,
    ) -> Stack:
        """Return the local cluster laid out as ``layout``, under ``home``'s state."""
        settings = layout.settings(home)
        return cls(settings, report, layout.services(settings, report))

    def service(self, name: str) -> Service:
        """Return the service called ``name``."""
        return next(s for s in self.services if s.name == name)

    def status_of(self, service: Service) -> ServiceStatus:
        """Return the current status of one service."""
        proc = service.process
        pid = proc.pid()
        if proc.running():
            reason = service.health()
            state = "healthy" if reason is None else "unhealthy"
            return ServiceStatus(service.name, service.port, state, reason or "", pid)
        if proc.crashed():
            detail = f"process {pid} is gone; see {proc.log_file}; `loom stack up` restarts it"
            return ServiceStatus(service.name, service.port, "crashed", detail, None)
        if port_in_use(service.port):
            detail = "port taken by a process loom did not start"
            return ServiceStatus(service.name, service.port, "foreign", detail, None)
        return ServiceStatus(service.name, service.port, "stopped", "", None)

    def status(self) -> list[ServiceStatus]:
        """Return the status of every service."""
        return [self.status_of(s) for s in self.services]

    def up(self, only: list[str] | None = None) -> list[ServiceStatus]:
        """Start every service that is not running, and wait until all are healthy.

        Idempotent: healthy services are left alone, crashed ones restarted. On a
        failure the services this call started are stopped again, so nothing is
        left half-started, and a :class:`StackError` says what failed.
        """
        chosen = [s for s in self.services if only is None or s.name in only]
        started: list[Service] = []
        with self._exclusive():
            try:
                for service in chosen:
                    self._start(service, started)
                for service in chosen:
                    self._wait_ready(service)
                    service.after_start()
                    self._require_healthy(service)
            except BaseException:
                for service in reversed(started):
                    service.process.stop(service.stop_signal)
                raise
        return [self.status_of(s) for s in chosen]

    @contextlib.contextmanager
    def _exclusive(self) -> Iterator[None]:
        """One ``up`` or ``down`` at a time per home; a second one waits its turn.

        Two terminals (or test sessions) starting the same stack would otherwise
        unpack the same downloads over each other and stop each other's servers.
        """
        self.settings.home.mkdir(parents=True, exist_ok=True)
        with (self.settings.home / "stack.lock").open("a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                self.report("waiting for another `loom stack` command on this home")
                fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def _start(self, service: Service, started: list[Service]) -> None:
        proc = service.process
        if proc.running():
            self.report(f"{service.name}: already running (pid {proc.pid()})")
            return
        if proc.crashed():
            self.report(f"{service.name}: found crashed, restarting")
            proc.stop()
        if port_in_use(service.port) and not _frees_up(service.port):
            msg = (
                f"{service.name}: port {service.port} on 127.0.0.1 is already in use by "
                f"a process loom did not start; stop it (ss -ltnp 'sport = :{service.port}') "
                "or point the LOOM_* URL at a free port"
            )
            raise StackError(msg)
        service.provision()
        service.prepare()
        self.report(f"{service.name}: starting on 127.0.0.1:{service.port}")
        proc.start(
            service.argv(), env=service.env(), cwd=service.home, user=service.user
        )
        started.append(service)

    def _require_healthy(self, service: Service) -> None:
        reason = service.health()
        if reason is not None:
            msg = f"{service.name} started but is not healthy: {reason}"
            raise StackError(msg)
        self.report(f"{service.name}: healthy")

    def _wait_ready(self, service: Service) -> None:
        deadline = time.monotonic() + service.startup_timeout
        while True:
            try:
                service.ready()
            except Exception as exc:  # noqa: BLE001 - not ready yet, whatever the cause
                reason = first_line(exc)
            else:
                return
            if not service.process.running():
                tail = service.process.log_tail(3).replace("\n", " | ")
                msg = (
                    f"{service.name} exited during start-up: {tail or 'no output'} "
                    f"(full log: {service.process.log_file})"
                )
                raise StackError(msg)
            if time.monotonic() > deadline:
                msg = (
                    f"{service.name} not healthy after {service.startup_timeout:.0f} s "
                    f"({reason}); see {service.process.log_file}"
                )
                raise StackError(msg)
            time.sleep(0.5)

    def down(self, only: list[str] | None = None) -> list[str]:
        """Stop the services ``up`` started (in reverse order); return their names.

        A full ``down`` first stops the ingest API and Dagster that ``loom serve``
        or ``loom demo`` run on top of the stack (:mod:`loom_cli.stack.apps`).
        """
        with self._exclusive():
            stopped = (
                [] if only is not None else apps.stop_apps(self.settings, self.report)
            )
            for service in reversed(self.services):
                if only is not None and service.name not in only:
                    continue
                if service.process.stop(service.stop_signal):
                    self.report(f"{service.name}: stopped")
                    stopped.append(service.name)
        return stopped

    def restart(self, name: str) -> None:
        """Stop one service and start it again (used by crash tests)."""
        service = self.service(name)
        service.process.stop(service.stop_signal)
        self.up(only=[name])

    def kill(self, name: str) -> None:
        """SIGKILL one service, as a crash would (used by crash tests)."""
        self.service(name).process.kill()


def _frees_up(port: int) -> bool:
    """Whether a port found in use is free again within ``PORT_SETTLE_S``.

    A crashed server's children may still be exiting with its listening socket,
    and a connection to a free port in the ephemeral range can meet itself (the
    kernel picked the same port as its source): neither is "in use".
    """
    deadline = time.monotonic() + PORT_SETTLE_S
    while time.monotonic() < deadline:
        time.sleep(0.1)
        if not port_in_use(port):
            return True
    return False

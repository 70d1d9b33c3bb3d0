"""``loom stack up | down | status``, for the single-node stack and the cluster."""

from __future__ import annotations

import sys

import click

from loom_cli.stack import apps
from loom_cli.stack.cluster import BASE_PORT, BROKERS, ClusterLayout, client_environment
from loom_cli.stack.process import StackError
from loom_cli.stack.stack import ServiceStatus, Stack
from loom_core.settings import LoomSettings

SERVICES = click.Choice(
    [
        "postgres",
        "redis",
        "kafka",
        "trino",
        *(f"kafka-{i}" for i in range(1, BROKERS + 1)),
        *(f"kafka-controller-{i}" for i in range(1, BROKERS + 1)),
        "trino-worker",
        "postgres-replica",
    ]
)
CLUSTER = click.option(
    "--cluster",
    is_flag=True,
    help="The local cluster (3 Kafka brokers and 3 controllers, Trino with a worker).",
)


def _report(quiet: bool):  # noqa: ANN202
    def report(message: str) -> None:
        if not quiet:
            click.echo(f"  {message}", err=True)

    return report


def _stack(quiet: bool = False) -> Stack:
    return Stack(LoomSettings(), _report(quiet))


def _cluster(quiet: bool = False) -> Stack | None:
    """Return the cluster as `loom stack up --cluster` last laid it out, or None."""
    settings = LoomSettings()
    layout = ClusterLayout.load(settings.home)
    return None if layout is None else Stack.cluster(settings, layout, _report(quiet))


def _chosen(the_stack: Stack, services: tuple[str, ...]) -> list[str] | None:
    names = {s.name for s in the_stack.services}
    unknown = [s for s in services if s not in names]
    if unknown:
        click.secho(
            f"loom stack: no service {', '.join(unknown)} here "
            f"(these are: {', '.join(sorted(names))})",
            fg="red",
            err=True,
        )
        sys.exit(2)
    return list(services) or None


@click.group()
def stack() -> None:
    """Run Kafka, TimescaleDB, Redis and Trino as local processes."""


@stack.command()
@click.argument("services", nargs=-1, type=SERVICES)
@CLUSTER
@click.option(
    "--replica",
    is_flag=True,
    help="With --cluster: a PostgreSQL streaming replica too.",
)
@click.option(
    "--base-port",
    type=int,
    default=None,
    help=f"With --cluster: the first of its ports (default {BASE_PORT}, or as last time).",
)
def up(
    services: tuple[str, ...], cluster: bool, replica: bool, base_port: int | None
) -> None:
    """Install what is missing, start the stack and wait until it is healthy."""
    if cluster:
        settings = LoomSettings()
        last = ClusterLayout.load(settings.home) or ClusterLayout()
        layout = ClusterLayout(
            base_port=base_port or last.base_port, replica=replica or last.replica
        )
        layout.save(settings.home)
        the_stack = Stack.cluster(settings, layout, _report(quiet=False))
    elif replica or base_port:
        click.secho("loom stack up: --replica and --base-port need --cluster", err=True)
        sys.exit(2)
    else:
        the_stack = _stack()
    click.echo(f"loom stack: state in {the_stack.settings.home}", err=True)
    try:
        statuses = the_stack.up(_chosen(the_stack, services))
    except StackError as exc:
        click.secho(f"loom stack up failed: {exc}", fg="red", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.secho("loom stack up interrupted; what it started is stopped", err=True)
        sys.exit(130)
    for status in statuses:
        click.echo(status.line())
    if cluster:
        click.echo("# point Loom at the cluster:", err=True)
        for key, value in client_environment(the_stack.settings).items():
            click.echo(f"export {key}={value}", err=True)


@stack.command()
@click.argument("services", nargs=-1, type=SERVICES)
@CLUSTER
def down(services: tuple[str, ...], cluster: bool) -> None:
    """Stop exactly the servers `loom stack up` started.

    Without SERVICES, the ingest API and Dagster that `loom serve` or `loom demo`
    run are stopped first, and the cluster too when one runs. With --cluster, only
    the cluster's servers are stopped.
    """
    stacks = [s for s in (None if cluster else _stack(), _cluster()) if s is not None]
    stopped: list[str] = []
    for the_stack in stacks:
        names = {s.name for s in the_stack.services}
        wanted = [s for s in services if s in names]
        if services and not wanted:
            continue
        stopped += the_stack.down(wanted or None)
    if not stopped:
        click.echo("nothing to stop", err=True)


@stack.command()
@CLUSTER
def status(cluster: bool) -> None:
    """Print one line per process; exit 0 only when all of them are healthy.

    The cluster's processes are listed too once `loom stack up --cluster` ran
    (only them with --cluster). The ingest API and Dagster, when `loom serve` or
    `loom demo` runs them, get a line each too.
    """
    statuses: list[ServiceStatus] = []
    if not cluster:
        the_stack = _stack(quiet=True)
        statuses += the_stack.status()
        for line in statuses:
            click.echo(line.line())
        for name, pid in apps.running_apps(the_stack.settings).items():
            click.echo(f"{name:<18} running   pid {pid} (loom serve or loom demo)")
    the_cluster = _cluster(quiet=True)
    if the_cluster is not None:
        in_cluster = the_cluster.status()
        if cluster or any(s.state != "stopped" for s in in_cluster):
            click.echo(f"cluster ({the_cluster.settings.home}):")
            for line in in_cluster:
                click.echo(f"  {line.line()}")
            statuses += in_cluster
    elif cluster:
        click.echo("no cluster: start one with `loom stack up --cluster`")
    sys.exit(0 if statuses and all(s.healthy for s in statuses) else 1)

"""``loom stack up | down | status``."""

from __future__ import annotations

import sys

import click

from loom_cli.stack import apps
from loom_cli.stack.process import StackError
from loom_cli.stack.stack import Stack
from loom_core.settings import LoomSettings

SERVICES = click.Choice(["postgres", "redis", "kafka", "trino"])


def _stack(quiet: bool = False) -> Stack:
    def report(message: str) -> None:
        if not quiet:
            click.echo(f"  {message}", err=True)

    return Stack(LoomSettings(), report)


@click.group()
def stack() -> None:
    """Run Kafka, TimescaleDB, Redis and Trino as local processes."""


@stack.command()
@click.argument("services", nargs=-1, type=SERVICES)
def up(services: tuple[str, ...]) -> None:
    """Install what is missing, start the stack and wait until it is healthy."""
    the_stack = _stack()
    click.echo(f"loom stack: state in {the_stack.settings.home}", err=True)
    try:
        statuses = the_stack.up(list(services) or None)
    except StackError as exc:
        click.secho(f"loom stack up failed: {exc}", fg="red", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.secho("loom stack up interrupted; what it started is stopped", err=True)
        sys.exit(130)
    for status in statuses:
        click.echo(status.line())


@stack.command()
@click.argument("services", nargs=-1, type=SERVICES)
def down(services: tuple[str, ...]) -> None:
    """Stop exactly the servers `loom stack up` started.

    Without SERVICES, the ingest API and Dagster that `loom serve` or `loom demo`
    run are stopped first.
    """
    stopped = _stack().down(list(services) or None)
    if not stopped:
        click.echo("nothing to stop", err=True)


@stack.command()
def status() -> None:
    """Print one line per service; exit 0 only when all four are healthy.

    The ingest API and Dagster, when `loom serve` or `loom demo` runs them, get a
    line each too.
    """
    the_stack = _stack(quiet=True)
    statuses = the_stack.status()
    for line in statuses:
        click.echo(line.line())
    for name, pid in apps.running_apps(the_stack.settings).items():
        click.echo(f"{name:<9} running   pid {pid} (loom serve or loom demo)")
    sys.exit(0 if all(s.healthy for s in statuses) else 1)

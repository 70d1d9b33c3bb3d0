"""``loom api``: serve the ingest API alone (``loom serve`` runs it beside Dagster)."""

from __future__ import annotations

import os
import sys

import click


def default_workers() -> int:
    """One uvicorn worker per core this process may run on.

    ``os.sched_getaffinity`` (what Python 3.13's ``os.process_cpu_count`` reads)
    where the platform has it, else ``os.cpu_count()``; at least 1.
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        cores = os.cpu_count() or 1
    return max(1, cores)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8000, show_default=True, help="Port to listen on.")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=default_workers,
    show_default="one per core",
    help="uvicorn worker processes. Each has its own producer, key cache, "
    "failed-authentication counts and /metrics; use 1 where one process must "
    "hold them (a Prometheus scrape of several workers sees one at random).",
)
@click.option(
    "--access-log/--no-access-log",
    default=True,
    show_default=True,
    help="Log every request (keys redacted).",
)
@click.option(
    "--log-level",
    default="info",
    show_default=True,
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
)
def api(host: str, port: int, workers: int, access_log: bool, log_level: str) -> None:
    """Serve the ingest API (OpenAPI docs at /docs).

    Reads LOOM_* settings; applies pending migrations (the device registry) first.
    """
    import uvicorn  # noqa: PLC0415 - the CLI loads the server only when asked

    from ingest_api.server import UVICORN_OPTIONS  # noqa: PLC0415
    from loom_core import migrations  # noqa: PLC0415
    from loom_core.settings import LoomSettings  # noqa: PLC0415

    settings = LoomSettings()
    try:
        migrations.apply(settings.database_url)
    except (migrations.MigrationError, OSError) as exc:
        click.secho(f"loom api: {exc}", fg="red", err=True)
        sys.exit(1)
    except Exception as exc:  # noqa: BLE001 - psycopg's connection errors
        click.secho(
            f"loom api: PostgreSQL at {settings.database_url.rsplit('@', 1)[-1]} is "
            f"unreachable ({type(exc).__name__}); start it with `loom stack up`",
            fg="red",
            err=True,
        )
        sys.exit(1)
    click.echo(
        f"loom api: http://{host}:{port} (docs at /docs), {workers} worker(s)",
        err=True,
    )
    uvicorn.run(
        "ingest_api.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=access_log,
        log_level=log_level,
        **UVICORN_OPTIONS,
    )

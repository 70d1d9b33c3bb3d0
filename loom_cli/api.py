"""``loom api``: serve the ingest API alone (``loom serve`` runs it beside Dagster)."""

from __future__ import annotations

import sys

import click


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8000, show_default=True, help="Port to listen on.")
@click.option(
    "--workers", default=1, show_default=True, help="uvicorn worker processes."
)
@click.option(
    "--log-level",
    default="info",
    show_default=True,
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
)
def api(host: str, port: int, workers: int, log_level: str) -> None:
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
    click.echo(f"loom api: http://{host}:{port} (docs at /docs)", err=True)
    uvicorn.run(
        "ingest_api.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        **UVICORN_OPTIONS,
    )

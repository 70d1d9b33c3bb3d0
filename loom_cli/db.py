"""``loom db migrate``: apply the SQL migrations under ``sql/migrations``."""

from __future__ import annotations

import sys

import click


@click.group()
def db() -> None:
    """Manage the loom database (TimescaleDB)."""


@db.command()
def migrate() -> None:
    """Apply the pending migrations, in order, once each (safe to repeat)."""
    import psycopg  # noqa: PLC0415 - keep the CLI's start light

    from loom_core import migrations  # noqa: PLC0415
    from loom_core.settings import get_settings  # noqa: PLC0415

    settings = get_settings()
    try:
        applied = migrations.apply(settings.database_url)
    except migrations.MigrationError as exc:
        click.secho(f"loom db migrate failed: {exc}", fg="red", err=True)
        sys.exit(1)
    except psycopg.OperationalError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
        click.secho(
            f"loom db migrate: cannot reach the database ({first}); "
            "start it with `loom stack up` or check LOOM_DATABASE_URL",
            fg="red",
            err=True,
        )
        sys.exit(1)
    for migration in applied:
        click.echo(f"applied {migration.path.name}")
    click.echo(
        f"database up to date ({len(applied)} migration(s) applied now)", err=True
    )

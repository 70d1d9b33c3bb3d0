"""``loom db migrate``: apply the SQL migrations under ``sql/migrations``."""

from __future__ import annotations

import click

from loom_cli.errors import fail, no_database


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
        fail("db migrate", f"failed: {exc}")
    except psycopg.OperationalError as exc:
        fail("db migrate", no_database(exc))
    for migration in applied:
        click.echo(f"applied {migration.path.name}")
    click.echo(
        f"database up to date ({len(applied)} migration(s) applied now)", err=True
    )

"""``loom devices add | list | revoke``: the devices allowed to post, and their keys."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import click

from loom_cli.errors import first_line

if TYPE_CHECKING:
    import psycopg


@contextmanager
def _registry() -> Iterator[psycopg.Connection]:
    """Connect to the registry's database, migrated; exit 1 with a hint if down."""
    import psycopg  # noqa: PLC0415

    from loom_core import migrations  # noqa: PLC0415
    from loom_core.settings import EXTERNAL_TIMEOUT_S, LoomSettings  # noqa: PLC0415

    url = LoomSettings().database_url
    try:
        migrations.apply(url)
        conn = psycopg.connect(url, connect_timeout=EXTERNAL_TIMEOUT_S)
    except (psycopg.OperationalError, migrations.MigrationError) as exc:
        where = url.rsplit("@", 1)[-1]
        click.secho(
            f"loom devices: cannot use PostgreSQL at {where} ({first_line(exc)}); "
            "is the stack up? (`loom stack up`)",
            fg="red",
            err=True,
        )
        sys.exit(1)
    with conn:
        yield conn


def _fail(message: str) -> None:
    click.secho(f"loom devices: {message}", fg="red", err=True)
    sys.exit(1)


@click.group()
def devices() -> None:
    """Register devices and manage their API keys (stored hashed)."""


@devices.command()
@click.argument("name")
@click.option("--id", "device_id", help="Choose the device id (default: from NAME).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def add(name: str, device_id: str | None, as_json: bool) -> None:
    """Register device NAME and print its id and API key (shown only once)."""
    from ingest_api import registry  # noqa: PLC0415

    with _registry() as conn:
        try:
            device, key = registry.add(conn, name, device_id)
        except registry.RegistryError as exc:
            _fail(str(exc))
            return
    if as_json:
        click.echo(json.dumps({"device_id": device.device_id, "api_key": key}))
        return
    click.echo(f"device_id: {device.device_id}")
    click.echo(f"api_key:   {key}")
    click.echo(
        "Keep the key now: only its hash is stored. docs/ingest-apps.md says where "
        "to enter it in each app.",
        err=True,
    )


@devices.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def list_devices(as_json: bool) -> None:
    """List the registered devices (keys show only their first characters)."""
    from ingest_api import registry  # noqa: PLC0415

    with _registry() as conn:
        found = registry.devices(conn)
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "device_id": d.device_id,
                        "name": d.name,
                        "key_prefix": d.key_prefix,
                        "created_at": d.created_at.isoformat(),
                        "revoked_at": (
                            d.revoked_at.isoformat() if d.revoked_at else None
                        ),
                    }
                    for d in found
                ]
            )
        )
        return
    if not found:
        click.echo("no devices yet; `loom devices add NAME` registers one", err=True)
        return
    click.echo(f"{'DEVICE ID':<32} {'NAME':<24} {'KEY':<16} {'CREATED':<20} STATUS")
    for d in found:
        state = f"revoked {d.revoked_at:%Y-%m-%d %H:%M}" if d.revoked_at else "active"
        click.echo(
            f"{d.device_id:<32} {d.name[:24]:<24} {d.key_prefix + '…':<16} "
            f"{d.created_at:%Y-%m-%d %H:%M}     {state}"
        )


@devices.command()
@click.argument("device_id")
def revoke(device_id: str) -> None:
    """Revoke DEVICE_ID's key: running ingresses refuse it at once (401)."""
    from ingest_api import registry  # noqa: PLC0415

    with _registry() as conn:
        try:
            device = registry.revoke(conn, device_id)
        except registry.RegistryError as exc:
            _fail(str(exc))
            return
    click.echo(
        f"{device.device_id}: revoked at {device.revoked_at:%Y-%m-%d %H:%M:%S %Z}"
    )

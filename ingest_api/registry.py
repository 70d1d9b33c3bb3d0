"""The device registry in PostgreSQL (``sql/migrations/0010_devices.sql``).

Used by ``loom devices`` (add, list, revoke) and, for key lookups, by the ingress.
Only psycopg is imported here, so the CLI stays light.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg.rows import class_row

from ingest_api import keys
from loom_core.contracts.envelope import is_partition_key

CHANNEL = "loom_device_keys"  # NOTIFY channel of the migration's trigger
LOOKUP = "SELECT device_id FROM devices WHERE key_hash = %s AND revoked_at IS NULL"
_INSERT = """
    INSERT INTO devices (device_id, name, key_hash, key_prefix) VALUES (%s, %s, %s, %s)
    RETURNING device_id, name, key_prefix, created_at, revoked_at
"""
_ALL = """
    SELECT device_id, name, key_prefix, created_at, revoked_at
    FROM devices ORDER BY created_at, device_id
"""
_ONE = """
    SELECT device_id, name, key_prefix, created_at, revoked_at
    FROM devices WHERE device_id = %s
"""
_REVOKE = """
    UPDATE devices SET revoked_at = now() WHERE device_id = %s AND revoked_at IS NULL
    RETURNING device_id, name, key_prefix, created_at, revoked_at
"""


class RegistryError(Exception):
    """A registry operation cannot be done; the message says why and what to do."""


@dataclass(frozen=True)
class Device:
    """A registered device (its key is never kept, only its first characters)."""

    device_id: str
    name: str
    key_prefix: str
    created_at: datetime
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        """True until the device is revoked."""
        return self.revoked_at is None


def add(
    conn: psycopg.Connection, name: str, device_id: str | None = None
) -> tuple[Device, str]:
    """Register a device and return it with its API key (shown this once only).

    Raises
    ------
    RegistryError
        When ``name`` is empty or ``device_id`` is taken or malformed.
    """
    if not name.strip():
        msg = "a device needs a name, e.g. `loom devices add alice-phone`"
        raise RegistryError(msg)
    wanted = device_id or keys.new_device_id(name)
    if not is_partition_key(wanted):
        msg = (
            f"device id {wanted!r} holds '...', which cannot name the device's "
            "partitions (its data would never be enriched); choose another with --id"
        )
        raise RegistryError(msg)
    key = keys.new_key()
    try:
        with conn.transaction(), conn.cursor(row_factory=class_row(Device)) as cur:
            cur.execute(
                _INSERT,
                (wanted, name.strip(), keys.hash_key(key), keys.key_prefix(key)),
            )
            device = cur.fetchone()
    except psycopg.errors.UniqueViolation:
        msg = f"device id {wanted!r} is taken; choose another with --id"
        raise RegistryError(msg) from None
    except psycopg.errors.CheckViolation:
        msg = (
            f"device id {wanted!r} is not valid: use up to 64 letters, digits, "
            "'.', '_', ':' or '-', starting with a letter or digit"
        )
        raise RegistryError(msg) from None
    assert device is not None  # noqa: S101 - RETURNING always yields the row
    return device, key


def devices(conn: psycopg.Connection) -> list[Device]:
    """Return every registered device, oldest first."""
    with conn.cursor(row_factory=class_row(Device)) as cur:
        return cur.execute(_ALL).fetchall()


def revoke(conn: psycopg.Connection, device_id: str) -> Device:
    """Revoke a device's key (at once, on every running ingress); return the device.

    Revoking an already revoked device changes nothing.

    Raises
    ------
    RegistryError
        When there is no such device.
    """
    with conn.transaction(), conn.cursor(row_factory=class_row(Device)) as cur:
        device = cur.execute(_REVOKE, (device_id,)).fetchone()
        if device is None:
            device = cur.execute(_ONE, (device_id,)).fetchone()
    if device is None:
        msg = f"there is no device {device_id!r}; `loom devices list` shows the ids"
        raise RegistryError(msg)
    return device

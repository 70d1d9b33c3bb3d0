"""The demo device: registered once, its key kept under ``$LOOM_HOME/demo``.

A key is shown only once (only its hash is stored), so the demo keeps it in a
file readable by its owner alone; a second run reuses it when it still opens the
registry, and registers the device only when it does not exist yet.
"""

from __future__ import annotations

import os
from pathlib import Path

import psycopg

from ingest_api import keys, registry


class DeviceError(Exception):
    """The demo device cannot be used; the message says what to do."""


def key_file(home: Path, device_id: str) -> Path:
    """Where the demo keeps ``device_id``'s API key."""
    return home / "demo" / f"{device_id}.key"


def _write_key(path: Path, key: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(key + "\n")


def ensure_device(
    conn: psycopg.Connection, home: Path, device_id: str, name: str
) -> tuple[str, bool]:
    """Return the device's API key, registering the device if it is new.

    Returns
    -------
    tuple[str, bool]
        The key, and whether the device was registered just now.

    Raises
    ------
    DeviceError
        When the device exists but its key is lost or revoked.
    """
    path = key_file(home, device_id)
    if path.exists():
        key = path.read_text().strip()
        row = conn.execute(registry.LOOKUP, (keys.hash_key(key),)).fetchone()
        if row is not None and row[0] == device_id:
            return key, False
    try:
        _device, key = registry.add(conn, name, device_id)
    except registry.RegistryError as exc:
        if "is taken" not in str(exc):
            raise DeviceError(str(exc)) from None
        msg = (
            f"device {device_id!r} is registered, but its key is not in {path} or "
            "was revoked (a key is shown only once); run the demo as another "
            "device: `loom demo --device ANOTHER-ID`"
        )
        raise DeviceError(msg) from None
    conn.commit()
    _write_key(path, key)
    return key, True

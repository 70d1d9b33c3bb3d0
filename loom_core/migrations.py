"""Versioned SQL migrations under ``sql/migrations``, applied in order, once each.

A migration is a file ``NNNN_name.sql``. Applied versions are recorded with a
checksum in ``schema_migrations``; a file changed after it was applied is an error
(write a new migration instead). A transaction-scoped advisory lock lets several
processes (``loom serve``, a Helm hook, tests) run ``apply`` at once safely.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import psycopg

from loom_core.settings import EXTERNAL_TIMEOUT_S, REPO_ROOT

MIGRATIONS_DIR = REPO_ROOT / "sql" / "migrations"
_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_LOCK_ID = 0x4C6F6F6D  # "Loom"


class MigrationError(RuntimeError):
    """A migration cannot be applied; the message says which and why."""


@dataclass(frozen=True)
class Migration:
    """One SQL file of ``sql/migrations``."""

    version: str
    name: str
    path: Path

    @property
    def sql(self) -> str:
        """The file's SQL text."""
        return self.path.read_text()

    @property
    def checksum(self) -> str:
        """SHA-256 of the SQL text."""
        return hashlib.sha256(self.sql.encode()).hexdigest()


def discover(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """Return the migrations in ``directory`` in version order."""
    found = []
    for path in sorted(directory.glob("*.sql")):
        match = _FILE.match(path.name)
        if match is None:
            msg = f"{path.name}: migration files are named NNNN_lower_snake.sql"
            raise MigrationError(msg)
        found.append(Migration(match.group(1), match.group(2), path))
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        msg = f"two migrations share a version number in {directory}"
        raise MigrationError(msg)
    return found


def apply(database_url: str, directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """Apply the pending migrations and return them (empty when up to date).

    Raises
    ------
    MigrationError
        When an applied migration's file changed, or a migration's SQL fails.
    """
    migrations = discover(directory)
    applied_now = []
    with psycopg.connect(database_url, connect_timeout=EXTERNAL_TIMEOUT_S) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version text PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        conn.commit()
        for migration in migrations:
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_ID,))
                row = conn.execute(
                    "SELECT checksum FROM schema_migrations WHERE version = %s",
                    (migration.version,),
                ).fetchone()
                if row is not None:
                    if row[0] != migration.checksum:
                        msg = (
                            f"migration {migration.path.name} changed after it was "
                            "applied; restore it and add a new migration instead"
                        )
                        raise MigrationError(msg)
                    continue
                try:
                    conn.execute(migration.sql)  # type: ignore[arg-type]
                except psycopg.Error as exc:
                    msg = f"migration {migration.path.name} failed: {exc}".strip()
                    raise MigrationError(msg) from exc
                conn.execute(
                    "INSERT INTO schema_migrations (version, name, checksum)"
                    " VALUES (%s, %s, %s)",
                    (migration.version, migration.name, migration.checksum),
                )
                applied_now.append(migration)
    return applied_now

"""Connection settings shared by every Loom component (``LOOM_*`` variables)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


def _default_home() -> Path:
    """Return ``<repo>/.loom`` in a checkout, else ``~/.loom``."""
    if (REPO_ROOT / "pyproject.toml").exists():
        return REPO_ROOT / ".loom"
    return Path.home() / ".loom"


class LoomSettings(BaseSettings):
    """Where the servers of the stack are and where local state lives.

    Every field is read from the environment with the ``LOOM_`` prefix, e.g.
    ``LOOM_KAFKA_BOOTSTRAP``; the defaults are the fixed ports of ``loom stack``.
    """

    model_config = SettingsConfigDict(env_prefix="LOOM_", extra="ignore")

    kafka_bootstrap: str = "127.0.0.1:19092"
    database_url: str = "postgresql://loom:loom@127.0.0.1:15433/loom"
    redis_url: str = "redis://127.0.0.1:16379/0"
    trino_url: str = "http://127.0.0.1:18080"
    home: Path = Field(default_factory=_default_home)
    cache_dir: Path | None = Field(
        default=None, description="Downloads and builds; default <home>/cache"
    )

    @property
    def cache(self) -> Path:
        """Folder of downloads and builds, shared by stacks that set the same one."""
        return self.cache_dir or self.home / "cache"

    @property
    def kafka_port(self) -> int:
        """Port of the Kafka bootstrap server."""
        return int(self.kafka_bootstrap.rsplit(":", 1)[1])

    @property
    def postgres_port(self) -> int:
        """Port of the PostgreSQL server."""
        return urlsplit(self.database_url).port or 5432

    @property
    def redis_port(self) -> int:
        """Port of the Redis server."""
        return urlsplit(self.redis_url).port or 6379

    @property
    def trino_port(self) -> int:
        """Port of the Trino coordinator."""
        return urlsplit(self.trino_url).port or 8080


@cache
def get_settings() -> LoomSettings:
    """Return the settings read from the environment once per process."""
    return LoomSettings()

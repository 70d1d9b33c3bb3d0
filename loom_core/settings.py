"""Connection settings shared by every Loom component (``LOOM_*`` variables)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent
# Each Redis key prefix and the longest TTL its keys may have, in seconds
# (project-rules.md): enforced by the ingress's settings and by ``loom lint``.
REDIS_TTL_LIMITS = {"pair:": 30, "chunk:": 300}
# Every call to another server (database, broker, Redis, HTTP) gives up within this
# many seconds, and is retried at most twice (project-rules.md).
EXTERNAL_TIMEOUT_S = 5


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

    kafka_bootstrap: str = Field(
        default="127.0.0.1:19092",
        description="Kafka bootstrap servers, host:port[,...]",
    )
    database_url: str = Field(
        default="postgresql://loom:loom@127.0.0.1:15433/loom",
        description="PostgreSQL/TimescaleDB of the hypertables, API keys and devices",
    )
    redis_url: str = Field(
        default="redis://127.0.0.1:16379/0",
        description="Redis (or Valkey): camera pairs and resumable uploads",
    )
    trino_url: str = Field(
        default="http://127.0.0.1:18080", description="Trino coordinator (analysts)"
    )
    dagster_database_url: str | None = Field(
        default=None,
        description="Dagster's own database for `loom serve`; default: database"
        " `dagster` beside LOOM_DATABASE_URL",
    )
    home: Path = Field(
        default_factory=_default_home,
        description="Local state: stack data, logs; default <repo>/.loom or ~/.loom",
    )
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


class TelemetrySettings(BaseSettings):
    """Where a process sends its traces (``LOOM_OTLP_ENDPOINT``, ``LOOM_SERVICE_NAME``).

    The same two variables as the ingest API's :class:`IngestSettings` fields, so one
    value in a chart or shell configures every process.
    """

    model_config = SettingsConfigDict(env_prefix="LOOM_", extra="ignore")

    otlp_endpoint: str | None = Field(
        default=None,
        description="OTLP/HTTP traces endpoint, e.g. http://127.0.0.1:4318/v1/traces;"
        " tracing is off when unset",
    )
    service_name: str | None = Field(
        default=None, description="OTel service.name; default: the process's own name"
    )


def env_name(model: type[BaseSettings], field: str) -> str:
    """Return the environment variable that sets ``field`` of a settings ``model``.

    The first validation alias when the field has one, else the model's prefix and
    the field's name in capitals (``LOOM_DATABASE_URL``): code that needs a variable
    by name (a Dagster ``EnvVar``, a chart test) takes it from the model.
    """
    info = model.model_fields[field]
    alias = info.validation_alias
    if isinstance(alias, str):
        return alias
    if alias is not None:
        return str(alias.choices[0])
    return f"{model.model_config.get('env_prefix', '')}{field}".upper()


@cache
def get_settings() -> LoomSettings:
    """Return the settings read from the environment once per process."""
    return LoomSettings()

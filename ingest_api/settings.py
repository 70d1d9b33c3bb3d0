"""Settings of the ingest API: the stack's connections plus the ingress's own knobs.

Every field is read from a ``LOOM_*`` environment variable (``LOOM_MAX_BODY_BYTES``,
``LOOM_AUDIO_CHUNK_SECONDS``, ``LOOM_OTLP_ENDPOINT``, ...).
"""

from __future__ import annotations

from datetime import UTC, datetime
from ipaddress import IPv4Network, IPv6Network, ip_address
from pathlib import Path

from pydantic import AwareDatetime, Field, IPvAnyNetwork, model_validator

from loom_core.settings import REDIS_TTL_LIMITS, LoomSettings

PAIR_TTL_LIMIT_S = REDIS_TTL_LIMITS["pair:"]
CHUNK_TTL_LIMIT_S = REDIS_TTL_LIMITS["chunk:"]


class IngestSettings(LoomSettings):
    """How the ingress behaves; the connection fields come from :class:`LoomSettings`."""

    max_body_bytes: int = Field(
        default=5 * 1024 * 1024,
        gt=0,
        description="Largest JSON request body; bigger ones get 413",
    )
    kafka_max_message_bytes: int = Field(
        default=4_000_000,
        gt=0,
        description="Largest Kafka message value (the broker allows 4 MiB)",
    )
    kafka_ack_timeout_seconds: float = Field(
        default=4.5,
        gt=0,
        le=5,
        description="How long a request waits for Kafka's delivery report before 503",
    )
    retry_after_seconds: int = Field(
        default=5, ge=1, description="Retry-After sent with a 503"
    )
    audio_chunk_seconds: float = Field(
        default=5.0,
        gt=0,
        le=60,
        description="Length of the audio chunks cut from streams and uploads",
    )
    pair_wait_seconds: float = Field(
        default=10.0,
        gt=0,
        description="How long the first frame of a camera pair waits for its mate",
    )
    pair_ttl_seconds: int = Field(
        default=PAIR_TTL_LIMIT_S,
        gt=0,
        le=PAIR_TTL_LIMIT_S,
        description="TTL of pair:<device_id>:<pair_id> keys in Redis",
    )
    upload_ttl_seconds: int = Field(
        default=CHUNK_TTL_LIMIT_S,
        gt=0,
        le=CHUNK_TTL_LIMIT_S,
        description="TTL of chunk:<file_id>:offset, refreshed by every PUT",
    )
    upload_chunk_max_bytes: int = Field(
        default=16 * 1024 * 1024, gt=0, description="Largest body of one upload PUT"
    )
    upload_max_bytes: int = Field(
        default=4 * 1024**3, gt=0, description="Largest resumable upload"
    )
    uploads_dir: Path | None = Field(
        default=None, description="Bytes of uploads in progress; default <home>/uploads"
    )
    upload_max_decoded_seconds: float = Field(
        default=6 * 3600,
        gt=0,
        description="Longest recording an upload may decode to; longer ones get 413",
    )
    upload_max_decode_ratio: float = Field(
        default=256,
        gt=0,
        description="Most decoded PCM bytes per uploaded byte; more gets 413",
    )
    upload_decode_timeout_seconds: float = Field(
        default=600,
        gt=0,
        description="Longest time decoding one upload may take; longer gets 413",
    )
    video_frame_interval_seconds: float = Field(
        default=5.0, gt=0, description="One camera frame per this many video seconds"
    )
    video_frame_max_side: int = Field(
        default=1280, ge=64, description="Sampled video frames are scaled to fit"
    )
    earliest_recorded_at: AwareDatetime = Field(
        default=datetime(2000, 1, 1, tzinfo=UTC),
        description="Events recorded before this are refused with 422 (a device "
        "clock that was never set)",
    )
    metrics_clients: list[IPvAnyNetwork] = Field(
        default=[IPv4Network("127.0.0.0/8"), IPv6Network("::1/128")],
        description="Networks whose clients may read /metrics (a JSON list, e.g. "
        '["10.0.0.0/8"]); others get 404. A reverse proxy must not forward /metrics',
    )
    api_key_cache_seconds: float = Field(
        default=60.0,
        ge=0,
        description="How long a checked API key is trusted without asking PostgreSQL"
        " (revocations evict it at once through LISTEN/NOTIFY)",
    )
    api_key_negative_cache_seconds: float = Field(
        default=30.0,
        ge=0,
        description="How long an unknown key is refused without asking PostgreSQL",
    )
    auth_failures_per_minute: int = Field(
        default=30,
        ge=1,
        description="Failed authentications one client address may make per minute;"
        " past it, 429 with Retry-After",
    )
    header_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        description="A connection whose request headers take longer is closed",
    )
    body_idle_timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        description="A connection whose request body stalls this long is closed",
    )
    otlp_endpoint: str | None = Field(
        default=None,
        description="OTLP/HTTP traces endpoint, e.g. http://127.0.0.1:4318/v1/traces;"
        " tracing is off when unset",
    )
    service_name: str = Field(default="ingest_api", description="OTel service.name")

    @model_validator(mode="after")
    def _pair_wait_fits_ttl(self) -> IngestSettings:
        if self.pair_wait_seconds >= self.pair_ttl_seconds:
            msg = (
                f"pair_wait_seconds ({self.pair_wait_seconds:g}) must be shorter than "
                f"pair_ttl_seconds ({self.pair_ttl_seconds})"
            )
            raise ValueError(msg)
        return self

    def may_read_metrics(self, host: str) -> bool:
        """Return True when a client at ``host`` may read ``/metrics``."""
        try:
            address = ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in self.metrics_clients)

    @property
    def uploads(self) -> Path:
        """Folder of upload bytes on local disk."""
        return self.uploads_dir or self.home / "uploads"

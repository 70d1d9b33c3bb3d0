"""The app's connections and helpers, made in its lifespan and reached via ``Depends``.

Nothing here is global: every :func:`~ingest_api.app.create_app` gets its own
producer, Redis client, key store and metrics, so tests run several side by side.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import Tracer
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from starlette.requests import HTTPConnection

from ingest_api.auth import FailedAuthLimit, KeyStore, authenticate
from ingest_api.observability import Metrics, tracer_from
from ingest_api.pairing import CameraPairing
from ingest_api.producer import EventProducer
from ingest_api.publish import Publisher
from ingest_api.settings import IngestSettings
from ingest_api.uploads import UploadStore
from loom_core.settings import EXTERNAL_TIMEOUT_S

RETRIES = 2


@dataclass
class Services:
    """Everything a request handler may need."""

    settings: IngestSettings
    metrics: Metrics
    tracer: Tracer
    producer: EventProducer
    publisher: Publisher
    redis: Redis
    keys: KeyStore
    auth_failures: FailedAuthLimit
    pairing: CameraPairing
    uploads: UploadStore


def redis_client(url: str) -> Redis:
    """Return an async Redis client with the project's timeouts and retries."""
    return Redis.from_url(
        url,
        socket_timeout=EXTERNAL_TIMEOUT_S,
        socket_connect_timeout=EXTERNAL_TIMEOUT_S,
        retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), RETRIES),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
        health_check_interval=30,
    )


@contextlib.asynccontextmanager
async def running(
    settings: IngestSettings, metrics: Metrics, provider: TracerProvider | None
) -> AsyncIterator[Services]:
    """Open the app's connections, and close them (flushing Kafka) on the way out."""
    tracer = tracer_from(provider)
    producer = EventProducer(
        settings.kafka_bootstrap,
        ack_timeout_s=settings.kafka_ack_timeout_seconds,
        max_message_bytes=settings.kafka_max_message_bytes,
    )
    publisher = Publisher(
        producer,
        metrics,
        tracer,
        max_message_bytes=settings.kafka_max_message_bytes,
        retry_after_s=settings.retry_after_seconds,
        earliest_recorded_at=settings.earliest_recorded_at,
    )
    redis = redis_client(settings.redis_url)
    keys = KeyStore(
        settings.database_url,
        settings.api_key_cache_seconds,
        settings.api_key_negative_cache_seconds,
    )
    services = Services(
        settings=settings,
        metrics=metrics,
        tracer=tracer,
        producer=producer,
        publisher=publisher,
        redis=redis,
        keys=keys,
        auth_failures=FailedAuthLimit(settings.auth_failures_per_minute),
        pairing=CameraPairing(
            redis,
            publisher,
            metrics,
            wait_s=settings.pair_wait_seconds,
            ttl_s=settings.pair_ttl_seconds,
        ),
        uploads=UploadStore(redis, settings),
    )
    await keys.start()
    sweeper = asyncio.create_task(services.uploads.sweep_forever(), name="uploads")
    try:
        yield services
    finally:
        sweeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sweeper
        await keys.close()
        await redis.aclose()
        await asyncio.to_thread(producer.close)
        if provider is not None:
            provider.shutdown()


# -- dependencies --------------------------------------------------------------------
# FastAPI solves each once per request (its dependency cache), however many
# parameters of a route and of its other dependencies ask for it.
async def get_services(conn: HTTPConnection) -> Services:
    """Return the app's services (async: no thread hop)."""
    return conn.app.state.services


ServicesDep = Annotated[Services, Depends(get_services)]
"""The app's services (``services.settings`` are its settings)."""


async def authenticated_device(conn: HTTPConnection, services: ServicesDep) -> str:
    """Return the device whose API key the request carries (see ``authenticate``)."""
    return await authenticate(conn, services.keys, services.auth_failures)


AuthenticatedDevice = Annotated[str, Depends(authenticated_device)]
"""The id of the device whose API key the request carries (401/403/429 if none)."""

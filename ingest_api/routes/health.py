"""``/healthz`` (the process is up), ``/readyz`` (its servers answer), ``/metrics``."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from redis.exceptions import RedisError

from ingest_api.producer import DeliveryError
from ingest_api.services import ServicesDep

router = APIRouter(tags=["operations"])
CHECK_TIMEOUT_S = 2.0


@router.get("/healthz", summary="Liveness: the process answers")
async def healthz() -> dict[str, str]:
    """Answer while the process runs (it needs no server for that)."""
    return {"status": "ok"}


async def _kafka(services: ServicesDep) -> str | None:
    try:
        await asyncio.to_thread(services.producer.check, CHECK_TIMEOUT_S)
    except DeliveryError as exc:
        return str(exc)
    return None


async def _redis(services: ServicesDep) -> str | None:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_S):
            await services.redis.ping()
    except (RedisError, TimeoutError) as exc:
        return f"Redis is unreachable: {exc or 'timed out'}"
    return None


async def _postgres(services: ServicesDep) -> str | None:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_S):
            await services.keys.check()
    except HTTPException as exc:
        return str(exc.detail)
    except TimeoutError:
        return "PostgreSQL did not answer in time"
    return None


@router.get(
    "/readyz",
    summary="Readiness: Kafka, Redis and PostgreSQL answer",
    responses={503: {"description": "A server is unreachable (named in checks)"}},
)
async def readyz(services: ServicesDep) -> JSONResponse:
    """Check Kafka (events), Redis (uploads, pairing), PostgreSQL (API keys)."""
    kafka, redis, postgres = await asyncio.gather(
        _kafka(services), _redis(services), _postgres(services)
    )
    checks = {
        "kafka": kafka or "ok",
        "redis": redis or "ok",
        "postgres": postgres or "ok",
    }
    ready = not (kafka or redis or postgres)
    return JSONResponse(
        {"status": "ready" if ready else "unavailable", "checks": checks},
        200 if ready else 503,
        headers=None if ready else {"Retry-After": "5"},
    )


@router.get(
    "/metrics",
    summary="Prometheus metrics (ingest_api_*)",
    response_class=Response,
    responses={
        200: {
            "description": "The Prometheus text format",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        },
        404: {"description": "The client's address is not in LOOM_METRICS_CLIENTS"},
    },
)
async def metrics(request: Request, services: ServicesDep) -> Response:
    """Expose the app's metrics in the Prometheus text format.

    Only to the addresses of ``LOOM_METRICS_CLIENTS`` (loopback by default);
    others get 404.
    """
    client = request.client.host if request.client else ""
    if not services.settings.may_read_metrics(client):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Not Found")
    return Response(
        generate_latest(services.metrics.registry), media_type=CONTENT_TYPE_LATEST
    )

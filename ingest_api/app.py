"""The FastAPI app: ``create_app()`` builds one, ``loom api`` serves it with uvicorn.

    uvicorn --factory ingest_api.app:create_app --port 8000

Its connections (Kafka producer, Redis, PostgreSQL key store) live in
``app.state.services`` for the app's lifespan, its settings in
``app.state.settings``; routers reach them, and the caller's device, with the
dependencies of :mod:`ingest_api.services`.
"""

from __future__ import annotations

import gc
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from opentelemetry.sdk.trace import TracerProvider
from starlette.requests import ClientDisconnect

from ingest_api import errors, redaction
from ingest_api.auth import SECURITY_SCHEMES
from ingest_api.errors import TooLarge
from ingest_api.inputs import request_schemas
from ingest_api.observability import (
    ASGIApp,
    Message,
    Metrics,
    ObservabilityMiddleware,
    Receive,
    Scope,
    Send,
    tracer_from,
)
from ingest_api.routes import audio_stream, compat, events, health, imports, uploads
from ingest_api.services import running
from ingest_api.settings import IngestSettings
from loom_core.tracing import tracer_provider as build_tracer_provider


class BodyLimit:
    """Answer 413 (JSON, naming the limit) to bodies over the configured size.

    Upload chunks (``PUT /v1/uploads/...``) have their own, larger limit. A
    declared ``Content-Length`` is refused before reading; a chunked body is
    counted as it streams.
    """

    def __init__(self, app: ASGIApp, default: int, uploads: int) -> None:
        self.app = app
        self.default = default
        self.uploads = uploads

    def _limit(self, scope: Scope) -> tuple[int, str]:
        if scope["method"] == "PUT" and scope["path"].startswith("/v1/uploads/"):
            return self.uploads, "LOOM_UPLOAD_CHUNK_MAX_BYTES"
        return self.default, "LOOM_MAX_BODY_BYTES"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse or count the body, then run the app."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit, setting = self._limit(scope)
        detail = f"the request body is over the limit of {limit} bytes ({setting})"
        declared = next(
            (value for name, value in scope["headers"] if name == b"content-length"),
            None,
        )
        if declared is not None and declared.isdigit():
            if int(declared) > limit:
                await JSONResponse({"detail": detail}, 413)(scope, receive, send)
                return
            # The server reads no more than a declared length: nothing to count.
            await self.app(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                raise TooLarge(detail)
            return message

        await self.app(scope, counted, send)


CLIENT_CLOSED_REQUEST = 499


async def _client_gone(_: Request, exc: Exception) -> Response:
    """Answer a client that left mid-body 499 (nginx's "client closed request").

    Nobody reads the answer; it keeps the request out of the 5xx metrics and
    its traceback out of the log.
    """
    del exc
    return Response(status_code=CLIENT_CLOSED_REQUEST)


def _complete_openapi(app: FastAPI) -> None:
    """Finish the schema FastAPI generates.

    Operations that need a key (those documenting a 401) list the ways to send
    one (see :data:`~ingest_api.auth.SECURITY_SCHEMES`), the event bodies the
    routes read themselves get their schemas, and a route serving both GET and
    POST (the tracker apps) gets an operation id per method.
    """
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", "Duplicate Operation ID")
                schema = generate()
            components = schema.setdefault("components", {})
            components["securitySchemes"] = SECURITY_SCHEMES
            components.setdefault("schemas", {}).update(request_schemas())
            any_scheme = [{name: []} for name in SECURITY_SCHEMES]
            for operations in schema["paths"].values():
                for operation in operations.values():
                    if "401" in operation.get("responses", {}):  # it needs a key
                        operation["security"] = any_scheme
                ids = {operation["operationId"] for operation in operations.values()}
                if len(operations) > 1 and len(ids) == 1:
                    for method, operation in operations.items():
                        operation["operationId"] += f"_{method}"
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def create_app(
    settings: IngestSettings | None = None,
    *,
    tracer_provider: TracerProvider | None = None,
) -> FastAPI:
    """Return a new ingest API.

    Parameters
    ----------
    settings
        Connections and limits; read from ``LOOM_*`` variables when omitted.
    tracer_provider
        Where spans go; default: an OTLP exporter when ``otlp_endpoint`` is set,
        otherwise spans are not recorded (a client's ``traceparent`` still reaches
        the Kafka headers).
    """
    settings = settings or IngestSettings()
    provider = tracer_provider or build_tracer_provider(
        settings.otlp_endpoint, settings.service_name
    )
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with running(settings, metrics, provider) as services:
            app.state.services = services
            # What is loaded by now lives as long as the app. Frozen, the garbage
            # collector's full passes, which a busy ingress triggers often, skip
            # it instead of walking every object of FastAPI, pydantic and the
            # rest each time (bench/ingest_throughput.py).
            gc.freeze()
            yield

    app = FastAPI(
        title="Loom ingest API",
        version="1.0.0",
        summary="Devices and tracker apps post raw events; each is acknowledged "
        "once Kafka has it.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.metrics = metrics
    errors.install(app)
    app.add_exception_handler(ClientDisconnect, _client_gone)
    app.add_middleware(
        BodyLimit,
        default=settings.max_body_bytes,
        uploads=settings.upload_chunk_max_bytes,
    )
    app.add_middleware(
        ObservabilityMiddleware, metrics=metrics, tracer=tracer_from(provider)
    )
    app.include_router(events.router)
    app.include_router(compat.router)
    app.include_router(audio_stream.router)
    app.include_router(uploads.router)
    app.include_router(imports.router)
    app.include_router(health.router)
    _complete_openapi(app)
    redaction.install()
    return app

"""Prometheus metrics and OpenTelemetry traces of the ingress.

Each app gets its own metric registry and tracer (no process-global state), and one
ASGI middleware records every request: a server span (continuing the client's
``traceparent``) and the request counters, labelled by route template.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from opentelemetry.propagators.textmap import DefaultGetter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import NoOpTracer, SpanKind, Status, StatusCode, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

PROPAGATOR = TraceContextTextMapPropagator()
_GETTER = DefaultGetter()
_TRACE_HEADERS = (b"traceparent", b"tracestate")
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)


class Metrics:
    """The ingress's Prometheus metrics, all named ``ingest_api_*``."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "ingest_api_requests",
            "HTTP requests and WebSocket sessions by route and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.request_seconds = Histogram(
            "ingest_api_request_duration_seconds",
            "Time to answer a request, by route",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.events = Counter(
            "ingest_api_events",
            "Events by family and outcome (accepted, invalid, forbidden, "
            "too_large, failed, ignored)",
            ["family", "outcome"],
            registry=self.registry,
        )
        self.kafka_delivery_seconds = Histogram(
            "ingest_api_kafka_delivery_seconds",
            "Time from produce to the broker's acknowledgement",
            ["topic"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.camera_pairs = Counter(
            "ingest_api_camera_pairs",
            "Camera frames with a pair id, by outcome (paired, unpaired)",
            ["outcome"],
            registry=self.registry,
        )
        self.upload_bytes = Counter(
            "ingest_api_upload_bytes",
            "Bytes received by resumable uploads",
            registry=self.registry,
        )
        self.audio_streams = Gauge(
            "ingest_api_audio_streams",
            "Open audio WebSocket streams",
            registry=self.registry,
        )
        self._children: dict[tuple[object, ...], Any] = {}

    def child(self, metric: Counter | Histogram, *labels: str) -> Any:
        """Return ``metric.labels(*labels)``, cached.

        Every request counts, and prometheus_client's ``labels()`` takes a lock
        and checks the values each time.
        """
        key = (id(metric), *labels)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = metric.labels(*labels)
        return found


def tracer_from(provider: TracerProvider | None) -> Tracer:
    """Return the app's tracer.

    Without a provider spans are not recorded, but a client's ``traceparent`` still
    flows through to the Kafka headers.
    """
    if provider is None:
        return NoOpTracer()
    return provider.get_tracer("ingest_api")


def trace_headers() -> list[tuple[str, bytes]]:
    """Return the current trace context as Kafka headers (``traceparent``...)."""
    carrier: dict[str, str] = {}
    PROPAGATOR.inject(carrier)
    return [(name, value.encode()) for name, value in carrier.items()]


class ObservabilityMiddleware:
    """Open a server span and count every request by route template and status."""

    def __init__(self, app: ASGIApp, metrics: Metrics, tracer: Tracer) -> None:
        self.app = app
        self.metrics = metrics
        self.tracer = tracer
        self.tracing = not isinstance(tracer, NoOpTracer)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the request inside a span and record its outcome."""
        if scope["type"] not in {"http", "websocket"}:
            await self.app(scope, receive, send)
            return
        method = scope.get("method", "WS")
        carrier = {
            name.decode("latin-1"): value.decode("latin-1")
            for name, value in scope["headers"]
            if name in _TRACE_HEADERS
        }
        context = PROPAGATOR.extract(carrier) if carrier else None
        status = 500 if method != "WS" else 101
        started = time.perf_counter()

        async def send_and_watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "websocket.close":
                status = message.get("code", 1000)
            await send(message)

        if not self.tracing and context is None:
            # Nothing to record or pass on: skip the span machinery.
            try:
                await self.app(scope, receive, send_and_watch)
            finally:
                self._count(scope, method, status, started)
            return
        with self.tracer.start_as_current_span(
            method, context=context, kind=SpanKind.SERVER
        ) as span:
            try:
                await self.app(scope, receive, send_and_watch)
            finally:
                route = self._count(scope, method, status, started)
                if span.is_recording():
                    span.update_name(f"{method} {route}")
                    # The path only: a query string may carry an API key.
                    span.set_attribute("http.route", route)
                    span.set_attribute("url.path", scope["path"])
                    span.set_attribute("http.response.status_code", status)
                    if status >= 500 and method != "WS":
                        span.set_status(Status(StatusCode.ERROR))

    def _count(self, scope: Scope, method: str, status: int, started: float) -> str:
        route = getattr(scope.get("route"), "path", "unmatched")
        metrics = self.metrics
        metrics.child(metrics.requests, method, route, str(status)).inc()
        metrics.child(metrics.request_seconds, method, route).observe(
            time.perf_counter() - started
        )
        return route

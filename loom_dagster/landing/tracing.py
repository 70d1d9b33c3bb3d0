"""OpenTelemetry for landing runs: one span per run, linked to the ingest traces.

A batch has many parents (one ingest request per message), so the run's span is
not a child of any of them: it carries a link to each distinct ``traceparent``
found in the message headers. Export goes to ``LOOM_OTLP_ENDPOINT`` (the same
variable as the ingest API's); without it tracing is off and costs nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Link, SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from loom_core import tracing as loom_tracing
from loom_core.settings import TelemetrySettings

TRACEPARENT = "traceparent"
MAX_LINKS = 128  # the SDK's default span link limit
SERVICE_NAME = "loom-dagster"

_propagator = TraceContextTextMapPropagator()


def link_from(traceparent: str) -> Link | None:
    """Return a link to the span a W3C ``traceparent`` names (None if invalid)."""
    context = _propagator.extract({TRACEPARENT: traceparent})
    span_context = trace.get_current_span(context).get_span_context()
    return Link(span_context) if span_context.is_valid else None


def links_from_headers(
    headers: Iterable[Iterable[tuple[str, bytes | None]]], limit: int = MAX_LINKS
) -> tuple[list[Link], int]:
    """Return links to the distinct parents in message headers, and how many more.

    ``headers`` holds each message's header list. Beyond ``limit`` distinct
    parents the rest are counted, not linked.
    """
    seen: set[str] = set()
    links: list[Link] = []
    dropped = 0
    for message_headers in headers:
        for key, value in message_headers:
            if key != TRACEPARENT or not value:
                continue
            text = value.decode("ascii", "replace")
            if text in seen:
                continue
            seen.add(text)
            link = link_from(text)
            if link is None:
                continue
            if len(links) < limit:
                links.append(link)
            else:
                dropped += 1
    return links, dropped


def tracer_provider(settings: TelemetrySettings | None = None) -> Any | None:
    """Return the landing's tracer provider (OTLP/HTTP), or None when tracing is off."""
    settings = settings or TelemetrySettings()
    return loom_tracing.tracer_provider(
        settings.otlp_endpoint, settings.service_name or SERVICE_NAME
    )


@contextmanager
def landing_span(provider: Any | None, name: str) -> Iterator[Any]:
    """Open the span of a landing run (a no-op span when ``provider`` is None)."""
    tracer = (provider or trace.NoOpTracerProvider()).get_tracer("loom_dagster")
    with tracer.start_as_current_span(name, kind=SpanKind.CONSUMER) as span:
        yield span


def link_parents(
    span: Any, headers: Iterable[Iterable[tuple[str, bytes | None]]]
) -> int:
    """Link ``span`` to the ingest traces in message headers; return links dropped.

    The links are known only once the batch is read, so they are added to the
    running span.
    """
    links, dropped = links_from_headers(headers)
    for link in links:
        span.add_link(link.context)
    return dropped

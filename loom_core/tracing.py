"""The OpenTelemetry tracer provider every Loom service exports its spans with."""

from __future__ import annotations

from typing import TYPE_CHECKING

from loom_core.settings import EXTERNAL_TIMEOUT_S

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider


def tracer_provider(
    otlp_endpoint: str | None, service_name: str
) -> TracerProvider | None:
    """Return an SDK tracer provider exporting over OTLP/HTTP, or None when unset.

    Spans are batched and exported to ``otlp_endpoint`` as ``service_name``. The
    SDK is imported only when tracing is on: processes start faster without it.
    """
    if not otlp_endpoint:
        return None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # noqa: PLC0415
        OTLPSpanExporter,
    )
    from opentelemetry.sdk.resources import Resource  # noqa: PLC0415
    from opentelemetry.sdk.trace import TracerProvider  # noqa: PLC0415
    from opentelemetry.sdk.trace.export import BatchSpanProcessor  # noqa: PLC0415

    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    exporter = OTLPSpanExporter(endpoint=otlp_endpoint, timeout=EXTERNAL_TIMEOUT_S)
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider

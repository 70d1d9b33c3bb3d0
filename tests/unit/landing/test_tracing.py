from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from ingest_api.settings import IngestSettings
from loom_core.settings import TelemetrySettings, env_name
from loom_dagster.landing import tracing

PARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
OTHER = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def test_link_from_a_valid_traceparent():
    link = tracing.link_from(PARENT)
    assert link is not None
    assert format(link.context.trace_id, "032x") == "0af7651916cd43dd8448eb211c80319c"
    assert format(link.context.span_id, "016x") == "b7ad6b7169203331"


def test_invalid_traceparents_give_no_link():
    assert tracing.link_from("garbage") is None
    assert tracing.link_from("00-" + "0" * 32 + "-" + "0" * 16 + "-01") is None


def test_links_are_distinct_and_capped():
    headers = [
        [("traceparent", PARENT.encode())],
        [("traceparent", PARENT.encode()), ("other", b"x")],
        [("traceparent", OTHER.encode())],
        [("traceparent", None)],
        [],
    ]
    links, dropped = tracing.links_from_headers(headers)
    assert len(links) == 2
    assert dropped == 0
    links, dropped = tracing.links_from_headers(headers, limit=1)
    assert (len(links), dropped) == (1, 1)


def test_tracing_is_off_without_an_endpoint():
    assert tracing.tracer_provider(TelemetrySettings()) is None
    provider = tracing.tracer_provider(
        TelemetrySettings(otlp_endpoint="http://127.0.0.1:4318/v1/traces")
    )
    assert provider is not None
    provider.shutdown()


def test_tracing_reads_the_same_variable_as_the_ingest_api(monkeypatch):
    monkeypatch.setenv("LOOM_OTLP_ENDPOINT", "http://collector:4318/v1/traces")
    monkeypatch.setenv("LOOM_SERVICE_NAME", "loom-dagster-test")
    provider = tracing.tracer_provider()
    assert provider is not None
    assert provider.resource.attributes["service.name"] == "loom-dagster-test"
    provider.shutdown()
    assert env_name(TelemetrySettings, "otlp_endpoint") == env_name(
        IngestSettings, "otlp_endpoint"
    )


def test_landing_span_carries_links_added_once_the_batch_is_read():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with tracing.landing_span(provider, "land gps_data") as span:
        dropped = tracing.link_parents(span, [[("traceparent", PARENT.encode())]])
        span.set_attributes({"loom.rows": 3})
    assert dropped == 0
    (span,) = exporter.get_finished_spans()
    assert span.name == "land gps_data"
    assert span.attributes["loom.rows"] == 3
    assert [format(link.context.span_id, "016x") for link in span.links] == [
        "b7ad6b7169203331"
    ]


def test_landing_span_without_provider_is_a_noop():
    with tracing.landing_span(None, "land x") as span:
        assert tracing.link_parents(span, [[("traceparent", PARENT.encode())]]) == 0
        assert not span.is_recording()

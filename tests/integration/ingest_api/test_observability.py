"""Traces (read from an in-memory exporter) and Prometheus metrics."""

import gc
import uuid

from fastapi.testclient import TestClient
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from prometheus_client.parser import text_string_to_metric_families

from ingest_api.app import create_app
from tests.integration.ingest_api.conftest import headers, read_back
from tests.integration.ingest_api.payloads import payloads


def test_spans_continue_the_clients_trace_into_kafka(api_settings, device, settings):
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace_id, parent_id = uuid.uuid4().hex, uuid.uuid4().hex[:16]
    with TestClient(create_app(api_settings, tracer_provider=provider)) as client:
        response = client.post(
            f"/v1/events/gps?key={device.key}",
            json=payloads()["gps"],
            headers={"traceparent": f"00-{trace_id}-{parent_id}-01"},
        )
        fresh = client.post(
            "/v1/events/steps", json=payloads()["steps"], headers=device.headers
        )
    assert response.status_code == 202
    spans = exporter.get_finished_spans()
    (server,) = [s for s in spans if s.name == "POST /v1/events/gps"]
    assert server.kind == SpanKind.SERVER
    assert server.context.trace_id == int(trace_id, 16)
    assert server.parent.span_id == int(parent_id, 16)
    assert server.attributes["http.route"] == "/v1/events/gps"
    assert server.attributes["http.response.status_code"] == 202
    assert all(device.key not in str(v) for s in spans for v in s.attributes.values())
    (publish,) = [
        s
        for s in spans
        if s.name == "publish" and s.context.trace_id == int(trace_id, 16)
    ]
    assert publish.kind == SpanKind.PRODUCER
    assert publish.parent.span_id == server.context.span_id
    assert publish.attributes["messaging.destination.name"] == (
        "device.sensor.gps.raw",
    )
    gps, steps = read_back(settings.kafka_bootstrap, [response.json(), fresh.json()])
    span_hex = format(publish.context.span_id, "016x")
    assert headers(gps)["traceparent"] == f"00-{trace_id}-{span_hex}-01".encode()
    # Without a client trace, the ingress starts one; it still reaches Kafka.
    (steps_server,) = [s for s in spans if s.name == "POST /v1/events/steps"]
    assert steps_server.parent is None
    assert (
        format(steps_server.context.trace_id, "032x").encode()
        in headers(steps)["traceparent"]
    )


def samples(text: str) -> dict[tuple[str, tuple], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_metrics_count_requests_events_and_delivery(api_settings, device):
    app = create_app(api_settings)
    with TestClient(app, client=("127.0.0.1", 50000)) as client:
        for _ in range(3):
            client.post(
                "/v1/events/gps", json=payloads()["gps"], headers=device.headers
            )
        client.post("/v1/events/gps", json={"latitude": 99}, headers=device.headers)
        client.post(
            "/v1/events:batch",
            json={"events": [{"family": "steps", **payloads()["steps"]}]},
            headers=device.headers,
        )
        response = client.get("/metrics")
    with TestClient(app, client=("203.0.113.9", 50000)) as outsider:
        assert outsider.get("/metrics").status_code == 404
    assert response.headers["content-type"].startswith("text/plain")
    found = samples(response.text)
    route = (("method", "POST"), ("route", "/v1/events/gps"))
    assert found["ingest_api_requests_total", (*route, ("status", "202"))] == 3
    assert found["ingest_api_requests_total", (*route, ("status", "422"))] == 1
    assert (
        found["ingest_api_events_total", (("family", "gps"), ("outcome", "accepted"))]
        == 3
    )
    assert (
        found["ingest_api_events_total", (("family", "steps"), ("outcome", "accepted"))]
        == 1
    )
    delivery = (
        "ingest_api_kafka_delivery_seconds_count",
        (("topic", "device.sensor.gps.raw"),),
    )
    assert found[delivery] == 3
    duration = ("ingest_api_request_duration_seconds_count", route)
    assert found[duration] == 4
    assert all(name.startswith("ingest_api_") for name, _ in found)


def test_health_and_readiness(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"kafka": "ok", "redis": "ok", "postgres": "ok"}


def test_startup_freezes_what_the_app_loaded_out_of_the_collectors_way(api_settings):
    gc.unfreeze()  # whatever an earlier app of this test process froze
    assert gc.get_freeze_count() == 0
    with TestClient(create_app(api_settings)) as started:
        assert started.get("/healthz").status_code == 200
        # FastAPI, pydantic, the routes and the connections: far more than this.
        assert gc.get_freeze_count() > 50_000

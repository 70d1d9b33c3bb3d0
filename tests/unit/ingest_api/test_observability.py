import logging

from ingest_api.observability import Metrics
from ingest_api.redaction import RedactSecrets
from loom_core.tracing import tracer_provider


def test_every_metric_is_prefixed_with_the_service_name():
    names = [m.name for m in Metrics().registry.collect()]
    assert names
    assert all(name.startswith("ingest_api_") for name in names)


def test_access_log_lines_never_show_a_key():
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        (
            "127.0.0.1:5000",
            "GET",
            "/v1/compat/osmand?id=p&key=loom_SECRET&lat=1",
            "1.1",
            200,
        ),
        None,
    )
    assert RedactSecrets().filter(record)
    line = record.getMessage()
    assert "loom_SECRET" not in line
    assert "key=***&lat=1" in line
    assert "id=p" in line


def test_tracing_is_off_without_an_endpoint():
    assert tracer_provider(None, "ingest_api") is None
    provider = tracer_provider("http://127.0.0.1:4318/v1/traces", "ingest_api")
    assert provider is not None
    assert provider.resource.attributes["service.name"] == "ingest_api"
    provider.shutdown()

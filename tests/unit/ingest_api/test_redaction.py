import logging

import pytest

from ingest_api import redaction
from ingest_api.redaction import RedactSecrets, redact

KEY = "loom_" + "A" * 43


@pytest.mark.parametrize(
    "line",
    [
        f'127.0.0.1:1 - "WebSocket /v1/stream/audio?key={KEY}&sample_rate=16000"',
        f"GET /v1/events/gps?%6Bey={KEY} HTTP/1.1",
        f"GET /v1/events/gps?k%65y={KEY}&x=1",
        f"GET /v1/events/gps?%6b%65%79={KEY}",
        f"/x?KEY={KEY}",
        f"/x?api_key={KEY}",
        f"/x?api%5Fkey={KEY}",
        f"key={KEY}&lat=1",
        f"{{'authorization': 'Bearer {KEY}'}}",
        f"[(b'authorization', b'Bearer {KEY}')]",
        f"x-api-key: {KEY}",
        f"a key in a message: {KEY}.",
    ],
)
def test_keys_are_masked_however_they_are_written(line):
    assert KEY not in redact(line)
    assert "***" in redact(line)


def test_a_wrong_key_in_a_query_is_masked_too():
    assert redact("/v1/events/gps?x=1&%6Bey=not-a-loom-key") == (
        "/v1/events/gps?x=1&%6Bey=***"
    )


def test_other_parameters_are_kept():
    assert redact("/v1/compat/osmand?id=p&lat=1&lon=2") == (
        "/v1/compat/osmand?id=p&lat=1&lon=2"
    )


def _record(name, msg, args, exc_info=None):
    return logging.LogRecord(name, logging.ERROR, __file__, 1, msg, args, exc_info)


def test_arguments_and_exception_text_are_redacted():
    try:
        msg = f"bad request /x?key={KEY}"
        raise ValueError(msg)  # noqa: TRY301
    except ValueError:
        import sys  # noqa: PLC0415

        record = _record("uvicorn.error", "%s failed: %r", ("/p", KEY), sys.exc_info())
    assert RedactSecrets().filter(record)
    text = logging.Formatter().format(record)
    assert KEY not in text
    assert "ValueError" in text


def test_install_reaches_every_configured_logger(capsys):
    handler = logging.StreamHandler()
    uvicorn_error = logging.getLogger("uvicorn.error")
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        redaction.install()
        redaction.install()  # idempotent
        for name in ("uvicorn.error", "uvicorn.access", "ingest_api.auth"):
            logging.getLogger(name).error("GET /v1/x?key=%s", KEY)
        assert sum(isinstance(f, RedactSecrets) for f in handler.filters) == 1
        assert sum(isinstance(f, RedactSecrets) for f in uvicorn_error.filters) == 1
    finally:
        root.removeHandler(handler)
    err = capsys.readouterr().err
    assert err.count("key=***") == 3
    assert KEY not in err

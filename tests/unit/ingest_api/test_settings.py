import pytest
from pydantic import ValidationError

from ingest_api.settings import IngestSettings


def test_defaults_respect_the_redis_ttl_rules():
    settings = IngestSettings()
    assert settings.pair_ttl_seconds <= 30
    assert settings.upload_ttl_seconds <= 300
    assert settings.pair_wait_seconds < settings.pair_ttl_seconds
    assert settings.kafka_ack_timeout_seconds <= 5
    assert settings.uploads == settings.home / "uploads"


def test_settings_come_from_loom_variables(monkeypatch, tmp_path):
    monkeypatch.setenv("LOOM_MAX_BODY_BYTES", "1234")
    monkeypatch.setenv("LOOM_AUDIO_CHUNK_SECONDS", "2.5")
    monkeypatch.setenv("LOOM_OTLP_ENDPOINT", "http://collector:4318/v1/traces")
    monkeypatch.setenv("LOOM_UPLOADS_DIR", str(tmp_path))
    settings = IngestSettings()
    assert settings.max_body_bytes == 1234
    assert settings.audio_chunk_seconds == 2.5
    assert settings.otlp_endpoint == "http://collector:4318/v1/traces"
    assert settings.uploads == tmp_path


@pytest.mark.parametrize(
    "bad",
    [
        {"pair_ttl_seconds": 31},
        {"upload_ttl_seconds": 301},
        {"pair_wait_seconds": 30},
        {"kafka_ack_timeout_seconds": 6},
        {"max_body_bytes": 0},
    ],
)
def test_settings_outside_the_rules_are_refused(bad):
    with pytest.raises(ValidationError):
        IngestSettings(**bad)


def test_metrics_are_for_loopback_unless_networks_are_named(monkeypatch):

    default = IngestSettings()
    assert default.may_read_metrics("127.0.0.1")
    assert default.may_read_metrics("::1")
    assert not default.may_read_metrics("10.1.2.3")
    assert not default.may_read_metrics("testclient")
    monkeypatch.setenv("LOOM_METRICS_CLIENTS", '["10.0.0.0/8"]')
    assert IngestSettings().may_read_metrics("10.1.2.3")
    assert not IngestSettings().may_read_metrics("127.0.0.1")

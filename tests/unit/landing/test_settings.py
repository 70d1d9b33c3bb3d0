import pytest
from pydantic import ValidationError

from loom_core.contracts import FAMILIES
from loom_dagster.landing.settings import FAMILY_LIMITS, LandingSettings


def test_defaults_fit_the_issue():
    settings = LandingSettings()
    assert settings.interval_s <= 15
    assert settings.start == "earliest"
    assert settings.cap("gps") == FAMILY_LIMITS["gps"].max_messages
    assert settings.retention_days == {}
    assert settings.pushgateway_url is None


def test_per_family_values_come_from_json(monkeypatch):
    monkeypatch.setenv("LOOM_LANDING_MAX_MESSAGES", '{"gps": 1234}')
    monkeypatch.setenv("LOOM_LANDING_RETENTION_DAYS", '{"audio": 30}')
    monkeypatch.setenv("LOOM_PUSHGATEWAY_URL", "http://127.0.0.1:9091")
    settings = LandingSettings()
    assert settings.cap("gps") == 1234
    assert settings.cap("audio") == FAMILY_LIMITS["audio"].max_messages
    assert settings.retention_days == {"audio": 30}
    assert settings.pushgateway_url == "http://127.0.0.1:9091"


def test_unknown_family_is_named(monkeypatch):
    monkeypatch.setenv("LOOM_LANDING_RETENTION_DAYS", '{"gsp": 30}')
    with pytest.raises(ValidationError, match="unknown families \\['gsp'\\]"):
        LandingSettings()


def test_non_positive_values_are_refused():
    with pytest.raises(ValidationError, match="positive"):
        LandingSettings(max_messages={"gps": 0})


def test_every_family_has_limits_with_warn_before_fail():
    for limits in FAMILY_LIMITS.values():
        assert limits.warn_after < limits.fail_after
        assert limits.max_messages > 0


def test_limits_cover_every_family():
    assert set(FAMILY_LIMITS) == set(FAMILIES)

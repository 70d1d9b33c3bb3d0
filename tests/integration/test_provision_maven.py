"""Kafka's classpath is resolved from Maven Central with Maven, then cached."""

from loom_cli.stack import provision
from loom_cli.stack.services import LOCAL_DEPLOY


def test_kafka_classpath_resolves_and_is_cached(tmp_path, monkeypatch):
    pom = LOCAL_DEPLOY / "kafka" / "pom.xml"
    jars = provision.maven_resolve(pom, tmp_path)
    names = {jar.name for jar in jars}
    assert any(name.startswith("kafka_2.13-4.") for name in names)
    assert any(name.startswith("log4j-core-") for name in names)
    assert all(jar.exists() for jar in jars)

    # The second resolution reads the cached listing: Maven is not needed any more.
    monkeypatch.setenv("PATH", "/nonexistent")
    assert provision.maven_resolve(pom, tmp_path) == jars

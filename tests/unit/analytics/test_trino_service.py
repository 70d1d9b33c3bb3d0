"""The Trino service's preparation of the catalogs (no server started)."""

import os
import subprocess

from loom_cli.stack.services import TRINO_CATALOGS, TRINO_KAFKA_TABLES, Trino
from loom_core.settings import LoomSettings


def trino(tmp_path):
    return Trino(LoomSettings(home=tmp_path, trino_url="http://127.0.0.1:18999"))


def test_prepare_installs_every_catalog_and_replaces_the_kafka_tables(tmp_path):
    service = trino(tmp_path)
    stale = service.etc / "kafka-tables" / "raw.removed_since.json"
    stale.parent.mkdir(parents=True)
    stale.write_text("{}")
    service.prepare()
    catalogs = {p.name for p in (service.etc / "catalog").glob("*.properties")}
    assert catalogs == {"kafka.properties", "timescale.properties"}
    installed = {
        p.name: p.read_text() for p in (service.etc / "kafka-tables").iterdir()
    }
    assert installed == {
        p.name: p.read_text() for p in TRINO_KAFKA_TABLES.glob("*.json")
    }
    assert (service.etc / "catalog" / "kafka.properties").read_text() == (
        TRINO_CATALOGS / "kafka.properties"
    ).read_text()
    assert "port=18999" in (service.etc / "config.properties").read_text()


def test_the_kafka_catalog_reads_its_locations_from_the_environment(tmp_path):
    text = (TRINO_CATALOGS / "kafka.properties").read_text()
    assert "kafka.nodes=${ENV:LOOM_KAFKA_BOOTSTRAP}" in text
    assert "kafka.table-description-dir=${ENV:LOOM_TRINO_KAFKA_TABLES}" in text
    service = trino(tmp_path)
    service.java = tmp_path / "jdk"
    env = service.env()
    assert env["LOOM_TRINO_KAFKA_TABLES"] == str(service.etc / "kafka-tables")
    assert env["LOOM_KAFKA_BOOTSTRAP"] == service.settings.kafka_bootstrap


def test_a_launcher_pid_file_of_a_gone_process_is_removed(tmp_path):
    service = trino(tmp_path)
    pid_file = tmp_path / "trino" / "data" / "var" / "run" / "launcher.pid"
    pid_file.parent.mkdir(parents=True)
    gone = subprocess.Popen(["true"])
    gone.wait()
    pid_file.write_text(f"{gone.pid}\n")
    service.prepare()
    assert not pid_file.exists()


def test_a_launcher_pid_file_of_a_live_process_stays(tmp_path):
    service = trino(tmp_path)
    pid_file = tmp_path / "trino" / "data" / "var" / "run" / "launcher.pid"
    pid_file.parent.mkdir(parents=True)
    pid_file.write_text(f"{os.getpid()}\n")
    service.prepare()
    assert pid_file.exists()
    pid_file.write_text("not a pid")
    service.prepare()  # unreadable: left for the launcher to judge
    assert pid_file.read_text() == "not a pid"

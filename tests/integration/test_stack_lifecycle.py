"""`loom stack` itself: idempotent up, crash detection and restart, clean errors."""

import socket

import pytest
from click.testing import CliRunner
from confluent_kafka.admin import AdminClient

from loom_cli.main import cli
from loom_cli.stack.process import StackError, pid_alive
from loom_cli.stack.stack import Stack
from loom_core import topics
from loom_core.kafka import ensure_topics


def test_status_reports_the_shared_stack_healthy():
    result = CliRunner().invoke(cli, ["stack", "status"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert [line.split()[:2] for line in lines] == [
        ["postgres", "healthy"],
        ["redis", "healthy"],
        ["kafka", "healthy"],
        ["trino", "healthy"],
    ]


def test_up_is_idempotent_and_down_stops_exactly_what_up_started(private_stack):
    stack: Stack = private_stack("redis", "postgres")
    redis_pid = stack.service("redis").process.pid()
    stack.up(["redis", "postgres"])
    assert stack.service("redis").process.pid() == redis_pid
    assert [s.state for s in stack.status()] == [
        "healthy",
        "healthy",
        "stopped",
        "stopped",
    ]

    assert stack.down() == ["redis", "postgres"]
    assert not pid_alive(redis_pid)
    assert stack.down() == []


def test_a_crashed_service_is_reported_and_restarted(private_stack):
    stack: Stack = private_stack("redis")
    old_pid = stack.service("redis").process.pid()
    stack.kill("redis")
    status = stack.status_of(stack.service("redis"))
    assert status.state == "crashed"
    assert "loom stack up" in status.detail
    stack.up(["redis"])
    assert stack.status_of(stack.service("redis")).state == "healthy"
    assert stack.service("redis").process.pid() != old_pid


def test_a_taken_port_is_a_clear_error_and_leaves_nothing_running(private_stack):
    stack: Stack = private_stack("redis")
    stack.down()
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", stack.settings.redis_port))
        squatter.listen()
        assert stack.status_of(stack.service("redis")).state == "foreign"
        with pytest.raises(
            StackError, match=r"port \d+ on 127.0.0.1 is already in use"
        ):
            stack.up(["postgres", "redis"])
    # postgres started first in that call and was rolled back with it
    assert not stack.service("postgres").process.running()
    assert stack.service("postgres").process.pid() is None


def test_a_fresh_kafka_is_formatted_and_gets_the_catalog_topics(private_stack):
    stack: Stack = private_stack("kafka")
    kafka = stack.service("kafka")
    assert (kafka.home / "data" / "meta.properties").exists()
    admin = AdminClient({"bootstrap.servers": stack.settings.kafka_bootstrap})
    assert set(topics.CATALOG) <= set(admin.list_topics(timeout=10).topics)
    # formatted once: a restart keeps the cluster id and the topics
    cluster_id = (kafka.home / "data" / "meta.properties").read_text()
    stack.restart("kafka")
    assert (kafka.home / "data" / "meta.properties").read_text() == cluster_id
    assert ensure_topics(stack.settings.kafka_bootstrap) == []


def test_a_server_that_dies_at_start_up_is_reported_with_its_log(private_stack):
    stack: Stack = private_stack("kafka")
    stack.down()
    meta = stack.service("kafka").home / "data" / "meta.properties"
    meta.write_text(meta.read_text().replace("node.id=1", "node.id=7"))
    with pytest.raises(StackError, match=r"kafka exited during start-up: .*full log"):
        stack.up(["kafka"])
    assert not stack.service("kafka").process.running()

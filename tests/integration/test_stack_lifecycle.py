"""`loom stack` itself: idempotent up, crash detection and restart, clean errors."""

import socket

import pytest
from click.testing import CliRunner

from loom_cli.main import cli
from loom_cli.stack.process import StackError, pid_alive
from loom_cli.stack.stack import Stack


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

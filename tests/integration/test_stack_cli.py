"""The `loom stack` commands as a user runs them, on a private stack."""

import shutil
import socket
import uuid

import pytest
from click.testing import CliRunner

from loom_cli.main import cli
from loom_cli.stack.process import free_port


@pytest.fixture
def private_env(settings):
    home = settings.home / "test-stacks" / uuid.uuid4().hex[:12]
    env = {
        "LOOM_HOME": str(home),
        "LOOM_CACHE_DIR": str(settings.cache),
        "LOOM_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
        "LOOM_DATABASE_URL": f"postgresql://loom:loom@127.0.0.1:{free_port()}/loom",
        "LOOM_KAFKA_BOOTSTRAP": f"127.0.0.1:{free_port(span=2)}",
        "LOOM_TRINO_URL": f"http://127.0.0.1:{free_port()}",
    }
    yield env
    CliRunner().invoke(cli, ["stack", "down"], env=env)
    shutil.rmtree(home, ignore_errors=True)


def test_up_status_down_through_the_cli(private_env):
    runner = CliRunner()
    up = runner.invoke(cli, ["stack", "up", "redis"], env=private_env)
    assert up.exit_code == 0, up.output
    assert "redis: healthy" in up.output
    assert up.output.strip().splitlines()[-1].split()[:2] == ["redis", "healthy"]

    status = runner.invoke(cli, ["stack", "status"], env=private_env)
    assert status.exit_code == 1  # only one of four services runs
    states = dict(line.split()[:2] for line in status.output.strip().splitlines())
    assert states == {
        "postgres": "stopped",
        "redis": "healthy",
        "kafka": "stopped",
        "trino": "stopped",
    }

    down = runner.invoke(cli, ["stack", "down"], env=private_env)
    assert down.exit_code == 0
    assert "redis: stopped" in down.output
    again = runner.invoke(cli, ["stack", "down"], env=private_env)
    assert "nothing to stop" in again.output


def test_up_failure_is_one_clear_line_and_exit_1(private_env):
    port = int(private_env["LOOM_REDIS_URL"].rsplit(":", 1)[1].split("/")[0])
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        result = CliRunner().invoke(cli, ["stack", "up", "redis"], env=private_env)
    assert result.exit_code == 1
    (failure,) = [ln for ln in result.output.splitlines() if "failed" in ln]
    assert failure.startswith("loom stack up failed: redis: port ")
    assert "Traceback" not in result.output

"""The commands the images run work here: the same CLIs, from the same lock file."""

from __future__ import annotations

import importlib
import subprocess
import sys
import time
from pathlib import Path

from loom_cli.stack.process import free_port
from loom_core.settings import REPO_ROOT

from .render import DEPLOY
from .test_docker import command


def test_ingest_api_command_is_valid() -> None:
    argv = command("ingest-api")
    assert argv[0] == "uvicorn"
    cli = importlib.import_module("uvicorn.main").main
    params = cli.make_context("uvicorn", argv[1:]).params
    assert params["factory"] is True
    assert params["port"] == 8000
    module, attribute = params["app"].split(":")
    assert callable(getattr(importlib.import_module(module), attribute))
    server = importlib.import_module("ingest_api.server")
    assert params["http"] == server.PROTOCOL
    assert params["timeout_keep_alive"] == server.TIMEOUT_KEEP_ALIVE_S
    assert "*" not in params["forwarded_allow_ips"]


def running(process: subprocess.Popen[bytes]) -> bool:
    return process.poll() is None  # loom-lint: ignore (Popen.poll, not Kafka)


def test_dagster_code_server_starts_and_answers_health_checks(tmp_path: Path) -> None:
    argv = command("loom-dagster")
    assert argv[:3] == ["dagster", "api", "grpc"]
    assert argv[argv.index("-p") + 1] == "4000"
    port = str(free_port())
    argv = [*argv[: argv.index("-h")], "-h", "127.0.0.1", "-p", port]
    bin_dir = Path(sys.executable).parent
    log = tmp_path / "code-server.log"
    with log.open("wb") as sink:
        server = subprocess.Popen(
            [str(bin_dir / argv[0]), *argv[1:]], cwd=REPO_ROOT, stdout=sink, stderr=sink
        )
    try:
        check = [str(bin_dir / "dagster"), "api", "grpc-health-check", "-p", port]
        deadline = time.monotonic() + 120  # loading the definitions on a busy machine
        healthy = False
        while not healthy and running(server) and time.monotonic() < deadline:
            done = subprocess.run(check, capture_output=True, check=False)
            healthy = done.returncode == 0
            time.sleep(0 if healthy else 1)
        assert healthy, log.read_text()[-3000:]
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_the_migration_job_runs_a_loom_command() -> None:
    """The loom-dagster chart's hook Job runs `loom db migrate` from the same image."""
    job = (
        DEPLOY / "charts" / "loom-dagster" / "templates" / "migrate-job.yaml"
    ).read_text()
    assert 'command: ["loom", "db", "migrate"]' in job
    main = importlib.import_module("loom_cli.main")
    context = main.cli.make_context(
        "loom", ["db", "migrate", "--help"], resilient_parsing=True
    )
    group = main.cli.get_command(context, "db")
    assert group is not None, "loom has no `db` command"
    assert group.get_command(context, "migrate") is not None

"""`loom db migrate`, the code location as Dagster loads it, and `loom serve`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import psycopg
from click.testing import CliRunner

from loom_cli.main import cli
from loom_cli.stack.process import free_port
from loom_core.settings import REPO_ROOT

BIN = Path(sys.executable).parent


def test_db_migrate_is_idempotent(settings):
    runner = CliRunner()
    first = runner.invoke(cli, ["db", "migrate"])
    again = runner.invoke(cli, ["db", "migrate"])
    assert first.exit_code == again.exit_code == 0, first.output
    assert "database up to date (0 migration(s) applied now)" in again.output
    with psycopg.connect(settings.database_url) as conn:
        versions = {v for (v,) in conn.execute("SELECT version FROM schema_migrations")}
    assert {"0001", "0002", "0020"} <= versions


def test_db_migrate_against_no_server_says_what_to_do(monkeypatch):
    monkeypatch.setenv(
        "LOOM_DATABASE_URL", f"postgresql://loom:loom@127.0.0.1:{free_port()}/loom"
    )
    from loom_core.settings import get_settings  # noqa: PLC0415

    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["db", "migrate"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1
    assert "cannot reach the database" in result.output
    assert "loom stack up" in result.output
    assert "Traceback" not in result.output


def test_dagster_loads_the_code_location_as_the_daemon_does(tmp_path):
    # `dagster definitions validate` loads the module like workspace.yaml does,
    # with the rules an import alone does not check (one Definitions per module).
    result = subprocess.run(
        [
            str(BIN / "dagster"),
            "definitions",
            "validate",
            "-m",
            "loom_dagster.definitions",
        ],
        cwd=REPO_ROOT,
        env={**os.environ, "DAGSTER_HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-2000:]
    assert "Validation successful for code location loom_dagster.definitions" in output


def _descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _running(process: subprocess.Popen[bytes]) -> bool:
    return process.poll() is None


def _wait_http(
    url: str, timeout_s: float, serve: subprocess.Popen[bytes]
) -> httpx.Response:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert _running(serve), "loom serve exited early"
        try:
            return httpx.get(url, timeout=2)
        except httpx.HTTPError:
            time.sleep(1)
    msg = f"{url} did not answer within {timeout_s:.0f} s"
    raise AssertionError(msg)


def test_serve_runs_api_ui_and_daemon_and_sigterm_stops_them_all(settings, tmp_path):
    database = f"dagster_test_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{database}"')
    api_port, ui_port = free_port(), free_port()
    base = settings.database_url.rsplit("/", 1)[0]
    env = {
        **os.environ,
        "LOOM_HOME": str(tmp_path),  # Dagster's home goes under it, not the shared one
        "LOOM_DATABASE_URL": settings.database_url,
        "LOOM_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "LOOM_DAGSTER_DATABASE_URL": f"{base}/{database}",
        "LOOM_LANDING_AUTOSTART": "false",  # no landing runs against the shared topics
    }
    serve = subprocess.Popen(
        [
            str(BIN / "loom"),
            "serve",
            "--api-app",
            "tests.integration.landing.asgi_app:create_app",
            "--api-port",
            str(api_port),
            "--ui-port",
            str(ui_port),
        ],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        health = _wait_http(f"http://127.0.0.1:{api_port}/healthz", 120, serve)
        assert health.json() == {"status": "ok"}
        info = _wait_http(f"http://127.0.0.1:{ui_port}/server_info", 120, serve)
        assert info.json()["dagster_version"] == "1.13.27"
        assert (tmp_path / "dagster" / "dagster.yaml").exists()
        family = _descendants(serve.pid)
        assert len(family) >= 3  # uvicorn, webserver, daemon (and their code servers)

        serve.send_signal(signal.SIGTERM)
        _, stderr = serve.communicate(timeout=90)
        assert serve.returncode == 0, stderr.decode()[-2000:]
        assert "SIGTERM, stopping" in stderr.decode()
        time.sleep(0.5)
        assert [pid for pid in family if _alive(pid)] == []
    finally:
        if _running(serve):
            serve.kill()
            serve.wait()
        with psycopg.connect(settings.database_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')

"""`loom devices` and `loom api` as a person would run them."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from click.testing import CliRunner

from loom_cli.main import cli
from loom_cli.stack.process import free_port
from tests.integration.ingest_api.payloads import payloads


def run(*args: str):
    return CliRunner().invoke(cli, ["devices", *args])


def test_devices_add_list_and_revoke(settings):
    added = run("add", "CLI test phone", "--json")
    assert added.exit_code == 0, added.output
    made = json.loads(added.stdout)
    assert made["device_id"].startswith("cli-test-phone-")
    assert made["api_key"].startswith("loom_")

    listed = run("list")
    assert made["device_id"] in listed.stdout
    assert made["api_key"] not in listed.stdout
    assert made["api_key"][:12] in listed.stdout
    rows = {d["device_id"]: d for d in json.loads(run("list", "--json").stdout)}
    assert rows[made["device_id"]]["revoked_at"] is None

    revoked = run("revoke", made["device_id"])
    assert revoked.exit_code == 0
    assert "revoked at" in revoked.stdout
    rows = {d["device_id"]: d for d in json.loads(run("list", "--json").stdout)}
    assert rows[made["device_id"]]["revoked_at"] is not None
    assert run("revoke", made["device_id"]).exit_code == 0  # nothing more to do


def test_devices_errors_say_what_to_do(settings):
    chosen = f"cli-{os.getpid()}-{time.monotonic_ns()}"
    first = run("add", "chosen", "--id", chosen)
    assert first.exit_code == 0
    assert f"device_id: {chosen}" in first.stdout
    taken = run("add", "again", "--id", chosen)
    assert taken.exit_code == 1
    assert "is taken; choose another with --id" in taken.stderr
    assert run("add", "bad", "--id", "has spaces").exit_code == 1
    dots = run("add", "dots", "--id", f"{chosen}...1")
    assert dots.exit_code == 1
    assert "holds '...'" in dots.stderr
    assert f"{chosen}...1" not in run("list").stdout
    unknown = run("revoke", "no-such-device")
    assert unknown.exit_code == 1
    assert "loom devices list" in unknown.stderr
    blank = run("add", "  ")
    assert blank.exit_code == 1
    assert "needs a name" in blank.stderr


def test_devices_without_postgres_is_one_clear_line(monkeypatch):
    monkeypatch.setenv(
        "LOOM_DATABASE_URL", f"postgresql://loom:loom@127.0.0.1:{free_port()}/loom"
    )
    result = run("list")
    assert result.exit_code == 1
    assert "loom stack up" in result.stderr
    assert "Traceback" not in result.output


def test_loom_api_serves_the_app_and_keeps_keys_out_of_its_log(settings, tmp_path):
    made = json.loads(run("add", "served", "--json").stdout)
    port = free_port()
    log = tmp_path / "api.log"
    loom = Path(sys.executable).parent / "loom"
    env = {**os.environ, "LOOM_UPLOADS_DIR": str(tmp_path / "uploads")}
    with log.open("w") as out:
        server = subprocess.Popen(
            [str(loom), "api", "--port", str(port)], stdout=out, stderr=out, env=env
        )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            exited = server.poll()  # loom-lint: ignore (a process, not Kafka)
            assert exited is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        response = httpx.post(
            f"{base}/v1/events/gps?key={made['api_key']}",
            json=payloads()["gps"],
            timeout=10,
        )
        assert response.status_code == 202
        assert httpx.get(f"{base}/docs", timeout=5).status_code == 200
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    text = log.read_text()
    assert "/v1/events/gps?key=***" in text
    assert made["api_key"] not in text

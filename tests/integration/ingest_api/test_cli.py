"""`loom devices` and `loom api` as a person would run them."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from click.testing import CliRunner

from loom_cli.main import cli
from loom_cli.stack.process import free_port
from tests.integration.ingest_api.conftest import wait_until_serving
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
        wait_until_serving(base, server, log.read_text, timeout_s=60)
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


def _socket_owners(pids: list[int]) -> dict[int, int]:
    """Map each socket inode held by ``pids`` to its process (Linux ``/proc``)."""
    owners = {}
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                target = str(fd.readlink())
            except OSError:  # closed meanwhile
                continue
            if target.startswith("socket:["):
                owners[int(target[8:-1])] = pid
    return owners


def _server_inode(server_port: int, client_port: int) -> int | None:
    """The inode of the server's end of the TCP connection from ``client_port``."""
    wanted = (f"{server_port:04X}", f"{client_port:04X}")
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote = fields[1].rsplit(":", 1)[1], fields[2].rsplit(":", 1)[1]
        if (local, remote) == wanted:
            return int(fields[9])
    return None


def _workers(pid: int) -> list[int]:
    """uvicorn's worker processes under ``pid`` (not multiprocessing's tracker)."""
    children = [
        int(child)
        for task in Path(f"/proc/{pid}/task").iterdir()
        for child in (task / "children").read_text().split()
    ]
    return [
        child
        for child in children
        if b"--multiprocessing-fork" in Path(f"/proc/{child}/cmdline").read_bytes()
    ]


def _answer(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += sock.recv(65536)
    return head


def test_loom_api_workers_each_serve_guarded_and_redacted(settings, tmp_path):
    """Both of ``--workers 2`` answer; each runs the guarded protocol and redaction."""
    made = json.loads(run("add", "two workers", "--json").stdout)
    port = free_port()
    log = tmp_path / "api.log"
    loom = Path(sys.executable).parent / "loom"
    env = {
        **os.environ,
        "LOOM_UPLOADS_DIR": str(tmp_path / "uploads"),
        "LOOM_HEADER_TIMEOUT_SECONDS": "1",
    }
    argv = [str(loom), "api", "--port", str(port), "--workers", "2"]
    with log.open("w") as out:
        server = subprocess.Popen(argv, stdout=out, stderr=out, env=env)
    body = json.dumps(payloads()["gps"]).encode()
    request = (
        f"POST /v1/events/gps?key={made['api_key']} HTTP/1.1\r\nHost: loom\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    held: dict[int, list[socket.socket]] = {}
    try:
        deadline = time.monotonic() + 60
        while len(_workers(server.pid)) < 2 or not _ready(port):
            exited = server.poll()  # loom-lint: ignore (a process, not Kafka)
            assert exited is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        workers = _workers(server.pid)
        # New connections go to whichever worker accepts first: open them until
        # each worker holds some, every one answered in full.
        for _ in range(200):
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            sock.sendall(request)
            head = _answer(sock)
            assert head.startswith(b"HTTP/1.1 202"), head
            assert b"\r\nserver:" not in head.lower()  # UVICORN_OPTIONS apply
            inode = _server_inode(port, sock.getsockname()[1])
            owner = _socket_owners(workers).get(inode)
            held.setdefault(owner, []).append(sock)
            if all(held.get(w) for w in workers):
                break
        assert all(held.get(w) for w in workers), {
            w: len(held.get(w, [])) for w in workers
        }
        # A request whose headers never end is cut off after the header timeout
        # (1 s), well before uvicorn's keep-alive timeout (5 s), in every worker.
        for sock in (s for socks in held.values() for s in socks):
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: loom\r\n")
        started = time.monotonic()
        for sock in (s for socks in held.values() for s in socks):
            sock.settimeout(4)
            assert sock.recv(1024) == b""
        assert time.monotonic() - started < 4
    finally:
        for sock in (s for socks in held.values() for s in socks):
            sock.close()
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    text = log.read_text()
    assert text.count("/v1/events/gps?key=***") == sum(map(len, held.values()))
    assert made["api_key"] not in text


def _ready(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).is_success
    except httpx.TransportError:
        return False

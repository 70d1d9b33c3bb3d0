"""The ingest API against the real stack: a registered device, an app, a reader.

Every module gets its own device (so it asserts only on its own messages) and its
own app; messages are read back by seeking to the exact partitions and offsets the
API acknowledged.
"""

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest
from confluent_kafka import Consumer, Message, TopicPartition
from fastapi.testclient import TestClient

from ingest_api import registry
from ingest_api.app import create_app
from ingest_api.settings import IngestSettings
from loom_cli.stack.process import free_port
from loom_core.kafka import consumer_config
from loom_core.settings import LoomSettings

READ_TIMEOUT_S = 30
SERVE_TIMEOUT_S = 90


@dataclass(frozen=True)
class Device:
    """A registered device and its key."""

    device_id: str
    key: str

    @property
    def headers(self) -> dict[str, str]:
        """Bearer authentication with the key."""
        return {"Authorization": f"Bearer {self.key}"}


def register(database_url: str, name: str = "test") -> Device:
    """Register a fresh device in the registry and return it with its key."""
    device_id = f"test-{uuid.uuid4().hex[:12]}"
    with psycopg.connect(database_url) as conn:
        device, key = registry.add(conn, f"{name} {device_id}", device_id)
    return Device(device.device_id, key)


@pytest.fixture(scope="module")
def device(stack, settings: LoomSettings) -> Iterator[Device]:
    """A device registered in the shared database for this module (revoked after)."""
    del stack  # up and migrated first
    registered = register(settings.database_url)
    yield registered
    with psycopg.connect(settings.database_url) as conn:
        registry.revoke(conn, registered.device_id)


@pytest.fixture(scope="module")
def api_settings(settings: LoomSettings, tmp_path_factory) -> IngestSettings:
    """Settings of the shared stack, with short pairing waits and private uploads."""
    return IngestSettings(
        kafka_bootstrap=settings.kafka_bootstrap,
        database_url=settings.database_url,
        redis_url=settings.redis_url,
        home=settings.home,
        uploads_dir=tmp_path_factory.mktemp("uploads"),
        pair_wait_seconds=1.0,
        # Every test client has one address ("testclient"): the security suite
        # tests the failed-authentication limit on a served API.
        auth_failures_per_minute=1_000_000,
    )


@pytest.fixture(scope="module")
def client(stack, api_settings: IngestSettings) -> Iterator[TestClient]:
    """The app, running (its lifespan started) against the shared stack."""
    del stack
    with TestClient(create_app(api_settings)) as test_client:
        yield test_client


def read_back(
    bootstrap: str, acks: Iterable[dict], timeout_s: float = READ_TIMEOUT_S
) -> list[Message]:
    """Return the messages at the acknowledged topic/partition/offsets, in order."""
    wanted = [(a["topic"], a["partition"], a["offset"]) for a in acks]
    starts: dict[tuple[str, int], int] = {}
    for topic, partition, offset in wanted:
        starts[topic, partition] = min(offset, starts.get((topic, partition), offset))
    consumer = Consumer(consumer_config(bootstrap, f"test-read-{uuid.uuid4().hex[:8]}"))
    places = [TopicPartition(t, p, o) for (t, p), o in starts.items()]
    consumer.assign(places)  # loom-lint: ignore (a test reader produces nothing)
    found: dict[tuple[str, int, int], Message] = {}
    deadline = time.monotonic() + timeout_s
    try:
        while len(found) < len(set(wanted)) and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None or message.error() is not None:
                continue
            place = (message.topic(), message.partition(), message.offset())
            if place in wanted:
                found[place] = message
    finally:
        consumer.close()
    missing = [w for w in wanted if w not in found]
    assert not missing, f"acknowledged but not in Kafka: {missing}"
    return [found[w] for w in wanted]


def value(message: Message) -> dict:
    """The JSON value of a message."""
    return json.loads(message.value())


def headers(message: Message) -> dict[str, bytes]:
    """The headers of a message as a dict."""
    return dict(message.headers() or [])


def watermarks(bootstrap: str, topic: str) -> dict[int, int]:
    """Return the next offset of every partition of ``topic`` (read from there)."""
    consumer = Consumer(
        consumer_config(bootstrap, f"test-marks-{uuid.uuid4().hex[:8]}")
    )
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        return {
            p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
            for p in partitions
        }
    finally:
        consumer.close()


def read_new(
    bootstrap: str,
    topic: str,
    since: dict[int, int],
    device_id: str,
    timeout_s: float = READ_TIMEOUT_S,
) -> list[dict]:
    """Return the values of ``device_id``'s messages written after ``since``.

    For answers that do not say where the events went (OwnTracks answers ``[]``):
    reads every partition up to its current end, so it sees everything the
    acknowledged requests produced; other tests' messages are skipped by key.
    """
    until = watermarks(bootstrap, topic)
    pending = {p for p, end in until.items() if end > since.get(p, 0)}
    consumer = Consumer(consumer_config(bootstrap, f"test-new-{uuid.uuid4().hex[:8]}"))
    consumer.assign([TopicPartition(topic, p, since.get(p, 0)) for p in pending])
    mine: list[Message] = []
    deadline = time.monotonic() + timeout_s
    try:
        while pending and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None or message.error() is not None:
                continue
            if message.offset() < until[message.partition()]:
                if message.key() == device_id.encode():
                    mine.append(message)
                if message.offset() == until[message.partition()] - 1:
                    pending.discard(message.partition())
    finally:
        consumer.close()
    assert not pending, f"could not read {topic} partitions {pending} to their end"
    mine.sort(key=lambda m: (m.timestamp()[1], m.partition(), m.offset()))
    return [value(m) for m in mine]


@dataclass
class ServedApi:
    """``loom api`` running in its own process, its output in ``log``."""

    base: str
    log: Path
    uploads: Path
    process: subprocess.Popen[bytes]

    def log_text(self) -> str:
        """Everything the server has logged so far."""
        return self.log.read_text(errors="replace")


@pytest.fixture(scope="module")
def served_api(stack, tmp_path_factory) -> Iterator[ServedApi]:
    """``loom api`` as a deployment runs it, on a free port, with private uploads.

    Its working directory is the uploads folder, so a decoder that resolved file
    names relative to it would find other uploads. Limits are low enough to reach
    in a test: 5 failed authentications a minute, 2 s for headers, 5 s of decoded
    audio, 10 decoded bytes per uploaded byte; only 127.0.0.1 reads /metrics.
    """
    del stack
    folder = tmp_path_factory.mktemp("served")
    uploads = folder / "uploads"
    uploads.mkdir()
    log = folder / "api.log"
    port = free_port()
    env = {
        **os.environ,
        "LOOM_UPLOADS_DIR": str(uploads),
        "LOOM_AUTH_FAILURES_PER_MINUTE": "5",
        "LOOM_HEADER_TIMEOUT_SECONDS": "2",
        "LOOM_BODY_IDLE_TIMEOUT_SECONDS": "2",
        "LOOM_PAIR_WAIT_SECONDS": "1",
        "LOOM_UPLOAD_MAX_DECODED_SECONDS": "5",
        "LOOM_UPLOAD_MAX_DECODE_RATIO": "10",
        "LOOM_METRICS_CLIENTS": '["127.0.0.1/32"]',
    }
    loom = Path(sys.executable).parent / "loom"
    with log.open("w") as out:
        process = subprocess.Popen(
            # One worker: the failed-authentication limit is counted per worker.
            [str(loom), "api", "--port", str(port), "--workers", "1"],
            stdout=out,
            stderr=out,
            env=env,
            cwd=uploads,
        )
    served = ServedApi(f"http://127.0.0.1:{port}", log, uploads, process)
    try:
        wait_until_serving(served.base, process, served.log_text)
        yield served
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def wait_until_serving(
    base: str,
    process: subprocess.Popen,
    log_text: Callable[[], str],
    timeout_s: float = SERVE_TIMEOUT_S,
) -> None:
    """Wait until the API at ``base`` answers /healthz; fail with its log if not."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        exited = process.poll()  # loom-lint: ignore (a process, not Kafka)
        assert exited is None, log_text()
        assert time.monotonic() < deadline, log_text()
        time.sleep(0.2)

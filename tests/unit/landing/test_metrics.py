import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from loom_core.topics import GPS_RAW, STEPS_RAW
from loom_dagster.landing import metrics
from loom_dagster.landing.store import Totals


@pytest.fixture
def gateway():
    """A local HTTP server that records what is pushed to it (a Pushgateway's API)."""
    pushed = []

    class Handler(BaseHTTPRequestHandler):
        def do_PUT(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            pushed.append((self.path, body.decode()))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", pushed
    server.shutdown()


def test_run_figures_are_pushed_under_the_topic(gateway):
    url, pushed = gateway
    ok = metrics.push_run(
        url,
        GPS_RAW.name,
        totals=Totals(
            messages=10, rows_inserted=7, duplicates_skipped=2, dead_lettered=1
        ),
        rows_per_second=123.5,
        run_seconds=2.0,
        lag=4,
    )
    assert ok
    path, body = pushed[0]
    assert path == f"/metrics/job/loom_dagster_landing/topic/{GPS_RAW.name}"
    assert "loom_dagster_landing_rows_total 7.0" in body
    assert "loom_dagster_landing_dead_letters_total 1.0" in body
    assert "loom_dagster_landing_rows_per_second 123.5" in body
    assert "loom_dagster_landing_run_lag_messages 4.0" in body


def test_lag_is_pushed_per_partition(gateway):
    url, pushed = gateway
    assert metrics.push_lag(url, STEPS_RAW.name, {0: 5, 1: 0})
    path, body = pushed[0]
    assert path == f"/metrics/job/loom_dagster_landing_sensor/topic/{STEPS_RAW.name}"
    assert 'loom_dagster_landing_lag_messages{partition="0"} 5.0' in body


def test_an_unreachable_gateway_is_reported_not_raised(monkeypatch):
    monkeypatch.setattr(metrics.time, "sleep", lambda _s: None)
    assert not metrics.push_lag("http://127.0.0.1:9", STEPS_RAW.name, {0: 1})

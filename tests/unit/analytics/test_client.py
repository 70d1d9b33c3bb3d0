import io
import threading

import pytest
import requests
from trino.exceptions import (
    TrinoConnectionError,
    TrinoExternalError,
    TrinoQueryError,
    TrinoUserError,
)

from loom_cli.analytics import client
from loom_cli.analytics.params import bind
from loom_core.settings import LoomSettings

URL = "http://127.0.0.1:18080"


def user_error(name, message, line=None, column=None):
    error = {"errorName": name, "errorType": "USER_ERROR", "message": message}
    if line is not None:
        error["errorLocation"] = {"lineNumber": line, "columnNumber": column}
    return TrinoUserError(error, "q1")


def test_user_errors_keep_the_reason_and_map_the_position_to_the_file():
    bound = bind("SELECT :device, nope", {"device": "a-long-device-id"})
    # Trino points at `nope` in the bound text: column 28 there, 17 in the file
    exc = user_error(
        "COLUMN_NOT_FOUND", "line 1:28: Column 'nope' cannot be resolved", 1, 28
    )
    assert client.describe_error(exc, bound, "q.sql", URL) == (
        "column not found in q.sql at line 1, column 17: Column 'nope' cannot be resolved"
    )


def test_errors_without_a_position_and_multiline_messages_stay_on_one_line():
    exc = user_error("NOT_SUPPORTED", "first line\nsecond line")
    assert client.describe_error(exc, bind("SELECT 1", {}), "query", URL) == (
        "not supported in query: first line"
    )
    external = TrinoExternalError(
        {"errorName": "JDBC_ERROR", "message": "Connection to 127.0.0.1:15433 refused"}
    )
    assert client.describe_error(external, bind("SELECT 1", {}), "query", URL) == (
        "jdbc error in query: Connection to 127.0.0.1:15433 refused"
    )
    assert client.describe_error(
        TrinoUserError({}), bind("SELECT 1", {}), "q", URL
    ) == ("error in q: Trino did not return an error message")


def test_unreachable_trino_says_how_to_start_it():
    refused = TrinoConnectionError(
        "failed to execute: HTTPConnectionPool(...): Max retries exceeded "
        "(Caused by NewConnectionError(... [Errno 111] Connection refused))"
    )
    message = client.describe_error(refused, bind("SELECT 1", {}), "query", URL)
    assert message == (
        f"cannot reach Trino at {URL} (connection refused); start the local stack "
        "with `loom stack up` or point LOOM_TRINO_URL at a running Trino"
    )
    timeout = requests.ConnectTimeout("timed out after 5 s")
    assert "(timed out after 5 s); start the local stack" in client.describe_error(
        timeout, bind("SELECT 1", {}), "query", URL
    )
    assert client.describe_error(ValueError("odd"), bind("SELECT 1", {}), "q", URL) == (
        "Trino could not run q: odd"
    )


def test_connect_uses_the_settings_url_and_bounded_retries():
    conn = client.connect(
        LoomSettings(trino_url="https://trino.example:8443"), "kafka", "raw"
    )
    assert (conn.host, conn.port, conn.http_scheme) == ("trino.example", 8443, "https")
    assert (conn.catalog, conn.schema, conn.user) == ("kafka", "raw", "loom")
    assert conn.request_timeout == (client.CONNECT_TIMEOUT_S, client.READ_TIMEOUT_S)
    assert conn.max_attempts == 3
    assert conn._client_session.timezone == "UTC"
    assert client.CONNECT_TIMEOUT_S == 5.0


def test_progress_line_reads_the_client_stats():
    stats = {
        "state": "RUNNING",
        "elapsedTimeMillis": 2500,
        "processedRows": 1234567,
        "completedSplits": 3,
        "totalSplits": 8,
    }
    assert client.progress_line(stats) == "running 37%, 1,234,567 rows read, 2.5 s"
    assert client.progress_line({}) == "queued, 0 rows read, 0.0 s"


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


class FakeCursor:
    def __init__(self):
        self.stats = {"state": "RUNNING", "processedRows": 5}


def test_progress_shows_only_on_a_terminal_and_clears_its_line():
    assert client.Progress.for_stream(io.StringIO()) is None
    terminal = FakeTerminal()
    assert client.Progress.for_stream(terminal) is terminal

    ticker = client.Progress(FakeCursor(), terminal)
    ticker.quiet_s = 0
    ticker.interval_s = 0.01
    shown = threading.Event()
    ticker.stream.flush = shown.set
    ticker.start()
    assert shown.wait(5)
    ticker.stop()
    text = terminal.getvalue()
    assert "running, 5 rows read" in text
    assert text.endswith("\r\x1b[K")


def test_a_quick_query_shows_no_progress():
    terminal = FakeTerminal()
    ticker = client.Progress(FakeCursor(), terminal)
    ticker.start()
    ticker.stop()
    assert terminal.getvalue() == ""


class InterruptedCursor:
    """A cursor whose query the user interrupts with Ctrl-C."""

    def __init__(self, cancel_error=None):
        self.cancelled = False
        self.cancel_error = cancel_error

    def execute(self, _sql):
        raise KeyboardInterrupt

    def cancel(self):
        self.cancelled = True
        if self.cancel_error:
            raise self.cancel_error


class FakeConnection:
    def __init__(self, cursor):
        self._cursor = cursor

    def cursor(self):
        return self._cursor


@pytest.mark.parametrize("cancel_error", [None, TrinoConnectionError("gone")])
def test_ctrl_c_cancels_the_query_in_trino(cancel_error):
    cursor = InterruptedCursor(cancel_error)
    with pytest.raises(KeyboardInterrupt):
        client.execute(FakeConnection(cursor), bind("SELECT 1", {}), "query", URL)
    assert cursor.cancelled


class FailingCursor:
    """A cursor whose query Trino fails with ``error``."""

    def __init__(self, error):
        self.error = error

    def execute(self, _sql):
        raise self.error


def test_an_internal_error_such_as_no_worker_left_is_one_line_not_a_traceback():
    # Trino's INTERNAL_ERROR kind: the client raises a bare TrinoQueryError.
    gone = TrinoQueryError(
        {
            "errorName": "NO_NODES_AVAILABLE",
            "errorType": "INTERNAL_ERROR",
            "message": "No nodes available to run query\n\tat io.trino...",
        }
    )
    with pytest.raises(client.SqlError) as failed:
        client.execute(
            FakeConnection(FailingCursor(gone)), bind("SELECT 1", {}), "query", URL
        )
    assert (
        str(failed.value)
        == "no nodes available in query: No nodes available to run query"
    )

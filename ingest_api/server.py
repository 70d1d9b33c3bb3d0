"""How uvicorn serves the ingress: an HTTP protocol that does not wait on slow clients.

uvicorn bounds the time between requests on a kept-alive connection, but not the
time a client takes to send a request's headers, nor how long it may stall in the
middle of a body: three hundred connections trickling headers would each hold a
socket forever. :class:`GuardedHttpProtocol` closes a connection whose headers are
not complete ``LOOM_HEADER_TIMEOUT_SECONDS`` after it opened (or after its request
began), and one whose body stalls for ``LOOM_BODY_IDLE_TIMEOUT_SECONDS``. The app
then sees a client disconnect (answered as 499, see ``ingest_api.app``).

``loom api`` and ``loom serve`` run uvicorn with it (:data:`UVICORN_OPTIONS`).
"""

from __future__ import annotations

import asyncio
from functools import cache
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from ingest_api.settings import IngestSettings

PROTOCOL = "ingest_api.server:GuardedHttpProtocol"
TIMEOUT_KEEP_ALIVE_S = 5


@cache
def _timeouts() -> tuple[float, float]:
    settings = IngestSettings()
    return settings.header_timeout_seconds, settings.body_idle_timeout_seconds


class GuardedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with header and body-stall timeouts."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_timeout_s, self.body_idle_timeout_s = _timeouts()
        self._guard: asyncio.TimerHandle | None = None

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._guard = self.loop.call_later(seconds, self._too_slow)

    def _disarm(self) -> None:
        if self._guard is not None:
            self._guard.cancel()
            self._guard = None

    def _too_slow(self) -> None:
        self._guard = None
        if self.transport is None or self.transport.is_closing():
            return
        if self.flow is not None and self.flow.read_paused:
            # The app is behind, not the client: wait for it.
            self._arm(self.body_idle_timeout_s)
            return
        self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Start the clock for the first request's headers."""
        super().connection_made(transport)
        self._arm(self.header_timeout_s)

    def connection_lost(self, exc: Exception | None) -> None:
        """Stop the clock."""
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        """Start the clock for this request's headers."""
        super().on_message_begin()
        self._arm(self.header_timeout_s)

    def on_headers_complete(self) -> None:
        """Headers are in: from now on the body may not stall."""
        super().on_headers_complete()
        self._arm(self.body_idle_timeout_s)

    def on_body(self, body: bytes) -> None:
        """More body came: restart the stall clock."""
        super().on_body(body)
        self._arm(self.body_idle_timeout_s)

    def on_message_complete(self) -> None:
        """Stop the clock: uvicorn's keep-alive timeout takes over after the answer."""
        super().on_message_complete()
        self._disarm()

    def handle_websocket_upgrade(self) -> None:
        """Stop the clock: a WebSocket has its own ping timeouts."""
        self._disarm()
        super().handle_websocket_upgrade()


UVICORN_OPTIONS: dict[str, Any] = {
    "http": PROTOCOL,
    "timeout_keep_alive": TIMEOUT_KEEP_ALIVE_S,
    "server_header": False,
}
"""Options of ``uvicorn.run`` (``loom api``) and ``python -m uvicorn`` (``loom serve``)."""

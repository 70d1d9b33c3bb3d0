"""Per-device API keys: where a request carries its key, and whose key it is.

A key may come as ``Authorization: Bearer <key>``, ``X-API-Key: <key>``, the
password of HTTP Basic (the user name then names the device), or a ``key`` query
parameter for apps that can only set a URL. Keys are checked against the hashes in
PostgreSQL; accepted ones are cached, and a revocation evicts them at once on every
ingress through the registry's LISTEN/NOTIFY channel. Keys never reach a log.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import logging
import math
import time
from dataclasses import dataclass
from urllib.parse import unquote_plus

import psycopg
from fastapi import HTTPException, status
from starlette.requests import HTTPConnection

from ingest_api import keys, registry
from ingest_api.errors import Unavailable
from loom_core.settings import EXTERNAL_TIMEOUT_S

log = logging.getLogger(__name__)

LISTEN_RETRY_S = 1.0
TWICE = "send the 'key' query parameter once"
ENCODED = "write the 'key' query parameter's name as plain 'key', not percent-encoded"
MISSING_KEY = (
    "no API key: send 'Authorization: Bearer <key>', 'X-API-Key: <key>', HTTP Basic "
    "with the key as password, or ?key=<key>; `loom devices add NAME` makes one"
)


@dataclass(frozen=True)
class Credentials:
    """A key from a request, and the device it names (the Basic user), if any."""

    key: str
    named_device: str | None = None


def credentials(conn: HTTPConnection) -> Credentials | None:
    """Return the credentials a request carries, or ``None``."""
    header = conn.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value:
        return Credentials(value)
    if scheme.lower() == "basic" and value:
        try:
            user, sep, password = base64.b64decode(value).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        if sep and password:
            return Credentials(password, user or None)
    api_key = conn.headers.get("x-api-key") or query_key(conn.scope["query_string"])
    return Credentials(api_key) if api_key else None


def query_key(query: bytes) -> str | None:
    """Return the ``key`` query parameter, if the query has one.

    Raises
    ------
    HTTPException
        400 when ``key`` is given twice, or with its name percent-encoded: a
        proxy or log that looks for ``key=`` would miss it.
    """
    if not query:
        return None
    found = None
    for part in query.split(b"&"):
        name, _, value = part.partition(b"=")
        if name == b"key":
            if found is not None:
                raise HTTPException(status.HTTP_400_BAD_REQUEST, TWICE)
            found = value
        elif (b"%" in name or b"+" in name) and unquote_plus(
            name.decode("latin-1")
        ).strip().lower() in {"key", "api_key"}:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, ENCODED)
    return unquote_plus(found.decode("latin-1")) if found else None


class FailedAuthLimit:
    """Failed authentications per client address, in fixed one-minute windows.

    An address past ``per_minute`` failures gets 429 until its window ends, before
    its key is even looked up: a flood of wrong keys cannot keep PostgreSQL busy.
    Behind a reverse proxy every client has the proxy's address unless uvicorn
    trusts its ``X-Forwarded-For`` (``--forwarded-allow-ips``).
    """

    WINDOW_S = 60.0
    MAX_ADDRESSES = 100_000

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._windows: dict[str, list[float]] = {}  # address: [start, failures]

    def retry_after(self, address: str) -> int | None:
        """Return the seconds ``address`` must wait, or ``None`` if it may try."""
        window = self._windows.get(address)
        if window is None:
            return None
        left = window[0] + self.WINDOW_S - time.monotonic()
        if left <= 0:
            del self._windows[address]
            return None
        return math.ceil(left) if window[1] >= self.per_minute else None

    def failed(self, address: str) -> None:
        """Count a failed authentication of ``address``."""
        now = time.monotonic()
        window = self._windows.get(address)
        if window is None or now - window[0] >= self.WINDOW_S:
            if len(self._windows) >= self.MAX_ADDRESSES:
                self._forget_old(now)
            self._windows[address] = [now, 1]
        else:
            window[1] += 1

    def _forget_old(self, now: float) -> None:
        old = [a for a, w in self._windows.items() if now - w[0] >= self.WINDOW_S]
        for address in old or list(self._windows)[: self.MAX_ADDRESSES // 2]:
            del self._windows[address]


class KeyStore:
    """Answers "which device does this key belong to?" from PostgreSQL, cached.

    Parameters
    ----------
    database_url
        The registry's database.
    cache_s
        How long an accepted key is trusted without a query; 0 turns caching off.
        The cache is used only while the LISTEN connection is up, so a revocation
        can never be missed.
    unknown_cache_s
        How long an unknown (or revoked) key is refused without a query.
    """

    MAX_UNKNOWN = 10_000

    def __init__(
        self, database_url: str, cache_s: float, unknown_cache_s: float = 0.0
    ) -> None:
        self.database_url = database_url
        self.cache_s = cache_s
        self.unknown_cache_s = unknown_cache_s
        self._cache: dict[bytes, tuple[str, float]] = {}
        self._unknown: dict[bytes, float] = {}  # hash: refused until
        self._generation = 0  # bumped by every eviction: see device_for
        self._listening = False
        self._conn: psycopg.AsyncConnection | None = None
        self._conn_lock = asyncio.Lock()
        self._listener: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start listening for key changes (only needed when caching)."""
        if self.cache_s > 0:
            self._listener = asyncio.create_task(self._listen(), name="key-listener")

    async def close(self) -> None:
        """Stop the listener and close the lookup connection."""
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        if self._conn is not None:
            await self._conn.close()

    async def device_for(self, key: str) -> str | None:
        """Return the device of an active ``key``, ``None`` if unknown or revoked.

        Raises
        ------
        Unavailable
            When PostgreSQL cannot be asked.
        """
        digest = keys.hash_key(key)
        cached = self._cache.get(digest)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        refused_until = self._unknown.get(digest)
        if refused_until is not None:
            if refused_until > time.monotonic():
                return None
            del self._unknown[digest]
        generation = self._generation
        device_id = await self._lookup(digest)
        # An eviction during the lookup may concern this very key: do not cache.
        if device_id and self._listening and generation == self._generation:
            self._cache[digest] = (device_id, time.monotonic() + self.cache_s)
        elif device_id is None and self.unknown_cache_s > 0:
            if len(self._unknown) >= self.MAX_UNKNOWN:
                del self._unknown[next(iter(self._unknown))]  # the oldest
            self._unknown[digest] = time.monotonic() + self.unknown_cache_s
        return device_id

    def evict(self, digest: bytes | None = None) -> None:
        """Forget one key's hash, or every key (accepted or refused)."""
        self._generation += 1
        if digest is None:
            self._cache.clear()
            self._unknown.clear()
        else:
            self._cache.pop(digest, None)
            self._unknown.pop(digest, None)

    async def check(self) -> None:
        """Raise unless PostgreSQL answers."""
        await self._lookup(b"\0" * 32)

    async def _lookup(self, digest: bytes) -> str | None:
        async with self._conn_lock:
            try:
                if self._conn is None or self._conn.closed:
                    self._conn = await psycopg.AsyncConnection.connect(
                        self.database_url,
                        autocommit=True,
                        connect_timeout=EXTERNAL_TIMEOUT_S,
                        options=f"-c statement_timeout={EXTERNAL_TIMEOUT_S * 1000}",
                    )
                cur = await self._conn.execute(registry.LOOKUP, (digest,))
                row = await cur.fetchone()
            except psycopg.errors.UndefinedTable:
                msg = (
                    "the devices table is missing; run the migrations (`loom api` does)"
                )
                raise Unavailable(msg) from None
            except (psycopg.Error, OSError) as exc:
                if self._conn is not None:
                    await self._conn.close()
                self._conn = None
                msg = f"PostgreSQL is unreachable, cannot check the API key ({type(exc).__name__})"
                raise Unavailable(msg) from None
        return row[0] if row else None

    async def _listen(self) -> None:
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self.database_url,
                    autocommit=True,
                    connect_timeout=EXTERNAL_TIMEOUT_S,
                ) as conn:
                    await conn.execute(f"LISTEN {registry.CHANNEL}")
                    self.evict()  # whatever changed while nobody listened
                    self._listening = True
                    async for note in conn.notifies():
                        self.evict(bytes.fromhex(note.payload))
            except (psycopg.Error, OSError, ValueError) as exc:
                log.warning("key revocations: LISTEN failed, retrying: %s", exc)
            finally:
                self._listening = False
                self.evict()
            await asyncio.sleep(LISTEN_RETRY_S)


async def authenticate(
    conn: HTTPConnection, keys: KeyStore, failures: FailedAuthLimit
) -> str:
    """Return the id of the device whose key the request carries.

    Routes get it as the ``AuthenticatedDevice`` dependency
    (:mod:`ingest_api.services`); the audio WebSocket calls it itself, to refuse
    its handshake with the same answer.

    Raises
    ------
    HTTPException
        401 without a valid key, 403 when the Basic user names another device,
        429 after too many failures from the client's address, 503 when the
        registry cannot be asked.
    """
    found = credentials(conn)
    if found is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            MISSING_KEY,
            headers={"WWW-Authenticate": 'Bearer, Basic realm="loom"'},
        )
    address = conn.client.host if conn.client else ""
    wait = failures.retry_after(address)
    if wait is not None:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"too many failed authentications from this address; retry in {wait} s",
            headers={"Retry-After": str(wait)},
        )
    device_id = await keys.device_for(found.key)
    if device_id is None:
        failures.failed(address)
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "unknown or revoked API key; `loom devices list` shows the devices",
            headers={"WWW-Authenticate": 'Bearer, Basic realm="loom"'},
        )
    if found.named_device is not None and found.named_device != device_id:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"this API key belongs to device {device_id!r}; use that as the user name",
        )
    return device_id


# The ways of sending a key, as OpenAPI security schemes (/docs gets an "Authorize"
# button). Declared in the schema only: :func:`authenticate` reads the request
# itself, once, so a request pays for one dependency and WebSockets share the rules.
SECURITY_SCHEMES: dict[str, dict[str, str]] = {
    "bearer": {"type": "http", "scheme": "bearer", "description": "The API key"},
    "apiKeyHeader": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
    "basic": {
        "type": "http",
        "scheme": "basic",
        "description": "User name: the device id (or empty); password: the API key",
    },
    "apiKeyQuery": {
        "type": "apiKey",
        "in": "query",
        "name": "key",
        "description": "For apps that can only set a URL",
    },
}

"""Secrets never reach a log: one filter that every log record passes through.

:func:`install` adds :class:`RedactSecrets` to uvicorn's loggers (error and
access), Loom's own, the root logger and the handlers of all of them, so whatever
logger a record is made on, it is redacted before any handler writes it: its
message, its arguments and its exception text. Masked are the values of
key-bearing query parameters (``key``, ``api_key``, ...: their names however
percent-encoded or cased), ``Authorization`` header values and anything shaped
like a Loom API key.
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import unquote_plus

MASK = "***"
SECRET_PARAMS = frozenset(
    {"key", "api_key", "apikey", "api-key", "token", "access_token", "password"}
)
LOGGERS = ("", "uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")
# uvicorn's access formatter reads the arguments themselves (client, path, ...).
ARGS_READ_BY_FORMATTER = frozenset({"uvicorn.access"})
OWN_LOGGERS = ("ingest_api", "loom_core", "loom_cli", "loom_dagster")

_PARAM = re.compile(r"(?:(?<=[?&;\s\"'])|^)([^=&;\s\"'#<>?]+)=([^&;\s\"'#<>]*)")
_KEY_SHAPED = re.compile(r"loom_[A-Za-z0-9_-]{16,}")
_AUTHORIZATION = re.compile(
    r"(?i)((?:authorization|x-api-key)[\"']?\s*[:=,]\s*b?[\"']?(?:bearer\s+|basic\s+)?)"
    r"[^\s\"',)]+"
)


def _mask_param(match: re.Match[str]) -> str:
    name = match[1]
    if unquote_plus(name).strip().lower() in SECRET_PARAMS:
        return f"{name}={MASK}"
    return match[0]


def redact(text: str) -> str:
    """Return ``text`` with every secret in it masked."""
    if "=" in text:
        text = _PARAM.sub(_mask_param, text)
    if "loom_" in text:
        text = _KEY_SHAPED.sub(MASK, text)
    lowered = text.lower()
    if "authorization" in lowered or "x-api-key" in lowered:
        text = _AUTHORIZATION.sub(rf"\1{MASK}", text)
    return text


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, bytes):
        return redact(value.decode("latin-1"))
    return value


class RedactSecrets(logging.Filter):
    """Mask secrets in a record's message, arguments and exception text."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record in place; never drop it."""
        args = record.args
        if record.name in ARGS_READ_BY_FORMATTER and isinstance(args, tuple):
            record.args = tuple(_redact_value(a) for a in args)
        else:
            try:
                message = record.getMessage()
            except (TypeError, ValueError, KeyError):  # a malformed call
                message = f"{record.msg} {args!r}"
            record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class DenialNotAnError(logging.Filter):
    """Drop uvicorn's ERROR after a WebSocket handshake the app refused with HTTP.

    uvicorn's websockets protocol sends the app's denial response (401, 422) but
    does not mark the handshake complete, then logs "ASGI callable returned
    without completing handshake" as an ERROR for every refused connection.
    """

    MESSAGE = "ASGI callable returned without completing handshake."

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep every record but that one."""
        return record.msg != self.MESSAGE


def install() -> RedactSecrets:
    """Put the one redaction filter on every configured logger and handler.

    Call it once logging is configured (the app factory runs after uvicorn's
    ``dictConfig``); calling it again adds nothing twice.
    """
    found = [
        f for f in logging.getLogger("uvicorn").filters if isinstance(f, RedactSecrets)
    ]
    redaction = found[0] if found else RedactSecrets()
    loggers = [logging.getLogger(name) for name in (*LOGGERS, *OWN_LOGGERS)]
    handlers = {h for logger in loggers for h in logger.handlers}
    if logging.lastResort is not None:
        handlers.add(logging.lastResort)
    for target in [*loggers, *handlers]:
        if redaction not in target.filters:
            target.addFilter(redaction)
    uvicorn_error = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, DenialNotAnError) for f in uvicorn_error.filters):
        uvicorn_error.addFilter(DenialNotAnError())
    return redaction

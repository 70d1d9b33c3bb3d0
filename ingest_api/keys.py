"""API keys and device ids: how they are made and how a key is stored.

A key is ``loom_`` + 43 URL-safe characters (256 random bits). Only its SHA-256 is
stored: with that much entropy a fast hash cannot be brute-forced (bcrypt or
argon2 protect guessable passwords), and it lets the ingress look a key up by index.
"""

from __future__ import annotations

import hashlib
import re
import secrets

KEY_PREFIX = "loom_"
PREFIX_SHOWN = 12  # characters of a key shown by `loom devices list`
_SLUG = re.compile(r"[^a-z0-9]+")


def new_key() -> str:
    """Return a fresh API key."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> bytes:
    """Return the SHA-256 of ``key``, the form in which keys are stored."""
    return hashlib.sha256(key.encode()).digest()


def key_prefix(key: str) -> str:
    """Return the start of ``key`` that identifies it without revealing it."""
    return key[:PREFIX_SHOWN]


def new_device_id(name: str) -> str:
    """Return a device id made from ``name``: its slug and a random suffix.

    The id matches the contracts' device id pattern whatever the name holds.
    """
    slug = _SLUG.sub("-", name.lower()).strip("-")[:40] or "device"
    return f"{slug}-{secrets.token_hex(3)}"

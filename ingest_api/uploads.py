"""Resumable uploads: bytes on local disk, the committed offset in Redis.

``chunk:<file_id>:offset`` holds how many bytes are safely on disk (written and
fsynced before the offset moves); its TTL (<= 5 min) is refreshed by every PUT, so
an upload left alone for longer expires and its bytes are swept away. Beside the
bytes, ``<file_id>.json`` records who uploads what; after completion it keeps the
result, so a repeated ``complete`` gets the same answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import HTTPException, status
from pydantic import BaseModel
from redis.asyncio import Redis
from redis.exceptions import RedisError

from ingest_api.errors import Unavailable
from ingest_api.settings import IngestSettings

log = logging.getLogger(__name__)

SWEEP_EVERY_S = 60.0
_FILE_ID = re.compile(r"[0-9a-f]{32}")  # what new_id makes

# Move the offset from ARGV[1] to ARGV[2] if it is still ARGV[1]; return the
# offset now held (ARGV[2] on success), or -1 when the upload expired.
_ADVANCE = """
local current = redis.call('GET', KEYS[1])
if not current then return -1 end
if current ~= ARGV[1] then return tonumber(current) end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return tonumber(ARGV[2])
"""


class UploadMeta(BaseModel):
    """What is uploaded, by whom; ``result`` is set once it is complete."""

    file_id: str
    device_id: str
    content_type: str
    size: int | None = None
    recorded_at: datetime | None = None
    sample_rate: int | None = None
    filename: str | None = None
    created_at: datetime
    result: dict[str, Any] | None = None


def offset_key(file_id: str) -> str:
    """Return the Redis key holding an upload's committed offset."""
    return f"chunk:{file_id}:offset"


def _write_at(path: Path, offset: int, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY)
    try:
        os.pwrite(fd, data, offset)
        # Bytes past the chunk are leftovers of an interrupted, uncommitted write.
        os.ftruncate(fd, offset + len(data))
        os.fsync(fd)
    finally:
        os.close(fd)


class UploadStore:
    """Upload state: metadata and bytes under ``settings.uploads``, offsets in Redis."""

    def __init__(self, redis: Redis, settings: IngestSettings) -> None:
        self.redis = redis
        self.directory = settings.uploads
        self.ttl_s = settings.upload_ttl_seconds
        self.max_bytes = settings.upload_max_bytes
        self.retry_after_s = settings.retry_after_seconds
        self._advance = redis.register_script(_ADVANCE)
        self._locks: dict[str, asyncio.Lock] = {}

    # -- paths and locks -------------------------------------------------------------
    def data_path(self, file_id: str) -> Path:
        """Where the bytes of an upload are."""
        return self.directory / f"{file_id}.data"

    def _meta_path(self, file_id: str) -> Path:
        return self.directory / f"{file_id}.json"

    def lock(self, file_id: str) -> asyncio.Lock:
        """Return the lock that serialises writes and completion of one upload."""
        return self._locks.setdefault(file_id, asyncio.Lock())

    # -- operations ------------------------------------------------------------------
    async def create(self, meta: UploadMeta) -> None:
        """Start an upload at offset 0."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self.data_path(meta.file_id).touch()
        self._save(meta)
        await self._redis(self.redis.set(offset_key(meta.file_id), 0, ex=self.ttl_s))

    @staticmethod
    def new_id() -> str:
        """Return a fresh, unguessable file id."""
        return uuid.uuid4().hex

    def meta(self, file_id: str, device_id: str) -> UploadMeta:
        """Return the metadata of a device's upload.

        Raises
        ------
        HTTPException
            404 when there is no such upload for this device.
        """
        if not _FILE_ID.fullmatch(file_id):  # not one of ours: never a path
            raise self._not_found(file_id)
        path = self._meta_path(file_id)
        if not path.exists():
            raise self._not_found(file_id)
        meta = UploadMeta.model_validate_json(path.read_text())
        if meta.device_id != device_id:
            raise self._not_found(file_id)
        return meta

    async def offset(self, meta: UploadMeta) -> int:
        """Return the committed offset of an upload in progress.

        Raises
        ------
        HTTPException
            410 when it expired.
        """
        value = await self._redis(self.redis.get(offset_key(meta.file_id)))
        if value is None:
            raise self._expired(meta.file_id)
        return int(value)

    async def write(self, meta: UploadMeta, offset: int, data: bytes) -> int:
        """Write ``data`` at ``offset`` and commit it; return the new offset.

        Call under :meth:`lock`.

        Raises
        ------
        HTTPException
            409 with the expected offset when ``offset`` is not it, 410 when the
            upload expired, 413 past the declared or allowed size.
        """
        current = await self.offset(meta)
        if offset != current:
            raise self.conflict(current, f"this upload continues at byte {current}")
        end = offset + len(data)
        limit = meta.size if meta.size is not None else self.max_bytes
        if end > limit:
            raise HTTPException(
                status.HTTP_413_CONTENT_TOO_LARGE,
                f"this chunk ends at byte {end}, past the upload's size of {limit}",
            )
        if not data:
            await self._redis(self.redis.expire(offset_key(meta.file_id), self.ttl_s))
            return current
        await asyncio.to_thread(_write_at, self.data_path(meta.file_id), offset, data)
        now = await self._redis(
            self._advance(
                keys=[offset_key(meta.file_id)], args=[offset, end, self.ttl_s]
            )
        )
        if now == -1:
            raise self._expired(meta.file_id)
        if now != end:
            raise self.conflict(now, f"another request moved this upload to byte {now}")
        return end

    async def finish(self, meta: UploadMeta, result: dict[str, Any]) -> UploadMeta:
        """Record the result of a completed upload and drop its bytes."""
        done = meta.model_copy(update={"result": result})
        self._save(done)
        self.data_path(meta.file_id).unlink(missing_ok=True)
        await self._redis(self.redis.delete(offset_key(meta.file_id)))
        self._locks.pop(meta.file_id, None)
        return done

    # -- housekeeping ----------------------------------------------------------------
    async def sweep(self) -> list[str]:
        """Delete expired uploads and old results; return the file ids removed."""
        removed = []
        cutoff = time.time() - self.ttl_s
        for path in sorted(self.directory.glob("*.json")):
            file_id = path.stem
            if path.stat().st_mtime > cutoff or self.lock(file_id).locked():
                continue
            meta = UploadMeta.model_validate_json(path.read_text())
            if meta.result is None and await self.redis.exists(offset_key(file_id)):
                continue
            self.data_path(file_id).unlink(missing_ok=True)
            path.unlink(missing_ok=True)
            self._locks.pop(file_id, None)
            removed.append(file_id)
        return removed

    async def sweep_forever(self) -> None:
        """Sweep every minute for the life of the app."""
        while True:
            await asyncio.sleep(SWEEP_EVERY_S)
            with contextlib.suppress(RedisError, OSError, ValueError):
                swept = await self.sweep()
                if swept:
                    log.info("removed %d expired uploads", len(swept))

    # -- helpers ---------------------------------------------------------------------
    def _save(self, meta: UploadMeta) -> None:
        path = self._meta_path(meta.file_id)
        partial = path.with_suffix(".tmp")
        partial.write_text(meta.model_dump_json())
        partial.replace(path)

    async def _redis(self, call: Any) -> Any:
        try:
            return await call
        except RedisError as exc:
            msg = f"Redis is unreachable, uploads are unavailable ({exc})"
            raise Unavailable(msg, self.retry_after_s) from None

    @staticmethod
    def conflict(expected: int, detail: str) -> HTTPException:
        """Return the 409 that tells the client where to continue."""
        return HTTPException(
            status.HTTP_409_CONFLICT,
            {"msg": detail, "expected_offset": expected},
            headers={"Upload-Offset": str(expected)},
        )

    @staticmethod
    def _not_found(file_id: str) -> HTTPException:
        return HTTPException(
            status.HTTP_404_NOT_FOUND,
            f"no upload {file_id[:64]!r} for this device; start one with POST "
            "/v1/uploads",
        )

    def _expired(self, file_id: str) -> HTTPException:
        return HTTPException(
            status.HTTP_410_GONE,
            f"upload {file_id!r} expired (no chunk for {self.ttl_s} s); start a new one",
        )

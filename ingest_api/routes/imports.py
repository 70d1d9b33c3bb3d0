"""``/v1/imports``: a phone or a web form hands over a location history file.

Resumable like ``/v1/uploads`` (the same store, offsets and routes): ``POST
/v1/imports`` starts one, ``PUT /v1/imports/{file_id}`` appends a chunk at
``Upload-Offset`` (chunks up to the JSON body limit, ``LOOM_MAX_BODY_BYTES``),
``GET`` says where it stands, and ``POST .../complete`` runs the importers of
``loom import`` on the bytes (a file or a ZIP, its format told from its content)
and produces every fix. Ids are derived from each fix (device, time, app,
position), so completing again after a 503, or importing a file whose points the
app also posted live, lands each fix once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Response, status
from pydantic import BaseModel, Field

from ingest_api.errors import AUTH, INVALID, UNAVAILABLE, one_invalid
from ingest_api.history import HistoryFormatError, Problem
from ingest_api.history.load import FORMATS, ImportSummary, events, inputs
from ingest_api.json_body import BoundedJsonRoute
from ingest_api.publish import Accepted
from ingest_api.routes import uploads
from ingest_api.services import AuthenticatedDevice, Services, ServicesDep
from ingest_api.uploads import UploadMeta
from loom_core.contracts import FAMILIES, GpsFix, utc_now

router = APIRouter(
    prefix="/v1/imports", tags=["history imports"], route_class=BoundedJsonRoute
)
GPS = FAMILIES["gps"]
CONTENT_TYPE = "application/vnd.loom.location-history"
BATCH = 1_000  # fixes produced together
MAX_RECORDS = 20_000_000  # records one import may read (a ZIP bomb stops here)
REASONS_KEPT = 20
Format = Literal[tuple(FORMATS)]  # type: ignore[valid-type]


class NewImport(BaseModel):
    """The history file about to be uploaded."""

    size: int | None = Field(default=None, ge=1, description="Total bytes, if known")
    filename: str | None = Field(default=None, max_length=255)
    format: Format | None = Field(  # type: ignore[valid-type]
        default=None,
        description="Read the file as this format; by default told from its bytes",
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=uploads.UploadState,
    responses={**AUTH, **INVALID, **UNAVAILABLE},
    summary="Start a resumable history import",
)
async def create_import(
    new: NewImport,
    device_id: AuthenticatedDevice,
    services: ServicesDep,
    response: Response,
) -> uploads.UploadState:
    """Start an import at offset 0; ``Location`` is where its chunks go."""
    store = services.uploads
    if new.size is not None and new.size > store.max_bytes:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE,
            f"{new.size} bytes is over the upload limit of {store.max_bytes}",
        )
    content_type = CONTENT_TYPE + (f"; format={new.format}" if new.format else "")
    meta = UploadMeta(
        file_id=store.new_id(),
        device_id=device_id,
        created_at=utc_now(),
        content_type=content_type,
        size=new.size,
        filename=new.filename,
    )
    await store.create(meta)
    response.headers["Location"] = f"/v1/imports/{meta.file_id}"
    return uploads.upload_state(store, meta, 0, response)


# The bytes travel exactly as an upload's: the same handlers, the same answers.
router.add_api_route(
    "/{file_id}",
    uploads.get_upload,
    methods=["GET"],
    response_model=uploads.UploadState,
    responses={**AUTH, **uploads.EXPIRED, **UNAVAILABLE},
    summary="Where a history import stands",
)
router.add_api_route(
    "/{file_id}",
    uploads.put_chunk,
    methods=["PUT"],
    response_model=uploads.UploadState,
    responses=uploads.CHUNK_RESPONSES,
    openapi_extra=uploads.CHUNK_BODY,
    summary="Append a chunk of a history file at an offset",
)


@router.post(
    "/{file_id}/complete",
    responses={
        **AUTH,
        **uploads.EXPIRED,
        **UNAVAILABLE,
        409: {"description": "The file is not fully uploaded yet (expected_offset)"},
        413: {"description": "The file holds more records than one import reads"},
        422: {"description": "Not a location history format Loom reads"},
    },
    summary="Import the uploaded history file",
)
async def complete_import(
    file_id: str,
    device_id: AuthenticatedDevice,
    services: ServicesDep,
) -> dict[str, Any]:
    """Read the file with ``loom import``'s importers and produce every fix.

    Answers, once Kafka has every fix, a summary per file: fixes accepted,
    records rejected with their reasons. On a 503 call it again (ids repeat).
    """
    store = services.uploads
    async with store.lock(file_id):
        meta = store.meta(file_id, device_id)
        if not meta.content_type.startswith(CONTENT_TYPE):
            raise one_invalid(
                ["path", "file_id"],
                "this upload is a recording: complete it at /v1/uploads",
            )
        if meta.result is None:
            offset = await store.offset(meta)
            if meta.size is not None and offset != meta.size:
                raise store.conflict(
                    offset, f"only {offset} of {meta.size} bytes are uploaded"
                )
            files = await _import(services, meta, store.data_path(file_id))
            meta = await store.finish(
                meta, {"bytes": offset, "status": "complete", "files": files}
            )
    return {"file_id": file_id, **(meta.result or {})}


async def _import(
    services: Services, meta: UploadMeta, path: Path
) -> list[dict[str, Any]]:
    forced = meta.content_type.partition("format=")[2] or None
    opened = inputs(path, forced)
    files: list[dict[str, Any]] = []
    budget = MAX_RECORDS
    name = meta.filename or "upload"
    try:
        while (item := await asyncio.to_thread(next, opened, None)) is not None:
            member = item.name.removeprefix(path.name)
            summary = ImportSummary(name + member, item.fmt, error=item.unreadable)
            if item.fmt is not None:
                found = events(item, meta.device_id)
                budget = await _produce(services, found, summary, budget)
            files.append(_answer(summary))
    except HistoryFormatError as exc:  # a damaged ZIP
        raise one_invalid(["body"], f"{name}: {exc}") from None
    finally:
        opened.close()
    if not any(f["format"] and not f.get("error") for f in files):
        reasons = "; ".join(
            f"{f['name']}: {f.get('error') or 'not a format Loom reads'}" for f in files
        )
        raise one_invalid(["body"], f"{reasons} (formats: {', '.join(FORMATS)})")
    return files


async def _produce(
    services: Services,
    stream: Iterator[GpsFix | Problem],
    summary: ImportSummary,
    budget: int,
) -> int:
    while True:
        try:
            batch = await asyncio.to_thread(list, islice(stream, BATCH))
        except HistoryFormatError as exc:
            summary.error = str(exc)
            return budget
        if not batch:
            return budget
        budget -= len(batch)
        if budget < 0:
            raise HTTPException(
                status.HTTP_413_CONTENT_TOO_LARGE,
                f"the file holds more than {MAX_RECORDS} records, the most one "
                "import reads; split it (the records before the limit were imported)",
            )
        fixes = []
        for event in batch:
            if isinstance(event, Problem):
                summary.reject(event)
            else:
                fixes.append((GPS, event))
        for outcome in await services.publisher.publish_many(fixes):
            if not isinstance(outcome, Accepted):
                raise outcome
            summary.acknowledged += 1


def _answer(summary: ImportSummary) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "name": summary.name,
        "format": summary.fmt,
        "accepted": summary.acknowledged,
        "rejected": summary.rejected,
        "reasons": [
            {"reason": reason, "count": count, "first": summary.first_where[reason]}
            for reason, count in summary.reasons.most_common(REASONS_KEPT)
        ],
    }
    if summary.error:
        answer["error"] = summary.error
    return answer

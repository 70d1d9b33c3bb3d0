"""``POST /v1/events/{family}`` (one event) and ``POST /v1/events:batch`` (many).

Every family gets its own route with its own documented body; the answer is 202
once Kafka acknowledged the event. A batch answers per item, so one bad event does
not sink the rest. A body is validated straight from its bytes, strictly
(``inputs``), once the caller's key is checked; ``openapi_extra`` documents it
(the schemas: ``inputs.request_schemas``). These are the hot path, and the
ingress's one bypass of FastAPI's request handling: ``routes/direct.py`` says why.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

from ingest_api.errors import AUTH, INVALID, UNAVAILABLE, field_errors, one_invalid
from ingest_api.inputs import (
    MAX_BATCH,
    DeviceMismatchError,
    ItemError,
    input_model,
    parse_batch,
    parse_event,
)
from ingest_api.json_body import JsonLimitError
from ingest_api.publish import Accepted
from ingest_api.routes.direct import DirectRoute, FastJSONResponse, caller
from loom_core.contracts import FAMILIES, CameraFrame, DeviceEvent, Family, utc_now

router = APIRouter(tags=["events"])


class EventAck(BaseModel):
    """An event Kafka acknowledged: its id and where it is stored."""

    event_id: UUID
    topic: str
    partition: int
    offset: int


class FrameAck(EventAck):
    """A camera frame's acknowledgement and how it travelled."""

    pairing: str


class ItemResult(BaseModel):
    """The outcome of one batch item: ``status`` 202 with an ack, or an error."""

    index: int
    status: int
    event_id: UUID | None = None
    topic: str | None = None
    partition: int | None = None
    offset: int | None = None
    detail: Any = None


class BatchResult(BaseModel):
    """Per-item outcomes of a batch, in request order."""

    accepted: int
    rejected: int
    results: list[ItemResult]


def _documented_body(schema_name: str) -> dict[str, Any]:
    """Return ``openapi_extra`` naming the body's schema (FastAPI does not see it)."""
    schema = {"$ref": f"#/components/schemas/{schema_name}"}
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": schema}},
        }
    }


def _event(family: Family, body: bytes, device_id: str) -> DeviceEvent:
    """Return the event of a single-event body, or raise its 403 or 422."""
    try:
        return parse_event(family, body, device_id, utc_now())
    except DeviceMismatchError as exc:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(exc)) from None
    except ValidationError as exc:
        raise RequestValidationError(field_errors(exc)) from None


def _family_route(family: Family) -> None:
    async def post_event(request: Request) -> FastJSONResponse:
        services, device_id = await caller(request)
        event = _event(family, await request.body(), device_id)
        if isinstance(event, CameraFrame):
            frame = await services.pairing.submit(event)
            return FastJSONResponse(frame.as_json(), status.HTTP_202_ACCEPTED)
        accepted = await services.publisher.publish(family, event)
        return FastJSONResponse(accepted.as_json(), status.HTTP_202_ACCEPTED)

    router.add_api_route(
        f"/v1/events/{family.name}",
        post_event,
        route_class_override=DirectRoute,
        methods=["POST"],
        status_code=status.HTTP_202_ACCEPTED,
        response_model=FrameAck if family.name == "camera" else EventAck,
        responses={**AUTH, **INVALID, **UNAVAILABLE},
        summary=f"Post one {family.name} event",
        description=(family.model.__doc__ or "").strip()
        + f"\n\nProduced to `{family.topic.name}` once Kafka acknowledges it.",
        operation_id=f"post_{family.name}_event",
        openapi_extra=_documented_body(input_model(family).__name__),
    )


for _family in FAMILIES.values():
    _family_route(_family)


@router.post(
    "/v1/events/{family}",
    status_code=status.HTTP_404_NOT_FOUND,
    responses={404: {"description": "There is no such event family"}},
    summary="Unknown event families",
)
async def unknown_family(family: str) -> None:
    """Answer 404 naming the families that exist."""
    known = ", ".join(sorted(FAMILIES))
    raise HTTPException(
        status.HTTP_404_NOT_FOUND,
        f"unknown event family {family!r}; known families: {known}",
    )


def _batch_camera(index: int, frame: CameraFrame) -> CameraFrame:
    """Return how a batch's frame travels (a batch cannot wait for a mate)."""
    if len(frame.images) == 1 and frame.pair_id is not None:
        raise one_invalid(
            ["body", "events", index, "pair_id"],
            "frames are paired by POST /v1/events/camera; in a batch send both "
            "images of a pair in one event's 'images'",
        )
    if len(frame.images) == 2:
        return frame.model_copy(update={"pairing": "paired"})
    return frame


def _item_error(index: int, exc: Exception) -> dict[str, Any]:
    if isinstance(exc, ValidationError):
        detail: Any = field_errors(exc, ("body", "events", index))
        return {"index": index, "status": 422, "detail": detail}
    if isinstance(exc, DeviceMismatchError):
        return {"index": index, "status": 403, "detail": str(exc)}
    if isinstance(exc, RequestValidationError):
        return {"index": index, "status": 422, "detail": list(exc.errors())}
    assert isinstance(exc, HTTPException)  # noqa: S101 - the only other kind
    return {"index": index, "status": exc.status_code, "detail": exc.detail}


def _ready(
    parsed: list[tuple[Family, DeviceEvent] | ItemError],
) -> tuple[list[dict[str, Any] | None], list[tuple[int, Family, DeviceEvent]]]:
    """Split parsed items into errors (by index) and events to produce."""
    results: list[dict[str, Any] | None] = [None] * len(parsed)
    ready: list[tuple[int, Family, DeviceEvent]] = []
    for index, outcome in enumerate(parsed):
        if isinstance(outcome, Exception):
            results[index] = _item_error(index, outcome)
            continue
        family, event = outcome
        if isinstance(event, CameraFrame):
            try:
                event = _batch_camera(index, event)
            except RequestValidationError as exc:
                results[index] = _item_error(index, exc)
                continue
        ready.append((index, family, event))
    return results, ready


async def post_batch(request: Request) -> FastJSONResponse:
    """Validate and produce each event on its own; answer per item.

    200 when all were accepted, 207 when some were not (each result says why),
    503 with ``Retry-After`` when Kafka acknowledged none of them, 422 when none
    was valid. The body has a result per item in every case.
    """
    services, device_id = await caller(request)
    try:
        parsed = parse_batch(await request.body(), device_id, utc_now())
    except ValidationError as exc:
        raise RequestValidationError(field_errors(exc)) from None
    except JsonLimitError as exc:
        raise one_invalid(["body"], str(exc)) from None
    results, ready = _ready(parsed)
    outcomes = await services.publisher.publish_many([(f, e) for _, f, e in ready])
    for (index, _, _), outcome in zip(ready, outcomes):
        if isinstance(outcome, Accepted):
            results[index] = {
                "index": index,
                "status": 202,
                "event_id": outcome.event_id,
                "topic": outcome.topic,
                "partition": outcome.partition,
                "offset": outcome.offset,
            }
        else:
            results[index] = _item_error(index, outcome)
    code = _batch_status({r["status"] for r in results})  # type: ignore[index]
    headers = None
    if code == status.HTTP_503_SERVICE_UNAVAILABLE:
        headers = {"Retry-After": str(services.settings.retry_after_seconds)}
    accepted = sum(r is not None and r["status"] == 202 for r in results)
    answer = {
        "accepted": accepted,
        "rejected": len(results) - accepted,
        "results": results,
    }
    return FastJSONResponse(answer, code, headers)


router.add_api_route(
    "/v1/events:batch",
    post_batch,
    route_class_override=DirectRoute,
    methods=["POST"],
    response_model=BatchResult,
    responses={
        **AUTH,
        **INVALID,
        **UNAVAILABLE,
        207: {"model": BatchResult, "description": "Some items were not accepted"},
        422: {"description": "Malformed body, or no item was valid (per-item results)"},
    },
    summary=f"Post up to {MAX_BATCH} events of any families",
    openapi_extra=_documented_body("EventBatch"),
)


def _batch_status(statuses: set[int]) -> int:
    """200 all accepted, 503 none for want of Kafka, 422 none at all, else 207."""
    if statuses == {202}:
        return status.HTTP_200_OK
    if statuses == {503}:
        return status.HTTP_503_SERVICE_UNAVAILABLE
    if 202 not in statuses and 503 not in statuses:
        return status.HTTP_422_UNPROCESSABLE_CONTENT
    return status.HTTP_207_MULTI_STATUS

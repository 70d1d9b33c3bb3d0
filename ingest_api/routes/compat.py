"""``/v1/compat/*``: tracker apps post their own formats; each becomes ``GpsFix``es.

Every point of a request is produced before the app gets its 2xx. If Kafka fails
for any of them, the app gets 503 and resends the whole request: the points that
did land have derived ids and land once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any
from urllib.parse import parse_qsl
from uuid import UUID

from fastapi import APIRouter, HTTPException, Request, status
from pydantic import BaseModel

from ingest_api.compat import gpslogger, osmand, overland, owntracks
from ingest_api.compat.fixes import Point, to_fixes
from ingest_api.errors import AUTH, INVALID, UNAVAILABLE, one_invalid
from ingest_api.json_body import JsonBody, read_json
from ingest_api.publish import Accepted
from ingest_api.services import AuthenticatedDevice, Services, ServicesDep
from loom_core.contracts import FAMILIES, utc_now

router = APIRouter(prefix="/v1/compat", tags=["tracker apps"])
GPS = FAMILIES["gps"]
RESPONSES: dict[int | str, dict[str, Any]] = {**AUTH, **INVALID, **UNAVAILABLE}


async def _params(request: Request) -> tuple[dict[str, Any], tuple[str, ...]]:
    """Return query, form or JSON parameters, and where they were found."""
    params: dict[str, Any] = dict(request.query_params)
    body = await request.body()
    if not body.strip():
        return params, ("query",)
    content_type = request.headers.get("content-type", "")
    if "json" in content_type or body.lstrip().startswith(b"{"):
        data = await read_json(request)
        if not isinstance(data, dict):
            raise one_invalid(["body"], "the JSON body must be an object")
        return {**params, **data}, ("body",)
    if "multipart/" in content_type:
        form = await request.form()
        return {**params, **{k: v for k, v in form.items() if isinstance(v, str)}}, (
            "body",
        )
    try:
        fields = parse_qsl(body.decode(), keep_blank_values=True)
    except UnicodeDecodeError:
        raise one_invalid(["body"], "the form body is not UTF-8") from None
    return {**params, **dict(fields)}, ("body",)


def _require_device(device_id: str, named: Iterable[str | None]) -> None:
    """Refuse a request whose app names another device than the key's."""
    for name in named:
        if name is not None and name != device_id:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"the app names device {name!r} but this API key belongs to "
                f"{device_id!r}; set the app's device id to {device_id!r}",
            )


async def _publish(
    services: Services,
    device_id: str,
    source: str,
    points: Sequence[Point],
    named: str | None = None,
) -> list[Accepted]:
    """Produce the points; all of them are in Kafka when this returns."""
    _require_device(device_id, [named, *(p.named_device for p in points)])
    fixes = to_fixes(points, device_id, source, utc_now())
    outcomes = await services.publisher.publish_many([(GPS, fix) for fix in fixes])
    for outcome in outcomes:
        if not isinstance(outcome, Accepted):
            raise outcome
    return outcomes  # type: ignore[return-value]


class CompatSummary(BaseModel):
    """What a tracker app's request became: a fix per point, all in Kafka."""

    result: str = "ok"
    accepted: int
    event_ids: list[UUID]


def _summary(accepted: list[Accepted]) -> CompatSummary:
    return CompatSummary(
        accepted=len(accepted), event_ids=[a.event_id for a in accepted]
    )


@router.post(
    "/owntracks",
    response_model=list[Any],
    responses=RESPONSES,
    summary="OwnTracks (HTTP mode)",
)
async def post_owntracks(
    device_id: AuthenticatedDevice,
    message: JsonBody,
    services: ServicesDep,
    request: Request,
) -> list[Any]:
    """Take one OwnTracks message; answer ``[]`` (what the app expects).

    Set the app's user name to the device id and its password to the API key.
    """
    points = owntracks.points(message)
    named = (
        None
        if request.headers.get("authorization", "").lower().startswith("basic")
        else request.headers.get("x-limit-d")
    )
    if not points:
        services.metrics.events.labels(GPS.name, "ignored").inc()
    await _publish(services, device_id, owntracks.SOURCE, points, named)
    return []


@router.post(
    "/overland",
    response_model=CompatSummary,
    responses=RESPONSES,
    summary="Overland (iOS)",
)
async def post_overland(
    device_id: AuthenticatedDevice, batch: JsonBody, services: ServicesDep
) -> CompatSummary:
    """Take a batch of Overland locations; answer ``{"result": "ok"}``."""
    points = overland.points(batch)
    return _summary(await _publish(services, device_id, overland.SOURCE, points))


Parser = Callable[[dict[str, Any], tuple[str, ...]], tuple[str, list[Point]]]


def _params_route(path: str, summary: str, parse: Parser) -> None:
    async def endpoint(
        device_id: AuthenticatedDevice, services: ServicesDep, request: Request
    ) -> CompatSummary:
        params, loc = await _params(request)
        source, points = parse(params, loc)
        return _summary(await _publish(services, device_id, source, points))

    endpoint.__doc__ = summary
    router.add_api_route(
        path,
        endpoint,
        methods=["GET", "POST"],
        response_model=CompatSummary,
        responses=RESPONSES,
        summary=summary,
        operation_id=f"compat_{path.strip('/')}",
    )


def _gpslogger(params: dict[str, Any], loc: tuple[str, ...]) -> tuple[str, list[Point]]:
    return gpslogger.SOURCE, gpslogger.points(params, loc)


def _osmand(params: dict[str, Any], loc: tuple[str, ...]) -> tuple[str, list[Point]]:
    if osmand.is_traccar_json(params):
        return osmand.TRACCAR_SOURCE, osmand.traccar_points(params)
    return osmand.SOURCE, osmand.points(params, loc)


_params_route("/gpslogger", "GPSLogger for Android (custom URL)", _gpslogger)
_params_route("/osmand", "OsmAnd and Traccar Client (OsmAnd protocol)", _osmand)
_params_route("/traccar", "Traccar Client (the same as /osmand)", _osmand)

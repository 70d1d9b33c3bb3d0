"""From an app's point to a ``GpsFix``: one place for ids and error names."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from ingest_api.errors import field_errors, invalid
from loom_core.contracts import GpsFix
from loom_core.contracts.ids import derived_event_id

MAX_POINTS = 10_000
"""Most points one app request may carry."""


class AppMessage(BaseModel):
    """Base of the apps' wire formats: apps send many fields Loom does not keep."""

    model_config = ConfigDict(extra="ignore", allow_inf_nan=False)


@dataclass(frozen=True)
class Point:
    """One position as an app sent it, already in SI units.

    ``fields`` are ``GpsFix`` fields (besides the envelope); ``names`` map each to
    the app's own name for it (a path like ``("geometry", "coordinates", 1)`` for
    nested ones), and ``loc`` locates the point in the request, so a 422 names
    what the user sent.
    """

    recorded_at: datetime
    fields: dict[str, Any]
    names: dict[str, str | tuple[str | int, ...]] = field(default_factory=dict)
    loc: tuple[str | int, ...] = ("body",)
    named_device: str | None = None


def parse(
    model: type[AppMessage], data: object, loc: Sequence[str | int] = ("body",)
) -> Any:
    """Validate ``data`` as the app's ``model``; a 422 names the app's fields."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise invalid(field_errors(exc, loc)) from None


def to_fixes(
    points: Sequence[Point], device_id: str, source: str, received_at: datetime
) -> list[GpsFix]:
    """Return the contract events of ``points``.

    The id of a point is derived from device, time, app and position, so a point
    the app replays lands once downstream, and so does the same point imported
    later from a history file (``loom import`` derives it with the same function).

    Raises
    ------
    fastapi.exceptions.RequestValidationError
        Naming every out-of-range field of every point, in the app's terms.
    """
    fixes, errors = [], []
    for point in points:
        try:
            fixes.append(
                GpsFix(
                    event_id=derived_event_id(
                        device_id,
                        point.recorded_at,
                        source,
                        latitude=point.fields["latitude"],
                        longitude=point.fields["longitude"],
                    ),
                    device_id=device_id,
                    recorded_at=point.recorded_at,
                    received_at=received_at,
                    source=source,
                    **point.fields,
                )
            )
        except ValidationError as exc:
            for error in field_errors(exc, ()):
                name = str(error["loc"][0]) if error["loc"] else ""
                theirs = point.names.get(name, name)
                path = theirs if isinstance(theirs, tuple) else (theirs,)
                error["loc"] = [*point.loc, *path]
                errors.append(error)
    if errors:
        raise invalid(errors)
    return fixes

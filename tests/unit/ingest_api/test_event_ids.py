from datetime import UTC, datetime, timedelta
from uuid import uuid4, uuid5

from loom_core.contracts import ids as event_ids

T = datetime(2024, 5, 1, 12, tzinfo=UTC)


def test_app_point_id_is_stable_for_a_replayed_point():
    first = event_ids.derived_event_id("phone", T, "owntracks")
    assert first == event_ids.derived_event_id("phone", T, "owntracks")
    assert first.version == 5


def test_app_point_id_differs_by_device_time_and_app():
    base = event_ids.derived_event_id("phone", T, "owntracks")
    others = {
        event_ids.derived_event_id("tablet", T, "owntracks"),
        event_ids.derived_event_id("phone", T + timedelta(microseconds=1), "owntracks"),
        event_ids.derived_event_id("phone", T, "gpslogger"),
    }
    assert base not in others
    assert len(others) == 3


def test_app_point_id_ignores_how_the_time_was_written():
    other_zone = T.astimezone(datetime.now().astimezone().tzinfo)
    assert event_ids.derived_event_id(
        "p", other_zone, "x"
    ) == event_ids.derived_event_id("p", T, "x")


def test_content_id_changes_with_any_part():
    base = event_ids.content_id("p", "gps", b'{"a":1}')
    assert base == event_ids.content_id("p", "gps", b'{"a":1}')
    assert base != event_ids.content_id("p", "gps", b'{"a":2}')
    assert base != event_ids.content_id("p", "steps", b'{"a":1}')
    assert base != event_ids.content_id("q", "gps", b'{"a":1}')


def test_content_id_is_a_standard_uuid5():
    assert event_ids.content_id("p", "gps", b"{}") == uuid5(
        event_ids.LOOM_NAMESPACE, "content|p|gps|{}"
    )


def test_chunk_and_frame_ids_are_positional_and_distinct():
    assert event_ids.chunk_id("p", "s", 0) == event_ids.chunk_id("p", "s", 0)
    assert event_ids.chunk_id("p", "s", 0) != event_ids.chunk_id("p", "s", 1)
    assert event_ids.chunk_id("p", "f", 0) != event_ids.frame_id("p", "f", 0)


def test_pair_id_does_not_depend_on_arrival_order():
    a, b = uuid4(), uuid4()
    assert event_ids.pair_id_of(a, b) == event_ids.pair_id_of(b, a)
    assert event_ids.pair_id_of(a, b) not in {a, b}

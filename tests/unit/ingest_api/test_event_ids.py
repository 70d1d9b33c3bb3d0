from datetime import UTC, datetime, timedelta
from uuid import uuid4, uuid5

from loom_core.contracts import ids as event_ids

T = datetime(2024, 5, 1, 12, tzinfo=UTC)


HERE = {"latitude": 52.5200001, "longitude": 13.405}


def fix_id(device="phone", when=T, source="owntracks", **place):
    return event_ids.derived_event_id(device, when, source, **{**HERE, **place})


def test_app_point_id_is_stable_for_a_replayed_point():
    first = fix_id()
    assert first == fix_id()
    assert first.version == 5


def test_app_point_id_differs_by_device_time_app_and_position():
    base = fix_id()
    others = {
        fix_id(device="tablet"),
        fix_id(when=T + timedelta(microseconds=1)),
        fix_id(source="gpslogger"),
        # the same second, another place: a second fix, not a repeat
        fix_id(latitude=52.5200002),
        fix_id(longitude=13.4050001),
    }
    assert base not in others
    assert len(others) == 5


def test_app_point_id_ignores_how_the_time_and_position_were_written():
    other_zone = T.astimezone(datetime.now().astimezone().tzinfo)
    assert fix_id(when=other_zone) == fix_id()
    # below the id's precision (1e-7 degrees), as an app's float or an E7 integer
    assert fix_id(latitude=52.52000014) == fix_id()
    assert fix_id(latitude=525200001 * 1e-7) == fix_id()
    assert fix_id(latitude=-0.0, longitude=0.0) == fix_id(latitude=0.0, longitude=-0.0)


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

from datetime import UTC, datetime, timedelta

from ingest_api.pairing import combine, pair_key
from loom_core.contracts import CameraFrame
from loom_core.contracts.ids import pair_id_of

T = datetime(2024, 5, 1, 12, tzinfo=UTC)


def frame(camera, at, data):
    return CameraFrame(
        device_id="phone",
        recorded_at=at,
        images=[{"camera": camera, "data": data}],
        pair_id="p1",
        pairing="single",
    )


def test_combine_puts_the_earlier_image_first_and_derives_the_id():
    back = frame("back", T + timedelta(milliseconds=40), b"B")
    front = frame("front", T, b"F")
    paired = combine(back, front)
    assert paired.pairing == "paired"
    assert paired.recorded_at == T
    assert [i.camera for i in paired.images] == ["front", "back"]
    assert [i.data for i in paired.images] == [b"F", b"B"]
    assert paired.event_id == pair_id_of(front.event_id, back.event_id)
    assert paired.pair_id == "p1"
    assert combine(front, back).event_id == paired.event_id


def test_pair_key_follows_the_redis_rule():
    assert pair_key("phone", "1714564800123") == "pair:phone:1714564800123"

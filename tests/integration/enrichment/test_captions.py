"""captions: OCR reads printed text, photos get plausible tags, pairs are one frame,
undecodable images are dead-lettered."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image

from loom_core import topics
from loom_dagster.defs.enrichment import asset_framework
from loom_dagster.defs.enrichment.assets.captions import CHECK_QUERIES, build_captions
from loom_dagster.enrichment import samples, store, vision
from loom_dagster.enrichment.messages import Caption
from tests.integration.enrichment.conftest import (
    DAY,
    assert_contract,
    check_results,
    materialize,
    metadata,
    rows,
)
from tests.integration.enrichment.landing import land_camera, land_screenshot

NOON = datetime(DAY.year, DAY.month, DAY.day, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def captions():
    return build_captions(vision.EMBEDDED)


def test_frames_get_text_tags_and_captions(
    captions, db, instance, resources, device_id, tail
):
    shot = land_screenshot(
        db, device_id, NOON, samples.text_image("Quarterly report draft")
    )
    cat = land_camera(db, device_id, NOON + timedelta(seconds=1), samples.photo())
    pair = land_camera(
        db,
        device_id,
        NOON + timedelta(seconds=2),
        samples.photo("coffee"),
        mate=samples.text_image("Exit only"),
    )
    kafka = tail(topics.IMAGE_CAPTIONS)

    result = materialize(captions, instance, resources, device_id)

    assert result.success
    by_id = {
        str(r["source_event_id"]): r for r in rows(db, "captions", device_id, "time")
    }
    assert set(by_id) == {shot, cat, pair}
    assert by_id[shot]["source"] == "screenshot"
    assert by_id[shot]["ocr_text"] == "Quarterly report draft"
    assert by_id[cat]["source"] == "camera"
    assert by_id[cat]["tags"][0] == "cat"
    assert by_id[cat]["caption"] == "a photo with a cat"
    assert "cup" in by_id[pair]["tags"]
    assert by_id[pair]["ocr_text"] == "[front] Exit only"
    assert by_id[pair]["caption"].startswith("back: a photo with a cup")
    for row in by_id.values():
        assert len(row["tags"]) == len(row["tag_scores"])
        assert row["model_name"] == "yolov3-tiny+pp-ocrv4"
        assert row["day"] == DAY
    assert all(check_results(result).values())
    assert metadata(result)["captioned"] == 3
    messages = kafka.messages(device_id)
    assert_contract(Caption, messages)
    assert {m["source_event_id"] for m in messages} == {shot, cat, pair}
    assert next(m for m in messages if m["source_event_id"] == shot)["ocr_text"] == (
        "Quarterly report draft"
    )


def test_an_undecodable_image_is_dead_lettered_with_the_reason(
    captions, db, instance, resources, device_id, tail
):
    broken = land_screenshot(db, device_id, NOON, b"\x89PNG\r\n\x1a\n truncated")
    good = land_screenshot(
        db, device_id, NOON + timedelta(seconds=1), samples.text_image("Hello")
    )
    dead = tail(topics.dead_letter_for(topics.IMAGE_CAPTIONS))

    result = materialize(captions, instance, resources, device_id)

    assert result.success
    assert [
        str(r["source_event_id"]) for r in rows(db, "captions", device_id, "time")
    ] == [good]
    (letter,) = dead.messages(device_id)
    assert letter["source_event_id"] == broken
    assert letter["table"] == "screenshots"
    assert letter["reason"].startswith("cannot decode image")
    outcome = db.execute(
        "SELECT outcome, detail FROM enrichment_sources WHERE source_event_id = %s",
        (broken,),
    ).fetchone()
    assert outcome[0] == "dead_letter"
    assert "cannot decode image" in outcome[1]
    assert check_results(result)["every_frame_captioned_or_dead_lettered"]
    assert metadata(result)["dead_lettered"] == 1


def test_an_image_the_models_fail_on_is_dead_lettered_not_retried_forever(
    captions, db, instance, resources, device_id, tail
):
    strip = io.BytesIO()
    Image.new("RGB", (30, 4000), "white").save(strip, format="PNG")  # 1:133
    poison = land_screenshot(db, device_id, NOON, strip.getvalue())
    dead = tail(topics.dead_letter_for(topics.IMAGE_CAPTIONS))

    result = materialize(captions, instance, resources, device_id)

    assert result.success
    (letter,) = dead.messages(device_id)
    assert letter["source_event_id"] == poison
    assert letter["reason"].startswith("the models cannot describe it")
    assert check_results(result)["every_frame_captioned_or_dead_lettered"]


def test_the_frame_check_leaves_frames_landing_during_a_run_to_the_next_run(
    db, device_id
):
    land_screenshot(db, device_id, NOON, samples.text_image("late"))
    partition = store.DeviceDay(device_id, DAY)
    now = asset_framework.listed_at(db)
    check = {"every": CHECK_QUERIES["every_frame_captioned_or_dead_lettered"]}

    (during,) = asset_framework.run_checks(db, check, partition, as_of=now)
    (later,) = asset_framework.run_checks(
        db, check, partition, as_of=now + timedelta(minutes=2)
    )

    assert during.passed  # landed while the run computed: the next run's business
    assert not later.passed  # landed before the run listed its input: a violation
    assert later.metadata["violations"].value == 1

import pytest

from loom_core import topics
from loom_core.contracts import FAMILIES


def test_every_catalog_name_follows_the_naming_rule():
    assert all(topics.TOPIC_NAME.fullmatch(name) for name in topics.CATALOG)


def test_each_raw_topic_has_a_dead_letter_sibling():
    for raw in topics.RAW_TOPICS:
        dead = topics.dead_letter_for(raw)
        assert dead.stage is topics.Stage.DEAD_LETTER
        assert dead.name.rsplit(".", 1)[0] == raw.name.rsplit(".", 1)[0]
        assert dead.name in topics.CATALOG


def test_every_family_produces_to_a_raw_catalog_topic():
    assert {f.topic for f in FAMILIES.values()} == set(topics.RAW_TOPICS)


def test_a_badly_named_topic_cannot_be_declared():
    with pytest.raises(ValueError, match="naming rule"):
        topics.Topic("Device.GPS", topics.Stage.RAW, "bad")  # loom-lint: ignore

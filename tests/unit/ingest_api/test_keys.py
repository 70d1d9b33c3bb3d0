import re

from ingest_api import keys
from loom_core.contracts import GpsFix


def test_new_keys_are_long_random_and_prefixed():
    made = {keys.new_key() for _ in range(100)}
    assert len(made) == 100
    for key in made:
        assert key.startswith("loom_")
        assert re.fullmatch(r"loom_[A-Za-z0-9_-]{43}", key)


def test_hash_is_sha256_and_stable():
    digest = keys.hash_key("loom_abc")
    assert len(digest) == 32
    assert digest == keys.hash_key("loom_abc")
    assert digest != keys.hash_key("loom_abd")


def test_prefix_identifies_without_revealing():
    key = keys.new_key()
    assert keys.key_prefix(key) == key[:12]
    assert len(keys.key_prefix(key)) < len(key) // 3


def test_device_ids_from_any_name_are_valid_contract_ids():
    for name in ["Alice's Phone", "  ", "日本語", "a" * 200, "kitchen/mic #2"]:
        device_id = keys.new_device_id(name)
        GpsFix.model_validate(
            {
                "device_id": device_id,
                "recorded_at": "2024-05-01T00:00:00Z",
                "latitude": 0,
                "longitude": 0,
            }
        )
    assert keys.new_device_id("Alice's Phone").startswith("alice-s-phone-")
    assert keys.new_device_id("日本語").startswith("device-")

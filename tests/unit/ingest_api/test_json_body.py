import json

import pytest

from ingest_api.json_body import MAX_DEPTH, JsonLimitError, parse_json


@pytest.mark.parametrize(
    ("body", "named"),
    [
        (b"[" * 5000 + b"]" * 5000, f"deeper than {MAX_DEPTH} levels"),
        (b'{"a":' * (MAX_DEPTH + 1) + b"1" + b"}" * (MAX_DEPTH + 1), "deeper than"),
        (b"1" * 5000, "longer than 20 digits"),
        (b'{"speed": ' + b"9" * 400 + b"}", "longer than 20 digits"),
        (b'{"speed": ' + b"9" * 400 + b".5}", "too large to be finite"),
        (b"[1e400]", "too large to be finite"),
        (b"NaN", "not valid JSON"),
        (b'"\xff"', "not valid JSON"),
        (b"", "not valid JSON"),
        (b'{"a": 1', "not valid JSON"),
    ],
)
def test_hostile_json_is_refused_naming_why(body, named):
    with pytest.raises(JsonLimitError, match=named):
        parse_json(body)


def test_ordinary_json_is_parsed_like_the_standard_library():
    body = json.dumps(
        {"events": [{"a": [1, 2.5, -(2**63)], "b": None, "c": "é", "d": True}]}
    )
    assert parse_json(body.encode()) == json.loads(body)
    nested = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    assert parse_json(nested) == json.loads(nested)


def test_size_is_bounded_when_asked():
    with pytest.raises(JsonLimitError, match="larger than 4 bytes"):
        parse_json(b"[1, 2]", max_bytes=4)

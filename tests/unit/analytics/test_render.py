import io
import json
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

from loom_cli.analytics import render
from loom_cli.analytics.client import Column, Result

RESULT = Result(
    [
        Column("name", "varchar"),
        Column("n", "bigint"),
        Column("ratio", "double"),
        Column("when", "timestamp(6) with time zone"),
        Column("tags", "array(varchar)"),
        Column("ok", "boolean"),
    ],
    [
        ["a\nb", 1, 0.5, datetime(2024, 5, 1, 12, tzinfo=UTC), ["x", "y"], True],
        [None, 12345, None, None, [], False],
    ],
)


def written(fn, result=RESULT):
    out = io.StringIO()
    fn(result, out)
    return out.getvalue()


def test_table_aligns_numbers_right_and_counts_rows():
    assert written(render.table).splitlines() == [
        " name | n     | ratio | when                      | tags       | ok",
        "------+-------+-------+---------------------------+------------+-------",
        ' a\\nb |     1 |   0.5 | 2024-05-01T12:00:00+00:00 | ["x", "y"] | true',
        " NULL | 12345 |  NULL | NULL                      | []         | false",
        "(2 rows)",
    ]


def test_table_of_nothing_still_has_headers():
    result = Result([Column("x", "integer")], [])
    assert written(render.table, result) == " x\n---\n(0 rows)\n"
    one = Result([Column("x", "integer")], [[1]])
    assert written(render.table, one).endswith("(1 row)\n")


def test_csv_keeps_newlines_and_empties_nulls():
    assert written(render.to_csv) == (
        'name,n,ratio,when,tags,ok\n"a\nb",1,0.5,2024-05-01T12:00:00+00:00,'
        '"[""x"", ""y""]",true\n,12345,,,[],false\n'
    )


def test_json_is_an_array_of_objects_one_per_line():
    text = written(render.to_json)
    assert text.startswith("[\n{")
    assert text.endswith("}\n]\n")
    assert len(text.splitlines()) == 4
    assert json.loads(text) == [
        {
            "name": "a\nb",
            "n": 1,
            "ratio": 0.5,
            "when": "2024-05-01T12:00:00+00:00",
            "tags": ["x", "y"],
            "ok": True,
        },
        {
            "name": None,
            "n": 12345,
            "ratio": None,
            "when": None,
            "tags": [],
            "ok": False,
        },
    ]
    assert written(render.to_json, Result([Column("x", "integer")], [])) == "[]\n"


def test_plain_handles_every_client_type():
    an_id = uuid.uuid4()
    assert render.plain(Decimal("12.000")) == 12
    assert render.plain(Decimal("1.25")) == 1.25
    assert render.plain(float("nan")) == "nan"
    assert render.plain(b"\x01\xff") == "01ff"
    assert render.plain(date(2024, 1, 2)) == "2024-01-02"
    assert render.plain(an_id) == str(an_id)
    assert render.plain({"k": (1, Decimal(2))}) == {"k": [1, 2]}
    assert render.cell({"a": 1}) == '{"a": 1}'
    assert render.cell("x\r\ny") == "x\\r\\ny"

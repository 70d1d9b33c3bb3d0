import pytest

from loom_cli.analytics import params
from loom_cli.analytics.params import Bound, Param, ParamError, bind

HEADER = """-- What the query answers.
--
-- @param device_id varchar = null   the device; all when null
-- @param start_day date             first day
-- @param end_day   date = (current_date - INTERVAL '1' DAY)  last day
-- @param top_n     bigint = 10      how many
"""


def test_declared_params_read_types_defaults_and_descriptions():
    declared = params.declared_params(HEADER)
    assert list(declared) == ["device_id", "start_day", "end_day", "top_n"]
    assert declared["device_id"] == Param(
        "device_id", "varchar", "null", "the device; all when null"
    )
    assert declared["start_day"].required
    assert declared["end_day"].default == "(current_date - INTERVAL '1' DAY)"
    assert declared["end_day"].description == "last day"
    assert declared["top_n"].usage() == "top_n bigint (default 10): how many"
    assert declared["start_day"].usage() == "start_day date (required): first day"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("-- @param x interval", "unknown type 'interval'"),
        ("-- @param x bigint = 1\n-- @param x bigint", "declared twice"),
        ("-- @param x date = (current_date", "unbalanced parentheses"),
    ],
)
def test_bad_declarations_are_refused(line, message):
    with pytest.raises(ParamError, match=message):
        params.declared_params(line)


@pytest.mark.parametrize(
    ("sql_type", "value", "literal"),
    [
        ("varchar", "it's", "'it''s'"),
        ("varchar", "", "''"),
        ("varchar", "a\nb\\c'", "U&'a\\+00000Ab\\\\c'''"),
        ("date", "2024-02-29", "DATE '2024-02-29'"),
        (
            "timestamp",
            "2024-05-01T12:00:00Z",
            "TIMESTAMP '2024-05-01 12:00:00.000000 UTC'",
        ),
        (
            "timestamp",
            "2024-05-01T14:00:00.5+02:00",
            "TIMESTAMP '2024-05-01 12:00:00.500000 UTC'",
        ),
        ("timestamp", "2024-05-01 12:00", "TIMESTAMP '2024-05-01 12:00:00.000000 UTC'"),
        ("bigint", " 42 ", "BIGINT '42'"),
        ("integer", "-7", "INTEGER '-7'"),
        ("double", "1e3", "DOUBLE '1000.0'"),
        ("boolean", "Yes", "true"),
        ("boolean", "off", "false"),
    ],
)
def test_values_become_typed_literals(sql_type, value, literal):
    assert Param("p", sql_type).literal(value) == literal


@pytest.mark.parametrize(
    ("sql_type", "value", "message"),
    [
        ("date", "2024-02-30", "is not a date; use YYYY-MM-DD"),
        ("date", "yesterday", "is not a date"),
        ("timestamp", "noon", "is not a timestamp"),
        ("bigint", "1.5", "is not a whole number"),
        ("double", "nan", "must be a finite number"),
        ("double", "inf", "must be a finite number"),
        ("double", "ten", "is not a number"),
        ("boolean", "maybe", "is not a boolean"),
    ],
)
def test_values_that_do_not_fit_their_type_name_the_parameter(sql_type, value, message):
    with pytest.raises(ParamError, match=message) as info:
        Param("p", sql_type).literal(value)
    assert str(info.value).startswith(f"--param p={value!r} ")


def test_defaults_null_expression_and_missing():
    assert Param("p", "date", "null").literal(None) == "CAST(NULL AS date)"
    assert Param("p", "timestamp", "NULL").literal(None) == (
        "CAST(NULL AS timestamp(6) with time zone)"
    )
    assert Param("p", "date", "(current_date)").literal(None) == "(current_date)"
    assert Param("p", "bigint", "10").literal(None) == "BIGINT '10'"
    assert Param("p", "bigint", "10").literal("3") == "BIGINT '3'"
    with pytest.raises(ParamError, match=r"missing --param p=<date>"):
        Param("p", "date").literal(None)


def test_placeholders_skip_strings_identifiers_and_comments():
    sql = (
        "SELECT :a, ':b', \"x:c\", 'it''s :d' -- :e\n"
        "/* :f\n :g */ :h, x::int, ARRAY[1][:i]"
    )
    assert [m["name"] for m in params.placeholders(sql)] == ["a", "h", "i"]


def test_an_unterminated_string_hides_what_follows():
    assert [m["name"] for m in params.placeholders("SELECT :a, 'oops :b")] == ["a"]


@pytest.mark.parametrize(
    ("sql", "stripped"),
    [
        ("SELECT 1;", "SELECT 1 "),
        ("SELECT 1 ;\n-- done\n", "SELECT 1  \n-- done\n"),
        ("SELECT ';'", "SELECT ';'"),
        ("SELECT 1 -- ;", "SELECT 1 -- ;"),
        ("", ""),
        ("-- only a comment;", "-- only a comment;"),
    ],
)
def test_strip_terminator_keeps_positions(sql, stripped):
    assert params.strip_terminator(sql) == stripped
    assert len(params.strip_terminator(sql)) == len(sql)


def test_bind_replaces_every_use_and_applies_defaults():
    bound = bind(
        HEADER + "SELECT :device_id, :start_day, :top_n, :start_day;",
        {
            "start_day": "2024-05-01",
        },
    )
    assert bound.text.endswith(
        "SELECT CAST(NULL AS varchar), DATE '2024-05-01', BIGINT '10', "
        "DATE '2024-05-01' "
    )


def test_undeclared_placeholders_are_required_varchars():
    assert bind("SELECT :who", {"who": "me"}).text == "SELECT 'me'"
    with pytest.raises(ParamError, match=r"missing --param who=<varchar>"):
        bind("SELECT :who", {})


def test_unknown_parameters_list_what_the_query_takes():
    with pytest.raises(
        ParamError, match="unknown parameter nope, zap; the query takes who"
    ):
        bind("SELECT :who", {"who": "x", "zap": "1", "nope": "2"})
    with pytest.raises(ParamError, match="the query takes no parameters"):
        bind("SELECT 1", {"x": "1"})


def test_positions_map_back_through_literals():
    # line 2 holds two placeholders whose literals are longer than them
    bound = bind("SELECT\n  :a + :bb + x\n", {"a": "long value", "bb": "2"})
    assert bound.text == "SELECT\n  'long value' + '2' + x\n"
    start_b = bound.text.splitlines()[1].index("'2'") + 1
    start_x = bound.text.splitlines()[1].index("x") + 1
    assert bound.original_position(2, 1) == (2, 1)  # before any literal
    assert bound.original_position(2, 5) == (2, 3)  # inside 'long value'
    assert bound.original_position(2, start_b) == (2, 8)  # at :bb
    assert bound.original_position(2, start_x) == (2, 14)  # after both
    assert bound.original_position(1, 3) == (1, 3)  # another line
    assert Bound("SELECT 1").original_position(1, 8) == (1, 8)


def test_summary_is_the_first_header_line():
    assert params.summary(HEADER + "SELECT 1") == "What the query answers."
    assert params.summary("\n-- @param x bigint\n-- Then this.\n") == "Then this."
    assert params.summary("SELECT 1 -- not a header") == ""

from pathlib import Path

from click.testing import CliRunner

from loom_cli.lint import check_source, lint


def codes(source: str) -> list[str]:
    return [f.code for f in check_source(source)]


def test_catalog_topic_literals_pass():
    assert codes('producer.produce("device.sensor.gps.raw", value=b"")') == []


def test_badly_named_topic_is_an_error():
    _consumes, finding = check_source('consumer.subscribe(["Device.GPS-raw"])')
    assert (finding.code, finding.severity, finding.line) == ("LOOM001", "error", 1)


def test_topic_missing_from_the_catalog_is_an_error():
    (finding,) = check_source('TopicPartition("device.sensor.gyro.raw", 0)')
    assert finding.code == "LOOM002"
    assert "loom_core/topics.py" in finding.message


def test_topic_keyword_and_topic_variables_are_checked():
    assert codes('send(topic="media.text.nope.words")') == ["LOOM002"]
    assert codes('RAW_TOPIC = "location.gps.nope"') == ["LOOM002"]
    assert codes('TOPIC_CALLS = {"produce"}') == []


def test_literal_with_a_catalog_prefix_is_checked_anywhere():
    assert codes('x = {"t": "device.sensor.gps.cooked"}') == ["LOOM002"]


def test_consuming_without_producing_warns():
    source = "c = Consumer({})\nc.subscribe(['device.sensor.gps.raw'])\n"
    (finding,) = check_source(source)
    assert (finding.code, finding.severity, finding.line) == ("LOOM003", "warning", 2)
    assert codes(source + "p.produce('device.sensor.gps.dead_letter', b'')") == []
    assert check_source(source, "tests/integration/test_x.py") == []


def test_redis_ttl_above_limits_warns():
    assert codes('r.set(f"pair:{device}:{ts}", v, ex=31)') == ["LOOM004"]
    assert codes('r.set(f"pair:{device}:{ts}", v, ex=30)') == []
    assert codes('TTL = 6 * 60\nr.expire(f"chunk:{fid}:offset", TTL)') == ["LOOM004"]
    assert codes('r.setex(f"chunk:{fid}:offset", 300, 0)') == []


def test_redis_key_outside_allowed_prefixes_warns():
    assert codes('r.set("session:abc", 1, ex=5)') == ["LOOM005"]


def test_a_line_can_opt_out_explicitly():
    assert codes('Topic("Device.GPS")  # loom-lint: ignore') == []


def test_unparsable_file_is_reported_not_raised():
    assert codes("def broken(:\n") == ["LOOM000"]


def test_cli_exits_non_zero_on_errors_only(tmp_path: Path):
    bad = tmp_path / "bad.py"
    bad.write_text('producer.produce("device.sensor.gps.cooked", b"")\n')
    warn = tmp_path / "warn.py"
    warn.write_text('r.set(f"pair:{d}:{t}", v, ex=60)\n')
    runner = CliRunner()
    failed = runner.invoke(lint, [str(bad)])
    assert failed.exit_code == 1
    assert "LOOM002" in failed.output
    warned = runner.invoke(lint, [str(warn)])
    assert warned.exit_code == 0
    assert "LOOM004" in warned.output


def test_the_project_itself_is_clean():
    result = CliRunner().invoke(lint, [])
    assert result.exit_code == 0, result.output

import io
import os
import tarfile
from pathlib import Path

import pytest

from loom_cli.stack import provision
from loom_cli.stack.process import StackError


def make_tarball(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_extract_selected_keeps_only_the_wanted_folders(tmp_path):
    archive = make_tarball(
        tmp_path / "server.tar.gz",
        {
            "server-1/bin/launcher": b"#!/bin/sh",
            "server-1/lib/core.jar": b"jar",
            "server-1/plugin/postgresql/pg.jar": b"pg",
            "server-1/plugin/hive/hive.jar": b"hive",
        },
    )
    messages = []
    top = provision.extract_selected(
        archive, tmp_path / "out", ("bin/", "plugin/postgresql/"), messages.append
    )
    assert top == tmp_path / "out" / "server-1"
    extracted = sorted(str(p.relative_to(top)) for p in top.rglob("*") if p.is_file())
    assert extracted == [".complete", "bin/launcher", "plugin/postgresql/pg.jar"]
    assert len(messages) == 1

    # a second call with the same selection is a no-op
    provision.extract_selected(
        archive, tmp_path / "out", ("bin/", "plugin/postgresql/"), messages.append
    )
    assert len(messages) == 1
    # a different selection re-extracts from scratch
    provision.extract_selected(archive, tmp_path / "out", ("lib/",), messages.append)
    assert sorted(p.name for p in top.rglob("*.jar")) == ["core.jar"]


def fake_jdk(root: Path, name: str, version: str) -> Path:
    home = root / name
    (home / "bin").mkdir(parents=True)
    (home / "bin" / "java").write_text("")
    (home / "release").write_text(f'JAVA_VERSION="{version}"\n')
    return home


def test_java_home_prefers_a_recent_enough_java_home(tmp_path, monkeypatch):
    home = fake_jdk(tmp_path, "custom", "21.0.2")
    monkeypatch.setenv("JAVA_HOME", str(home))
    assert provision.find_java_home(17) == home


def test_java_home_picks_the_oldest_suitable_jvm():
    # The machine's /usr/lib/jvm has Java 17 and 25 (platform notes).
    assert provision._java_major(provision.find_java_home(17)) == 17
    assert provision._java_major(provision.find_java_home(24)) >= 24


def test_failed_command_is_one_line_with_the_fix():
    with pytest.raises(StackError) as caught:
        provision.run(
            ["sh", "-c", "echo noise; echo 'disk full' >&2; exit 3"],
            "unpacking",
            "free some space",
        )
    assert str(caught.value) == "unpacking failed (disk full); free some space"


def test_missing_program_says_it_is_not_installed():
    with pytest.raises(StackError, match="no-such-tool is not installed; install it"):
        provision.run(["no-such-tool"], "building", "install it")


def test_apt_install_without_root_says_what_to_run(monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(StackError, match="sudo apt-get install -y redis-server"):
        provision.apt_install("redis-server")


def test_require_command_finds_installed_programs():
    assert provision.require_command("sh", "dash").endswith("/sh")

"""The zygote's check that the code it imported is still the code on disk."""

import importlib
import json
import os
import sys

from loom_dagster.run_launcher import zygote


def test_project_files_are_those_outside_the_virtual_environment(tmp_path, monkeypatch):
    (tmp_path / "zygote_probe_module.py").write_text("VALUE = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.import_module("zygote_probe_module")
    try:
        files = zygote._project_files()
    finally:
        sys.modules.pop("zygote_probe_module", None)
    assert str(tmp_path / "zygote_probe_module.py") in files
    assert json.__file__ not in files  # the standard library
    assert zygote.dg.__file__ not in files  # installed packages


def test_a_changed_or_vanished_file_makes_the_zygote_stale(tmp_path):
    kept, edited, removed = (tmp_path / n for n in ("kept.py", "edited.py", "gone.py"))
    for path in (kept, edited, removed):
        path.write_text("x = 1\n")
    files = {str(p): p.stat().st_mtime_ns for p in (kept, edited, removed)}
    assert zygote._changed(files) is None
    stat = edited.stat()
    os.utime(edited, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert zygote._changed(files) == str(edited)
    files[str(edited)] = edited.stat().st_mtime_ns
    removed.unlink()
    assert zygote._changed(files) == str(removed)

"""The warm process that runs are forked from.

``python -m loom_dagster.run_launcher.zygote [MODULE]`` imports Dagster and the
code location's module once, builds its definitions, and says it is ready. Then
it reads one request a line on stdin, ``{"run_id": ..., "instance_ref": ...}``,
and answers each on stdout with the pid of a child forked to execute that run
(``{"pid": N}``). Before forking it checks that no project module it imported has
changed on disk; if one has, it answers ``{"stale": PATH}`` and exits, for the
launcher to start a fresh one: a run never executes code older than the files.
It exits when stdin closes; the children finish their runs regardless.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import json
import os
import signal
import sys
import traceback
from pathlib import Path
from typing import Any, TextIO

import dagster as dg

from loom_dagster.dagster_internals import execute_run, storage_modules


def _project_files() -> dict[str, int]:
    """Return the modification time of each imported module outside the venv."""
    installed = (sys.prefix, sys.base_prefix, sys.exec_prefix)
    files = {}
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None)
        if path and not path.startswith(installed):
            with contextlib.suppress(OSError):
                files[path] = Path(path).stat().st_mtime_ns
    return files


def _changed(files: dict[str, int]) -> str | None:
    """Return a file of ``files`` that changed or vanished since, if any."""
    for path, mtime in files.items():
        try:
            if Path(path).stat().st_mtime_ns != mtime:
                return path
        except OSError:
            return path
    return None


def _preload(module_name: str | None) -> None:
    """Import ``module_name`` and build its definitions."""
    if module_name is None:
        return
    module = importlib.import_module(module_name)
    for value in vars(module).values():
        if isinstance(value, dg.Definitions):
            value.get_repository_def()


def _preload_instance(instance_ref: str) -> None:
    """Import the instance's storage modules (no connection: the forks connect)."""
    for module_name in storage_modules(instance_ref):
        importlib.import_module(module_name)


def _fork(request: dict[str, Any], answers: TextIO) -> int:
    """Fork a child that executes the requested run; return its pid."""
    # Everything imported so far lives as long as the process: frozen, the garbage
    # collector's full passes skip it. A landing run retains tens of thousands of
    # rows, which trigger many of those passes; without the freeze they walked
    # Dagster's 400k objects each time (a fifth of decoding, bench/landing_*).
    gc.freeze()
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the run may wait on children
        # The pipes to the launcher are the zygote's alone.
        os.close(answers.fileno())
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        code = execute_run(
            request["run_id"],
            request["instance_ref"],
            started="Started process for run, forked from a warm process",
        )
    except BaseException:  # noqa: BLE001 - a child must never return into the loop
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _answer(answers: TextIO, reply: dict[str, Any]) -> None:
    answers.write(json.dumps(reply) + "\n")
    answers.flush()


def main() -> None:
    """Preload, then fork a run worker per request until stdin closes."""
    # Answers get stdout to themselves: whatever else prints goes to stderr.
    answers = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    module_name = sys.argv[1] if len(sys.argv) > 1 else None
    _preload(module_name)
    files = _project_files()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps the children
    _answer(answers, {"ready": True, "pid": os.getpid(), "watched": len(files)})
    instance_refs = set()
    for line in sys.stdin:
        stale = _changed(files)
        if stale is not None:
            _answer(answers, {"stale": stale})
            return
        request = json.loads(line)
        if request["instance_ref"] not in instance_refs:
            _preload_instance(request["instance_ref"])
            instance_refs.add(request["instance_ref"])
        _answer(answers, {"pid": _fork(request, answers)})


if __name__ == "__main__":
    main()

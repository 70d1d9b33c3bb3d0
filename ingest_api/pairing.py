"""Front/back camera pairs: two posts become one paired message, or each its own.

How it works, and why (see docs/ingest-api.md):

- The first frame of a pair is stored in Redis at ``pair:<device_id>:<pair_id>``
  (TTL <= 30 s) and its request waits there, up to ``pair_wait_seconds``.
- Its mate atomically claims it, produces one message with both images
  (``pairing="paired"``), and marks the key done: the waiting request sees that and
  answers with the same acknowledgement.
- If no mate comes in time the waiting request takes its frame back and produces
  it alone (``pairing="unpaired"``). Never dropped, never acknowledged early: every
  2xx means the frame is in Kafka, alone or in its pair.
- If the process dies while a frame waits, its client got no answer and retries;
  if the mate came meanwhile the retry finds the done mark and gets the pair's
  acknowledgement. A mate whose produce fails puts the first frame back.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Literal

from redis.asyncio import Redis
from redis.exceptions import RedisError

from ingest_api.errors import Unavailable
from ingest_api.observability import Metrics
from ingest_api.publish import Accepted, Publisher
from loom_core.contracts import FAMILIES, CameraFrame, utc_now
from loom_core.contracts.ids import pair_id_of

CAMERA = FAMILIES["camera"]
POLL_FIRST_S = 0.05
POLL_MAX_S = 0.25

# Offer a frame. Returns {'wait'}, {'mate', <first frame json>}, {'done', <ack>},
# {'busy'} (its pair is being produced) or {'alone'} (the key holds another pair).
_OFFER = """
local state = redis.call('HGET', KEYS[1], 'state')
if not state then
  redis.call('HSET', KEYS[1], 'state', 'waiting', 'event_id', ARGV[1],
             'camera', ARGV[2], 'frame', ARGV[3])
  redis.call('EXPIRE', KEYS[1], ARGV[4])
  return {'wait'}
end
local events = redis.call('HGET', KEYS[1], 'events') or ''
if state == 'waiting' then
  local waiting = redis.call('HGET', KEYS[1], 'event_id')
  if waiting == ARGV[1] then
    redis.call('HSET', KEYS[1], 'frame', ARGV[3])
    redis.call('EXPIRE', KEYS[1], ARGV[4])
    return {'wait'}
  end
  local camera = redis.call('HGET', KEYS[1], 'camera')
  if ARGV[2] ~= '' and camera == ARGV[2] then
    return {'alone'}
  end
  local first = redis.call('HGET', KEYS[1], 'frame')
  redis.call('HSET', KEYS[1], 'state', 'claimed', 'events', waiting .. ' ' .. ARGV[1])
  redis.call('EXPIRE', KEYS[1], ARGV[4])
  return {'mate', first}
end
if string.find(' ' .. events .. ' ', ' ' .. ARGV[1] .. ' ', 1, true) then
  if state == 'done' then
    return {'done', redis.call('HGET', KEYS[1], 'ack')}
  end
  return {'busy'}
end
return {'alone'}
"""

# Take a waiting frame back if it is still waiting: returns 1 when withdrawn.
_WITHDRAW = """
if redis.call('HGET', KEYS[1], 'state') == 'waiting'
   and redis.call('HGET', KEYS[1], 'event_id') == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
"""

Pairing = Literal["single", "paired", "unpaired"]


@dataclass(frozen=True)
class FrameResult:
    """The acknowledgement of a camera post and how its frame travelled."""

    accepted: Accepted
    pairing: Pairing

    def as_json(self) -> dict[str, object]:
        """Return the answer a client gets."""
        return {**self.accepted.as_json(), "pairing": self.pairing}


def pair_key(device_id: str, pair_id: str) -> str:
    """Return the Redis key where the first frame of a pair waits."""
    return f"pair:{device_id}:{pair_id}"


def combine(first: CameraFrame, mate: CameraFrame) -> CameraFrame:
    """Return the paired message of two single-image frames (earliest first)."""
    ordered = sorted((first, mate), key=lambda frame: frame.recorded_at)
    return CameraFrame(
        event_id=pair_id_of(first.event_id, mate.event_id),
        device_id=first.device_id,
        recorded_at=ordered[0].recorded_at,
        received_at=utc_now(),
        images=[ordered[0].images[0], ordered[1].images[0]],
        pair_id=first.pair_id,
        pairing="paired",
    )


def _ack_json(accepted: Accepted) -> str:
    return json.dumps(accepted.as_json())


def _ack_from(text: str | bytes) -> Accepted:
    data = json.loads(text)
    return Accepted(data["event_id"], data["topic"], data["partition"], data["offset"])


class CameraPairing:
    """Pairs camera frames through Redis and publishes them.

    Parameters
    ----------
    redis
        Where first frames wait.
    publisher
        Produces the paired or lone frames.
    metrics
        Counts pairs and lone frames.
    wait_s
        How long a first frame waits for its mate.
    ttl_s
        TTL of the pair key (<= 30 s): the waiting time plus room for retries to
        find the done mark.
    """

    def __init__(
        self,
        redis: Redis,
        publisher: Publisher,
        metrics: Metrics,
        *,
        wait_s: float,
        ttl_s: int,
    ) -> None:
        self.redis = redis
        self.publisher = publisher
        self.metrics = metrics
        self.wait_s = wait_s
        self.ttl_s = ttl_s
        self._offer = redis.register_script(_OFFER)
        self._withdraw = redis.register_script(_WITHDRAW)

    async def submit(self, frame: CameraFrame) -> FrameResult:
        """Publish ``frame``: alone, in a pair now, or after waiting for its mate.

        Raises
        ------
        Unavailable
            When Redis or Kafka cannot be reached (nothing was acknowledged).
        """
        if frame.pair_id is None or len(frame.images) == 2:
            pairing: Pairing = "paired" if len(frame.images) == 2 else "single"
            frame = frame.model_copy(update={"pairing": pairing})
            return FrameResult(await self.publisher.publish(CAMERA, frame), pairing)
        key = pair_key(frame.device_id, frame.pair_id)
        try:
            return await self._pair(key, frame)
        except RedisError as exc:
            msg = f"Redis is unreachable, camera pairing is unavailable ({exc})"
            raise Unavailable(msg, self.publisher.retry_after_s) from None

    async def _pair(self, key: str, frame: CameraFrame) -> FrameResult:
        camera = frame.images[0].camera or ""
        reply = await self._offer(
            keys=[key],
            args=[str(frame.event_id), camera, frame.model_dump_json(), self.ttl_s],
        )
        verdict = reply[0].decode()
        if verdict == "mate":
            return await self._produce_pair(
                key, CameraFrame.model_validate_json(reply[1]), frame
            )
        if verdict == "done":
            return FrameResult(_ack_from(reply[1]), "paired")
        if verdict == "alone":
            return await self._produce_alone(frame)
        return await self._wait(key, frame)

    async def _produce_pair(
        self, key: str, first: CameraFrame, mate: CameraFrame
    ) -> FrameResult:
        try:
            accepted = await self.publisher.publish(CAMERA, combine(first, mate))
        except Exception:
            # Give the first frame back so it still gets paired or sent alone.
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.hdel(key, "events")
                pipe.hset(key, "state", "waiting")
                pipe.expire(key, self.ttl_s)
                await pipe.execute()
            raise
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping={"state": "done", "ack": _ack_json(accepted)})
            pipe.hdel(key, "frame")
            pipe.expire(key, self.ttl_s)
            await pipe.execute()
        self.metrics.camera_pairs.labels("paired").inc()
        return FrameResult(accepted, "paired")

    async def _produce_alone(self, frame: CameraFrame) -> FrameResult:
        alone = frame.model_copy(update={"pairing": "unpaired"})
        accepted = await self.publisher.publish(CAMERA, alone)
        self.metrics.camera_pairs.labels("unpaired").inc()
        return FrameResult(accepted, "unpaired")

    async def _wait(self, key: str, frame: CameraFrame) -> FrameResult:
        mine = str(frame.event_id)
        deadline = time.monotonic() + self.wait_s
        # Once claimed, the mate's produce takes at most the Kafka ack timeout.
        claimed_deadline = deadline + self.publisher.producer.ack_timeout_s + 1
        pause = POLL_FIRST_S
        while True:
            await asyncio.sleep(pause)
            pause = min(pause * 2, POLL_MAX_S)
            state, events, ack, waiting = await self.redis.hmget(
                key, ["state", "events", "ack", "event_id"]
            )
            mine_in_pair = events is not None and mine in events.decode().split()
            if state == b"done" and mine_in_pair:
                return FrameResult(_ack_from(ack), "paired")
            if state == b"claimed" and mine_in_pair:
                if time.monotonic() < claimed_deadline:
                    continue
                msg = "the mate of this frame is being produced; retry to get its ack"
                raise Unavailable(msg, self.publisher.retry_after_s)
            if state == b"waiting" and waiting == mine.encode():
                if time.monotonic() < deadline:
                    continue
                if not await self._withdraw(keys=[key], args=[mine]):
                    continue  # claimed by a mate just now: see what it did
            return await self._produce_alone(frame)

"""``transcripts``: utterances found by Silero VAD in ``audio_chunks``, transcribed.

Chunks of the partition are grouped into recordings (same stream, contiguous).
An incremental run recomputes only the recordings that gained chunks it has not
processed (``enrichment_sources``), replacing their utterances by time range; a
backfill recomputes every recording. Both leave the same rows, because a
recording's utterances depend only on its chunks.
"""

import time as clock
from datetime import UTC, datetime

import dagster as dg
import psycopg
from psycopg import sql

from loom_core import topics
from loom_core.contracts.ids import enriched_row_id
from loom_dagster.defs.enrichment import asset_framework
from loom_dagster.enrichment import audio, store, vad
from loom_dagster.enrichment.messages import Utterance, WordTiming
from loom_dagster.enrichment.speech import SpeechToText, transcribe_segments
from loom_dagster.enrichment.weights import ModelSpec
from loom_dagster.resources import KafkaResource, TimescaleResource
from loom_dagster.resources.models import SpeechToTextResource

ASSET = "transcripts"
ID = "utterance_id"
ALGORITHM = f"vad-utterances-v1|{vad.MODEL_NAME}@{vad.MODEL_VERSION}"
EPSILON_S = 0.001  # timestamptz keeps microseconds; epoch floats round-trip within this

READ_CHUNKS = """
SELECT event_id::text, extract(epoch FROM time)::float8, duration_s::float8,
       stream_id, sequence
FROM audio_chunks
WHERE device_id = %s AND time >= %s AND time < %s
"""
READ_PCM = """
SELECT event_id::text, sample_rate, pcm
FROM audio_chunks
WHERE device_id = %s AND time >= %s AND time < %s AND event_id = ANY(%s::uuid[])
"""

CHECKS = {
    "words_inside_utterance": "Every word starts and ends inside its utterance.",
    "utterances_well_formed": "Utterances end after they start, with text and words.",
    "every_chunk_processed": (
        "Every audio chunk landed before the run went through the VAD."
    ),
}
CHECK_QUERIES = {
    "words_inside_utterance": f"""
        SELECT count(*) FROM transcripts t, jsonb_array_elements(t.words) w
        WHERE t.device_id = %(device)s AND t.day = %(day)s AND (
            (w->>'start')::float8 < extract(epoch FROM t.time) - {EPSILON_S}
            OR (w->>'end')::float8 > extract(epoch FROM t.end_time) + {EPSILON_S}
            OR (w->>'start')::float8 > (w->>'end')::float8)
    """,  # noqa: S608 - a constant of this module, not input
    "utterances_well_formed": """
        SELECT count(*) FROM transcripts WHERE device_id = %(device)s AND day = %(day)s
        AND (end_time <= time OR text = '' OR word_count <> jsonb_array_length(words))
    """,
    "every_chunk_processed": """
        SELECT count(*) FROM audio_chunks a
        WHERE a.device_id = %(device)s AND a.time >= %(start)s AND a.time < %(end)s
        AND a.landed_at < %(as_of)s
        AND NOT EXISTS (
            SELECT 1 FROM enrichment_sources s
            WHERE s.asset = 'transcripts' AND s.device_id = a.device_id
            AND s.day = %(day)s AND s.source_event_id = a.event_id)
    """,
}
TABLE = asset_framework.EnrichedTable(
    ASSET, ID, CHECK_QUERIES, topics.TRANSCRIBED_WORDS
)


def utterances(
    partition: store.DeviceDay,
    recording: audio.Recording,
    detector: vad.SileroVad,
    model: SpeechToText,
) -> list[Utterance]:
    """Find the speech of a recording and transcribe each stretch of it."""
    duration = recording.audio.size / audio.SAMPLE_RATE
    segments = vad.speech_segments(detector.probabilities(recording.audio), duration)
    heard_all = transcribe_segments(model, recording.audio, segments, audio.SAMPLE_RATE)
    found = []
    for (seg_start, seg_end), heard in zip(segments, heard_all):
        if not heard.words:
            continue
        start, end = recording.start + seg_start, recording.start + seg_end
        words = [
            WordTiming(
                word=w.word,
                start=round(min(max(start + w.start, start), end), 3),
                end=round(min(max(start + w.end, start), end), 3),
                probability=None if w.probability is None else round(w.probability, 4),
            )
            for w in heard.words
        ]
        found.append(
            Utterance(
                time=datetime.fromtimestamp(start, UTC),
                device_id=partition.device_id,
                day=partition.day,
                utterance_id=enriched_row_id(
                    ASSET,
                    partition.device_id,
                    partition.day,
                    recording.stream_id or "",
                    f"{start:.3f}",
                ),
                end_time=datetime.fromtimestamp(end, UTC),
                stream_id=recording.stream_id,
                text=heard.text.strip(),
                words=words,
                word_count=len(words),
                language=heard.language,
                model_name=model.spec.model_name,
                model_version=model.spec.model_version,
            )
        )
    return found


def _load(
    conn: psycopg.Connection,
    partition: store.DeviceDay,
    group: list[audio.ChunkInfo],
) -> audio.Recording | None:
    """Read a recording's chunks and decode them (None if they vanished meanwhile)."""
    found = {
        event_id: (rate, pcm)
        for event_id, rate, pcm in conn.execute(
            READ_PCM,
            (
                partition.device_id,
                partition.start,
                partition.end,
                [c.event_id for c in group],
            ),
        )
    }
    chunks = [audio.Chunk(c, *found[c.event_id]) for c in group if c.event_id in found]
    return audio.join(chunks) if chunks else None


def _scope(groups: list[list[audio.ChunkInfo]]) -> tuple[sql.Composable, list]:
    """Select the rows of the given recordings: same stream, inside their time range."""
    if not groups:
        return sql.SQL("false"), []
    parts, params = [], []
    for g in groups:
        parts.append(
            sql.SQL("(stream_id IS NOT DISTINCT FROM %s AND time >= %s AND time < %s)")
        )
        end = max(c.end for c in g)
        params += [
            g[0].stream_id,
            datetime.fromtimestamp(g[0].start, UTC),
            datetime.fromtimestamp(end, UTC),
        ]
    return sql.SQL("(") + sql.SQL(" OR ").join(parts) + sql.SQL(")"), params


def build_transcripts(spec: ModelSpec) -> dg.AssetsDefinition:
    """Return the ``transcripts`` asset for the speech backend ``spec``."""

    @asset_framework.enrichment_asset(
        TABLE,
        deps=["audio_chunks"],
        checks=CHECKS,
        algorithm=ALGORITHM,
        pod=("2000m", "4096Mi"),
        model=spec,
        description=(
            "Utterances of each device-day's audio (Silero VAD, then "
            f"{spec.model_name} with word timestamps); republished to "
            f"{topics.TRANSCRIBED_WORDS}."
        ),
    )
    def transcripts(
        context: dg.AssetExecutionContext,
        config: asset_framework.IncrementalConfig,
        timescale: TimescaleResource,
        kafka: KafkaResource,
        speech: SpeechToTextResource,
    ) -> dg.MaterializeResult:
        partition = asset_framework.device_day(context)
        # Autocommit: reads hold no snapshot while the models run for minutes; the
        # write below is one explicit transaction.
        with timescale.connect(autocommit=True) as conn:
            as_of = asset_framework.listed_at(conn)
            infos = [
                audio.ChunkInfo(*row)
                for row in conn.execute(
                    READ_CHUNKS, (partition.device_id, partition.start, partition.end)
                )
            ]
            groups = audio.group(infos)
            if config.incremental:
                done = store.processed_sources(conn, ASSET, partition)
                groups = [g for g in groups if any(c.event_id not in done for c in g)]
            wanted = [c.event_id for g in groups for c in g]
            started = clock.perf_counter()
            rows: list[Utterance] = []
            audio_s = 0.0
            for group in groups:  # one recording's audio in memory at a time
                recording = _load(conn, partition, group)
                if recording is None:
                    continue
                audio_s += recording.audio.size / audio.SAMPLE_RATE
                rows += utterances(partition, recording, speech.vad(), speech.model())
            compute_s = clock.perf_counter() - started
            scope, params = _scope(groups) if config.incremental else (None, [])
            written = asset_framework.commit_and_publish(
                context,
                conn,
                kafka,
                TABLE,
                partition=partition,
                rows=rows,
                scope=scope,
                scope_params=params,
                as_of=as_of,
                sources=[(event_id, "done", None) for event_id in wanted],
                incremental=config.incremental,
            )
        return dg.MaterializeResult(
            metadata={
                "mode": "incremental" if config.incremental else "full",
                "chunks": len(infos),
                "chunks_processed": len(wanted),
                "recordings_processed": len(groups),
                "audio_seconds": round(audio_s, 2),
                "utterances": len(rows),
                "words": sum(r.word_count for r in rows),
                "real_time_factor": round(compute_s / audio_s, 4) if audio_s else 0.0,
                "model_name": spec.model_name,
                "model_version": spec.model_version,
                "vad": f"{vad.MODEL_NAME} {vad.MODEL_VERSION}",
                **written.metadata(),
                "deleted_utterances": len(written.vanished),
            },
            check_results=written.checks,
            data_version=written.data_version,
        )

    return transcripts

-- Enriched hypertables, owned by the Dagster enrichment assets of the same name.
--
-- Each asset partition is (UTC day, device); a materialisation deletes and
-- re-inserts its partition in one transaction, so rows carry stable, deterministic
-- ids (derived from the device, the day and the source rows), which is also what
-- makes their republished Kafka messages idempotent downstream.

-- Stays and moves of a device-day.
CREATE TABLE IF NOT EXISTS gps_tracks (
    time            timestamptz      NOT NULL,  -- segment start
    device_id       text             NOT NULL,
    segment_id      uuid             NOT NULL,
    day             date             NOT NULL,
    kind            text             NOT NULL CHECK (kind IN ('stay', 'move')),
    end_time        timestamptz      NOT NULL,
    duration_s      double precision NOT NULL,
    point_count     integer          NOT NULL,
    centroid_lat    double precision NOT NULL,
    centroid_lon    double precision NOT NULL,
    distance_m      double precision NOT NULL,
    mean_speed_mps  double precision NOT NULL,
    place_name      text,
    place_admin     text,
    place_country   text,
    algorithm       text             NOT NULL,  -- name and version of the segmenter
    computed_at     timestamptz      NOT NULL DEFAULT now(),
    PRIMARY KEY (time, device_id, segment_id)
);

-- One row per utterance found by voice activity detection.
CREATE TABLE IF NOT EXISTS transcripts (
    time            timestamptz NOT NULL,  -- utterance start
    device_id       text        NOT NULL,
    utterance_id    uuid        NOT NULL,
    day             date        NOT NULL,
    end_time        timestamptz NOT NULL,
    stream_id       text,
    text            text        NOT NULL,
    words           jsonb       NOT NULL,  -- [{word, start, end, probability}], times in UTC epoch s
    word_count      integer     NOT NULL,
    language        text,
    model_name      text        NOT NULL,
    model_version   text        NOT NULL,
    computed_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (time, device_id, utterance_id)
);

-- One row per camera frame (a pair counts as one frame) or screenshot.
CREATE TABLE IF NOT EXISTS captions (
    time            timestamptz NOT NULL,  -- the source frame's time
    device_id       text        NOT NULL,
    source_event_id uuid        NOT NULL,  -- event_id of the camera frame or screenshot
    day             date        NOT NULL,
    source          text        NOT NULL CHECK (source IN ('camera', 'screenshot')),
    caption         text,
    tags            text[]      NOT NULL DEFAULT '{}',
    tag_scores      real[]      NOT NULL DEFAULT '{}',
    ocr_text        text        NOT NULL DEFAULT '',
    model_name      text        NOT NULL,
    model_version   text        NOT NULL,
    computed_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (time, device_id, source_event_id)
);

SELECT create_hypertable(t, 'time', chunk_time_interval => INTERVAL '1 day', if_not_exists => TRUE)
FROM unnest(ARRAY['gps_tracks', 'transcripts', 'captions']::regclass[]) AS t;

CREATE INDEX IF NOT EXISTS gps_tracks_partition ON gps_tracks (device_id, day);
CREATE INDEX IF NOT EXISTS transcripts_partition ON transcripts (device_id, day);
CREATE INDEX IF NOT EXISTS captions_partition ON captions (device_id, day);

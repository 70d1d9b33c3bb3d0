-- Raw hypertables: one per event family, filled by the Dagster landing assets.
--
-- Every table keys on (time, device_id, event_id): `time` is the device's
-- recorded_at, `event_id` the idempotency key of the Kafka contract, so landing a
-- message twice is a no-op (INSERT ... ON CONFLICT DO NOTHING). Chunks are one day,
-- matching the day partitions of the enrichment assets.
-- `kafka_partition`/`kafka_offset` record where each row came from (lineage) and
-- `landed_at` when it became queryable (freshness).

CREATE TABLE IF NOT EXISTS gps_data (
    time            timestamptz      NOT NULL,
    device_id       text             NOT NULL,
    event_id        uuid             NOT NULL,
    received_at     timestamptz      NOT NULL,
    latitude        double precision NOT NULL CHECK (latitude BETWEEN -90 AND 90),
    longitude       double precision NOT NULL CHECK (longitude BETWEEN -180 AND 180),
    accuracy_m      real,
    altitude_m      real,
    speed_mps       real,
    bearing_deg     real,
    battery_level   real,
    source          text,
    kafka_partition integer,
    kafka_offset    bigint,
    landed_at       timestamptz      NOT NULL DEFAULT now(),
    PRIMARY KEY (time, device_id, event_id)
);

CREATE TABLE IF NOT EXISTS accelerometer_data (
    time            timestamptz      NOT NULL,
    device_id       text             NOT NULL,
    event_id        uuid             NOT NULL,
    received_at     timestamptz      NOT NULL,
    x               double precision NOT NULL,
    y               double precision NOT NULL,
    z               double precision NOT NULL,
    kafka_partition integer,
    kafka_offset    bigint,
    landed_at       timestamptz      NOT NULL DEFAULT now(),
    PRIMARY KEY (time, device_id, event_id)
);

CREATE TABLE IF NOT EXISTS heartrate_data (
    time            timestamptz NOT NULL,
    device_id       text        NOT NULL,
    event_id        uuid        NOT NULL,
    received_at     timestamptz NOT NULL,
    bpm             smallint    NOT NULL,
    confidence      real,
    kafka_partition integer,
    kafka_offset    bigint,
    landed_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (time, device_id, event_id)
);

CREATE TABLE IF NOT EXISTS steps_data (
    time            timestamptz NOT NULL,
    device_id       text        NOT NULL,
    event_id        uuid        NOT NULL,
    received_at     timestamptz NOT NULL,
    count           integer     NOT NULL,
    interval_s      real        NOT NULL,
    kafka_partition integer,
    kafka_offset    bigint,
    landed_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (time, device_id, event_id)
);

CREATE TABLE IF NOT EXISTS power_data (
    time            timestamptz NOT NULL,
    device_id       text        NOT NULL,
    event_id        uuid        NOT NULL,
    received_at     timestamptz NOT NULL,
    battery_level   real        NOT NULL,
    charging        boolean,
    source          text,
    kafka_partition integer,
    kafka_offset    bigint,
    landed_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (time, device_id, event_id)
);

-- Audio and image bytes stay in the tables, so enrichment and backfills
-- recompute from the database without Kafka.
CREATE TABLE IF NOT EXISTS audio_chunks (
    time            timestamptz NOT NULL,
    device_id       text        NOT NULL,
    event_id        uuid        NOT NULL,
    received_at     timestamptz NOT NULL,
    encoding        text        NOT NULL,
    sample_rate     integer     NOT NULL,
    channels        smallint    NOT NULL,
    stream_id       text,
    sequence        integer     NOT NULL,
    duration_s      real        NOT NULL,
    pcm             bytea       NOT NULL,
    kafka_partition integer,
    kafka_offset    bigint,
    landed_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (time, device_id, event_id)
);

-- A paired front/back capture is one row: the first image and its mate.
CREATE TABLE IF NOT EXISTS camera_frames (
    time              timestamptz NOT NULL,
    device_id         text        NOT NULL,
    event_id          uuid        NOT NULL,
    received_at       timestamptz NOT NULL,
    pair_id           text,
    pairing           text        NOT NULL CHECK (pairing IN ('single', 'paired', 'unpaired')),
    camera            text,
    content_type      text        NOT NULL,
    image             bytea       NOT NULL,
    mate_camera       text,
    mate_content_type text,
    mate_image        bytea,
    kafka_partition   integer,
    kafka_offset      bigint,
    landed_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (time, device_id, event_id)
);

CREATE TABLE IF NOT EXISTS screenshots (
    time            timestamptz NOT NULL,
    device_id       text        NOT NULL,
    event_id        uuid        NOT NULL,
    received_at     timestamptz NOT NULL,
    content_type    text        NOT NULL,
    image           bytea       NOT NULL,
    app             text,
    window_title    text,
    kafka_partition integer,
    kafka_offset    bigint,
    landed_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (time, device_id, event_id)
);

SELECT create_hypertable(t, 'time', chunk_time_interval => INTERVAL '1 day', if_not_exists => TRUE)
FROM unnest(ARRAY[
    'gps_data', 'accelerometer_data', 'heartrate_data', 'steps_data', 'power_data',
    'audio_chunks', 'camera_frames', 'screenshots'
]::regclass[]) AS t;

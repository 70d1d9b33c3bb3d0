-- Landing progress: the record of which Kafka offset ranges were requested and
-- which have landed. A landing run writes its rows and marks its ranges landed in
-- one transaction, so this table - never a consumer group's committed offset - is
-- what says an offset is in the database.
--
-- A sensor inserts a row per requested range (landed_at NULL); the run that lands
-- it claims it (claimed_by/claimed_until, a lease) and then fills the outcome. A
-- range still unlanded long after its request, with no live claim, is requested
-- again (recoveries counts how often).

CREATE TABLE IF NOT EXISTS landing_ranges (
    topic              text        NOT NULL,
    kafka_partition    integer     NOT NULL,
    start_offset       bigint      NOT NULL,  -- first offset of the range
    end_offset         bigint      NOT NULL,  -- one past the last offset
    requested_at       timestamptz NOT NULL DEFAULT now(),
    run_key            text,
    recoveries         integer     NOT NULL DEFAULT 0,
    claimed_by         text,                  -- Dagster run id landing it now
    claimed_until      timestamptz,
    landed_at          timestamptz,
    landed_by          text,                  -- Dagster run id that landed it
    messages           integer,
    rows_inserted      integer,
    duplicates_skipped integer,
    dead_lettered      integer,
    offsets_missing    integer,               -- deleted by Kafka retention before landing
    partitions_touched jsonb,                 -- [{"day": "YYYY-MM-DD", "device": "..."}]
    PRIMARY KEY (topic, kafka_partition, start_offset, end_offset),
    CHECK (start_offset >= 0 AND end_offset > start_offset)
);

-- What is still to land, oldest request first.
CREATE INDEX IF NOT EXISTS landing_ranges_pending
    ON landing_ranges (topic, requested_at) WHERE landed_at IS NULL;

-- Which landed ranges overlap a range (end_offset > start AND start_offset < end).
CREATE INDEX IF NOT EXISTS landing_ranges_by_end
    ON landing_ranges (topic, kafka_partition, end_offset) WHERE landed_at IS NOT NULL;

-- Running totals per topic, updated in the landing transaction: exact counters
-- for metrics that survive restarts and never count a row twice.
CREATE TABLE IF NOT EXISTS landing_totals (
    topic              text        PRIMARY KEY,
    messages           bigint      NOT NULL DEFAULT 0,
    rows_inserted      bigint      NOT NULL DEFAULT 0,
    duplicates_skipped bigint      NOT NULL DEFAULT 0,
    dead_lettered      bigint      NOT NULL DEFAULT 0,
    updated_at         timestamptz NOT NULL DEFAULT now()
);

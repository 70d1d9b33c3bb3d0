-- Which raw rows each enrichment asset has consumed, per (day, device) partition.
--
-- An incremental run of `transcripts` or `captions` processes only the raw rows
-- of its partition that are not here yet (an anti-join, so nothing depends on
-- clocks or on when a landing transaction committed); a backfill deletes the
-- partition's entries with its rows and records them again, in one transaction.
-- A frame that cannot be decoded is recorded with outcome 'dead_letter' and the
-- reason, which is how the captions check knows every frame was either captioned
-- or dead-lettered. (`gps_tracks` re-segments whole days and keeps no entries.)
CREATE TABLE IF NOT EXISTS enrichment_sources (
    asset           text        NOT NULL,
    device_id       text        NOT NULL,
    day             date        NOT NULL,
    source_event_id uuid        NOT NULL,  -- event_id of the raw row
    outcome         text        NOT NULL CHECK (outcome IN ('done', 'dead_letter')),
    detail          text,                  -- why a row was dead-lettered
    processed_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (asset, device_id, day, source_event_id)
);

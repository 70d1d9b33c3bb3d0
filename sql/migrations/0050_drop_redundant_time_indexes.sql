-- create_hypertable() gives each table an index on ("time" DESC) unless told not
-- to. Every Loom hypertable's primary key already starts with "time", and a B-tree
-- serves ORDER BY time DESC by reading backwards, so the extra index was only
-- maintained, never needed: it doubled the index work of every insert (a 100k-row
-- COPY into gps_data: PostgreSQL's CPU 1.03 s with it, 0.70 s without;
-- docs/benchmarks.md). Hypertables added later pass create_default_indexes => FALSE
-- (tests/integration/test_migrations.py checks that none has such an index).
DROP INDEX IF EXISTS gps_data_time_idx;
DROP INDEX IF EXISTS accelerometer_data_time_idx;
DROP INDEX IF EXISTS heartrate_data_time_idx;
DROP INDEX IF EXISTS steps_data_time_idx;
DROP INDEX IF EXISTS power_data_time_idx;
DROP INDEX IF EXISTS audio_chunks_time_idx;
DROP INDEX IF EXISTS camera_frames_time_idx;
DROP INDEX IF EXISTS screenshots_time_idx;
DROP INDEX IF EXISTS gps_tracks_time_idx;
DROP INDEX IF EXISTS transcripts_time_idx;
DROP INDEX IF EXISTS captions_time_idx;

-- Views for analysts, read through Trino's `timescale` catalog.
--
-- Trino runs an aggregation inside PostgreSQL only when it groups by plain
-- columns (not by an expression, not by a text column). gps_data_by_day gives
-- every fix its UTC day as a column, so `GROUP BY day` (with `device_id = ...`
-- as a filter) is pushed down whole, where grouping gps_data by
-- CAST(time AT TIME ZONE 'UTC' AS date) ships every row to Trino first
-- (docs/benchmarks.md measures both). Filter on `time` too, not only on `day`:
-- TimescaleDB skips chunks by `time`.
CREATE OR REPLACE VIEW gps_data_by_day AS
SELECT (time AT TIME ZONE 'UTC')::date AS day, gps_data.*
FROM gps_data;

COMMENT ON VIEW gps_data_by_day IS
    'gps_data with its UTC day as a column, for aggregations Trino pushes down';

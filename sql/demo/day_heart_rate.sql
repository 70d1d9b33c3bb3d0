-- Heart rate over one UTC day: how many readings, lowest, mean and highest.
--
-- Source: timescale.public.heartrate_data (raw readings, as landed). Filtered on
-- `time` with constants, so PostgreSQL skips the other days' chunks and computes
-- the aggregates itself.
-- `loom demo` prints it in its summary of the sample day.
--
-- Parameters: `loom sql sql/demo/day_heart_rate.sql --param name=value`.
-- @param device_id varchar   the device
-- @param day       date      the UTC day
--
-- Columns: readings, lowest_bpm, mean_bpm (whole), highest_bpm.
SELECT
    count(*) AS readings,
    min(bpm) AS lowest_bpm,
    round(avg(bpm)) AS mean_bpm,
    max(bpm) AS highest_bpm
FROM timescale.public.heartrate_data
WHERE device_id = :device_id
  AND time >= with_timezone(CAST(:day AS timestamp(6)), 'UTC')
  AND time < with_timezone(CAST(:day AS timestamp(6)), 'UTC') + INTERVAL '1' DAY

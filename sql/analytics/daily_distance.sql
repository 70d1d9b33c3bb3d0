-- Daily distance travelled and time spent moving, per device and UTC day.
--
-- Source: timescale.public.gps_tracks (the stays and moves of the gps_tracks
-- asset). A day's distance is the sum of distance_m over its moves and its time
-- moving the sum of their duration_s; stays add nothing. A day with stays only is
-- listed with zero distance; a day without any segment is absent.
--
-- Parameters: `loom sql daily_distance --param name=value`, used below as :name.
-- @param device_id varchar = null                               the device; every device when null
-- @param start_day date = (current_date - INTERVAL '6' DAY)     first UTC day, inclusive
-- @param end_day   date = (current_date)                        last UTC day, inclusive
--
-- Columns: device_id, day, distance_km (3 decimals), moving_minutes (1 decimal),
-- moves, stays, mean_moving_kmh (distance over time moving; NULL without moves).
SELECT
    device_id,
    day,
    round(coalesce(sum(distance_m) FILTER (WHERE kind = 'move'), 0) / 1000, 3) AS distance_km,
    round(coalesce(sum(duration_s) FILTER (WHERE kind = 'move'), 0) / 60, 1) AS moving_minutes,
    count(*) FILTER (WHERE kind = 'move') AS moves,
    count(*) FILTER (WHERE kind = 'stay') AS stays,
    round(
        sum(distance_m) FILTER (WHERE kind = 'move')
        / nullif(sum(duration_s) FILTER (WHERE kind = 'move'), 0) * 3.6,
        1
    ) AS mean_moving_kmh
FROM timescale.public.gps_tracks
WHERE (:device_id IS NULL OR device_id = :device_id)
  AND day BETWEEN :start_day AND :end_day
GROUP BY device_id, day
ORDER BY device_id, day

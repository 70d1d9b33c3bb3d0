-- Time spent at each place per week, per device.
--
-- Source: timescale.public.gps_tracks, stays only. Weeks start on Monday (UTC); a
-- place is the nearest named place of the offline reverse geocoder (place_name,
-- place_admin, place_country), or "unknown place" when it found none. A stay that
-- crosses midnight is two segments (one per day partition), so it counts as two
-- visits. share_of_week is the place's part of all the device's stay time that
-- week; the places of a device-week add up to 1.
--
-- Parameters: `loom sql place_time_weekly --param name=value`, used below as :name.
-- @param device_id varchar = null                               the device; every device when null
-- @param start_day date = (current_date - INTERVAL '27' DAY)    first UTC day, inclusive
-- @param end_day   date = (current_date)                        last UTC day, inclusive
--
-- Columns: device_id, week (its Monday), place, place_admin, place_country,
-- visits, hours (2 decimals), share_of_week (3 decimals).
WITH places AS (
    SELECT
        device_id,
        date_trunc('week', day) AS week,
        coalesce(place_name, 'unknown place') AS place,
        place_admin,
        place_country,
        count(*) AS visits,
        sum(duration_s) AS seconds
    FROM timescale.public.gps_tracks
    WHERE kind = 'stay'
      AND (:device_id IS NULL OR device_id = :device_id)
      AND day BETWEEN :start_day AND :end_day
    GROUP BY 1, 2, 3, 4, 5
)
SELECT
    device_id,
    week,
    place,
    place_admin,
    place_country,
    visits,
    round(seconds / 3600, 2) AS hours,
    round(seconds / nullif(sum(seconds) OVER (PARTITION BY device_id, week), 0), 3)
        AS share_of_week
FROM places
ORDER BY device_id, week, seconds DESC, place, place_admin, place_country

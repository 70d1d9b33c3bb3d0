-- The places a device stayed at during one UTC day, in order, with the time spent.
--
-- Source: timescale.public.gps_tracks, stays only (the gps_tracks asset). A place
-- is the nearest named place of the offline reverse geocoder, or "unknown place".
-- `loom demo` prints it in its summary of the sample day.
--
-- Parameters: `loom sql sql/demo/day_places.sql --param name=value`.
-- @param device_id varchar   the device
-- @param day       date      the UTC day
--
-- Columns: arrived, departed, minutes (whole), place, place_admin, place_country.
SELECT
    time AS arrived,
    end_time AS departed,
    round(duration_s / 60) AS minutes,
    coalesce(place_name, 'unknown place') AS place,
    place_admin,
    place_country
FROM timescale.public.gps_tracks
WHERE kind = 'stay'
  AND device_id = :device_id
  AND day = :day
ORDER BY time

-- Ingest freshness per raw topic: what Kafka holds, what has landed, how late.
--
-- Sources: the raw topics through the `kafka` catalog (message timestamps and keys)
-- and their TimescaleDB tables (recorded/received/landed times). For each topic:
-- the messages produced in the window (a message's Kafka timestamp is when the
-- ingress produced it; its key is the device) and the newest of them; the rows
-- landed in the window and their landing delay (landed_at - received_at) at the
-- median and the 95th percentile (nearest rank, exact); the newest recorded,
-- received and landed times of all rows landed by as_of; seconds_since_landed (as_of
-- minus the newest landed_at) and landing_lag_s (the newest message minus the
-- newest received_at landed: above zero, Kafka holds events not landed yet).
-- The window is (as_of - window_minutes, as_of]. Filtering on landed_at scans
-- each table (it has no index); the Kafka side seeks to the window's start.
--
-- Parameters: `loom sql ingest_freshness --param name=value`, used below as :name.
-- @param device_id      varchar = null                 the device; every device when null
-- @param as_of          timestamp = (current_timestamp) end of the window (ISO 8601, UTC if no zone)
-- @param window_minutes bigint = 60                    length of the window
--
-- Columns: topic, table_name, messages, newest_message_at, rows_landed,
-- landing_p50_s, landing_p95_s (3 decimals), newest_recorded_at,
-- newest_received_at, newest_landed_at, seconds_since_landed, landing_lag_s.
WITH
topics (topic, table_name) AS (
    VALUES
        ('device.sensor.gps.raw', 'gps_data'),
        ('device.sensor.accelerometer.raw', 'accelerometer_data'),
        ('device.health.heartrate.raw', 'heartrate_data'),
        ('device.health.steps.raw', 'steps_data'),
        ('device.state.power.raw', 'power_data'),
        ('device.audio.microphone.raw', 'audio_chunks'),
        ('device.image.camera.raw', 'camera_frames'),
        ('device.image.screenshot.raw', 'screenshots')
),
newest (table_name, recorded_at, received_at, landed_at) AS (
    SELECT 'gps_data', max(time), max(received_at), max(landed_at)
    FROM timescale.public.gps_data
    WHERE (:device_id IS NULL OR device_id = :device_id) AND landed_at <= :as_of
    UNION ALL
    SELECT 'accelerometer_data', max(time), max(received_at), max(landed_at)
    FROM timescale.public.accelerometer_data
    WHERE (:device_id IS NULL OR device_id = :device_id) AND landed_at <= :as_of
    UNION ALL
    SELECT 'heartrate_data', max(time), max(received_at), max(landed_at)
    FROM timescale.public.heartrate_data
    WHERE (:device_id IS NULL OR device_id = :device_id) AND landed_at <= :as_of
    UNION ALL
    SELECT 'steps_data', max(time), max(received_at), max(landed_at)
    FROM timescale.public.steps_data
    WHERE (:device_id IS NULL OR device_id = :device_id) AND landed_at <= :as_of
    UNION ALL
    SELECT 'power_data', max(time), max(received_at), max(landed_at)
    FROM timescale.public.power_data
    WHERE (:device_id IS NULL OR device_id = :device_id) AND landed_at <= :as_of
    UNION ALL
    SELECT 'audio_chunks', max(time), max(received_at), max(landed_at)
    FROM timescale.public.audio_chunks
    WHERE (:device_id IS NULL OR device_id = :device_id) AND landed_at <= :as_of
    UNION ALL
    SELECT 'camera_frames', max(time), max(received_at), max(landed_at)
    FROM timescale.public.camera_frames
    WHERE (:device_id IS NULL OR device_id = :device_id) AND landed_at <= :as_of
    UNION ALL
    SELECT 'screenshots', max(time), max(received_at), max(landed_at)
    FROM timescale.public.screenshots
    WHERE (:device_id IS NULL OR device_id = :device_id) AND landed_at <= :as_of
),
recent (table_name, delay_s) AS (
    SELECT 'gps_data', to_unixtime(landed_at) - to_unixtime(received_at)
    FROM timescale.public.gps_data
    WHERE (:device_id IS NULL OR device_id = :device_id)
      AND landed_at > :as_of - :window_minutes * INTERVAL '1' MINUTE AND landed_at <= :as_of
    UNION ALL
    SELECT 'accelerometer_data', to_unixtime(landed_at) - to_unixtime(received_at)
    FROM timescale.public.accelerometer_data
    WHERE (:device_id IS NULL OR device_id = :device_id)
      AND landed_at > :as_of - :window_minutes * INTERVAL '1' MINUTE AND landed_at <= :as_of
    UNION ALL
    SELECT 'heartrate_data', to_unixtime(landed_at) - to_unixtime(received_at)
    FROM timescale.public.heartrate_data
    WHERE (:device_id IS NULL OR device_id = :device_id)
      AND landed_at > :as_of - :window_minutes * INTERVAL '1' MINUTE AND landed_at <= :as_of
    UNION ALL
    SELECT 'steps_data', to_unixtime(landed_at) - to_unixtime(received_at)
    FROM timescale.public.steps_data
    WHERE (:device_id IS NULL OR device_id = :device_id)
      AND landed_at > :as_of - :window_minutes * INTERVAL '1' MINUTE AND landed_at <= :as_of
    UNION ALL
    SELECT 'power_data', to_unixtime(landed_at) - to_unixtime(received_at)
    FROM timescale.public.power_data
    WHERE (:device_id IS NULL OR device_id = :device_id)
      AND landed_at > :as_of - :window_minutes * INTERVAL '1' MINUTE AND landed_at <= :as_of
    UNION ALL
    SELECT 'audio_chunks', to_unixtime(landed_at) - to_unixtime(received_at)
    FROM timescale.public.audio_chunks
    WHERE (:device_id IS NULL OR device_id = :device_id)
      AND landed_at > :as_of - :window_minutes * INTERVAL '1' MINUTE AND landed_at <= :as_of
    UNION ALL
    SELECT 'camera_frames', to_unixtime(landed_at) - to_unixtime(received_at)
    FROM timescale.public.camera_frames
    WHERE (:device_id IS NULL OR device_id = :device_id)
      AND landed_at > :as_of - :window_minutes * INTERVAL '1' MINUTE AND landed_at <= :as_of
    UNION ALL
    SELECT 'screenshots', to_unixtime(landed_at) - to_unixtime(received_at)
    FROM timescale.public.screenshots
    WHERE (:device_id IS NULL OR device_id = :device_id)
      AND landed_at > :as_of - :window_minutes * INTERVAL '1' MINUTE AND landed_at <= :as_of
),
-- Kafka timestamps are UTC without a zone; a constant lower bound lets Trino seek.
messages (table_name, produced_at) AS (
    SELECT 'gps_data', _timestamp FROM kafka.raw.gps_data
    WHERE (:device_id IS NULL OR _key = :device_id)
      AND _timestamp > CAST((:as_of - :window_minutes * INTERVAL '1' MINUTE) AT TIME ZONE 'UTC' AS timestamp(3))
      AND _timestamp <= CAST(:as_of AT TIME ZONE 'UTC' AS timestamp(3))
    UNION ALL
    SELECT 'accelerometer_data', _timestamp FROM kafka.raw.accelerometer_data
    WHERE (:device_id IS NULL OR _key = :device_id)
      AND _timestamp > CAST((:as_of - :window_minutes * INTERVAL '1' MINUTE) AT TIME ZONE 'UTC' AS timestamp(3))
      AND _timestamp <= CAST(:as_of AT TIME ZONE 'UTC' AS timestamp(3))
    UNION ALL
    SELECT 'heartrate_data', _timestamp FROM kafka.raw.heartrate_data
    WHERE (:device_id IS NULL OR _key = :device_id)
      AND _timestamp > CAST((:as_of - :window_minutes * INTERVAL '1' MINUTE) AT TIME ZONE 'UTC' AS timestamp(3))
      AND _timestamp <= CAST(:as_of AT TIME ZONE 'UTC' AS timestamp(3))
    UNION ALL
    SELECT 'steps_data', _timestamp FROM kafka.raw.steps_data
    WHERE (:device_id IS NULL OR _key = :device_id)
      AND _timestamp > CAST((:as_of - :window_minutes * INTERVAL '1' MINUTE) AT TIME ZONE 'UTC' AS timestamp(3))
      AND _timestamp <= CAST(:as_of AT TIME ZONE 'UTC' AS timestamp(3))
    UNION ALL
    SELECT 'power_data', _timestamp FROM kafka.raw.power_data
    WHERE (:device_id IS NULL OR _key = :device_id)
      AND _timestamp > CAST((:as_of - :window_minutes * INTERVAL '1' MINUTE) AT TIME ZONE 'UTC' AS timestamp(3))
      AND _timestamp <= CAST(:as_of AT TIME ZONE 'UTC' AS timestamp(3))
    UNION ALL
    SELECT 'audio_chunks', _timestamp FROM kafka.raw.audio_chunks
    WHERE (:device_id IS NULL OR _key = :device_id)
      AND _timestamp > CAST((:as_of - :window_minutes * INTERVAL '1' MINUTE) AT TIME ZONE 'UTC' AS timestamp(3))
      AND _timestamp <= CAST(:as_of AT TIME ZONE 'UTC' AS timestamp(3))
    UNION ALL
    SELECT 'camera_frames', _timestamp FROM kafka.raw.camera_frames
    WHERE (:device_id IS NULL OR _key = :device_id)
      AND _timestamp > CAST((:as_of - :window_minutes * INTERVAL '1' MINUTE) AT TIME ZONE 'UTC' AS timestamp(3))
      AND _timestamp <= CAST(:as_of AT TIME ZONE 'UTC' AS timestamp(3))
    UNION ALL
    SELECT 'screenshots', _timestamp FROM kafka.raw.screenshots
    WHERE (:device_id IS NULL OR _key = :device_id)
      AND _timestamp > CAST((:as_of - :window_minutes * INTERVAL '1' MINUTE) AT TIME ZONE 'UTC' AS timestamp(3))
      AND _timestamp <= CAST(:as_of AT TIME ZONE 'UTC' AS timestamp(3))
),
delays AS (
    SELECT table_name, count(*) AS n, array_sort(array_agg(delay_s)) AS sorted
    FROM recent
    GROUP BY table_name
),
produced AS (
    SELECT table_name, count(*) AS messages, with_timezone(max(produced_at), 'UTC') AS newest
    FROM messages
    GROUP BY table_name
)
SELECT
    t.topic,
    t.table_name,
    coalesce(p.messages, 0) AS messages,
    p.newest AS newest_message_at,
    coalesce(d.n, 0) AS rows_landed,
    round(element_at(d.sorted, CAST(ceil(0.50 * d.n) AS bigint)), 3) AS landing_p50_s,
    round(element_at(d.sorted, CAST(ceil(0.95 * d.n) AS bigint)), 3) AS landing_p95_s,
    n.recorded_at AS newest_recorded_at,
    n.received_at AS newest_received_at,
    n.landed_at AS newest_landed_at,
    round(to_unixtime(:as_of) - to_unixtime(n.landed_at), 3) AS seconds_since_landed,
    round(to_unixtime(p.newest) - to_unixtime(n.received_at), 3) AS landing_lag_s
FROM topics AS t
LEFT JOIN newest AS n ON n.table_name = t.table_name
LEFT JOIN delays AS d ON d.table_name = t.table_name
LEFT JOIN produced AS p ON p.table_name = t.table_name
ORDER BY t.topic

-- Data completeness: gaps in GPS and audio per device and UTC day.
--
-- Sources: timescale.public.gps_data (a fix covers its instant) and
-- timescale.public.audio_chunks (a chunk covers [time, time + duration_s)).
-- A gap is a stretch without data longer than the source's threshold: between
-- two samples, from the start of the range to the first sample, or from the last
-- sample to the end of the range (now, for today). Gaps are split at midnight, so
-- a night without GPS shows up on both days; a day without any sample is one
-- gap of 24 hours. coverage is the part of the day outside gaps. Devices listed:
-- those with GPS or audio in the range, or :device_id even when it has none.
--
-- Parameters: `loom sql data_completeness --param name=value`, used below as :name.
-- @param device_id       varchar = null                           the device; every device with data when null
-- @param start_day       date = (current_date - INTERVAL '6' DAY) first UTC day, inclusive
-- @param end_day         date = (current_date)                    last UTC day, inclusive
-- @param gps_max_gap_s   double = 600                             longest pause between fixes that is not a gap
-- @param audio_max_gap_s double = 60                              longest silence between chunks that is not a gap
--
-- Columns: device_id, day, source ('gps' or 'audio'), samples, first_sample,
-- last_sample, gaps, gap_minutes (1 decimal), longest_gap_minutes (1 decimal),
-- coverage (0-1, 3 decimals).
WITH
bounds AS (
    SELECT
        to_unixtime(with_timezone(CAST(:start_day AS timestamp(6)), 'UTC')) AS range_start,
        least(
            to_unixtime(with_timezone(CAST(:end_day AS timestamp(6)), 'UTC')) + 86400,
            to_unixtime(current_timestamp)
        ) AS range_end
),
thresholds (source, max_gap_s) AS (
    VALUES ('gps', :gps_max_gap_s), ('audio', :audio_max_gap_s)
),
samples AS (
    SELECT 'gps' AS source, device_id, to_unixtime(time) AS s, to_unixtime(time) AS e
    FROM timescale.public.gps_data
    WHERE (:device_id IS NULL OR device_id = :device_id)
      AND time >= with_timezone(CAST(:start_day AS timestamp(6)), 'UTC')
      AND time < with_timezone(CAST(:end_day AS timestamp(6)), 'UTC') + INTERVAL '1' DAY
    UNION ALL
    SELECT 'audio', device_id, to_unixtime(time), to_unixtime(time) + duration_s
    FROM timescale.public.audio_chunks
    WHERE (:device_id IS NULL OR device_id = :device_id)
      AND time >= with_timezone(CAST(:start_day AS timestamp(6)), 'UTC')
      AND time < with_timezone(CAST(:end_day AS timestamp(6)), 'UTC') + INTERVAL '1' DAY
),
streams AS (  -- every (device, source) reported on
    SELECT device_id, source
    FROM (
        SELECT device_id FROM samples
        UNION
        SELECT :device_id WHERE :device_id IS NOT NULL
    )
    CROSS JOIN thresholds
),
ordered AS (  -- each sample with the end of everything before it
    SELECT
        source,
        device_id,
        s,
        e,
        max(e) OVER (
            PARTITION BY source, device_id ORDER BY s, e
            ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
        ) AS covered_until
    FROM samples
),
candidate_gaps AS (
    SELECT source, device_id, coalesce(covered_until, range_start) AS gap_start, s AS gap_end
    FROM ordered CROSS JOIN bounds
    UNION ALL
    SELECT st.source, st.device_id, coalesce(max(smp.e), range_start), range_end
    FROM streams AS st
    LEFT JOIN samples AS smp ON smp.source = st.source AND smp.device_id = st.device_id
    CROSS JOIN bounds
    GROUP BY st.source, st.device_id, range_start, range_end
),
gaps AS (
    SELECT g.source, g.device_id, g.gap_start, least(g.gap_end, range_end) AS gap_end
    FROM candidate_gaps AS g
    JOIN thresholds AS t ON t.source = g.source
    CROSS JOIN bounds
    WHERE least(g.gap_end, range_end) - g.gap_start > t.max_gap_s
),
gap_days AS (  -- each gap cut at midnight
    SELECT
        source,
        device_id,
        day,
        least(gap_end, day_start + 86400) - greatest(gap_start, day_start) AS seconds
    FROM gaps
    CROSS JOIN UNNEST(
        sequence(CAST(floor(gap_start / 86400) AS bigint), CAST(ceil(gap_end / 86400) AS bigint) - 1)
    ) AS d (day_number)
    CROSS JOIN LATERAL (
        SELECT
            date_add('day', day_number, DATE '1970-01-01') AS day,
            day_number * 86400 AS day_start
    )
),
calendar AS (  -- every (device, source, day) of the range, with the day's length
    SELECT
        st.device_id,
        st.source,
        day,
        least(to_unixtime(with_timezone(CAST(day AS timestamp(6)), 'UTC')) + 86400, range_end)
            - to_unixtime(with_timezone(CAST(day AS timestamp(6)), 'UTC')) AS day_seconds
    FROM streams AS st
    CROSS JOIN UNNEST(sequence(:start_day, :end_day)) AS c (day)
    CROSS JOIN bounds
),
per_day_samples AS (
    SELECT
        device_id,
        source,
        CAST(from_unixtime(s, 'UTC') AS date) AS day,
        count(*) AS samples,
        min(s) AS first_s,
        max(s) AS last_s
    FROM samples
    GROUP BY 1, 2, 3
),
per_day_gaps AS (
    SELECT device_id, source, day, count(*) AS gaps, sum(seconds) AS seconds, max(seconds) AS longest
    FROM gap_days
    WHERE seconds > 0
    GROUP BY 1, 2, 3
)
SELECT
    c.device_id,
    c.day,
    c.source,
    coalesce(s.samples, 0) AS samples,
    from_unixtime(s.first_s, 'UTC') AS first_sample,
    from_unixtime(s.last_s, 'UTC') AS last_sample,
    coalesce(g.gaps, 0) AS gaps,
    round(coalesce(g.seconds, 0) / 60, 1) AS gap_minutes,
    round(coalesce(g.longest, 0) / 60, 1) AS longest_gap_minutes,
    round(1 - coalesce(g.seconds, 0) / c.day_seconds, 3) AS coverage
FROM calendar AS c
LEFT JOIN per_day_samples AS s
    ON s.device_id = c.device_id AND s.source = c.source AND s.day = c.day
LEFT JOIN per_day_gaps AS g
    ON g.device_id = c.device_id AND g.source = c.source AND g.day = c.day
WHERE c.day_seconds > 0
ORDER BY c.device_id, c.day, c.source DESC

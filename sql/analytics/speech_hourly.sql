-- Speech minutes and words spoken per hour, per device (UTC hours).
--
-- Source: timescale.public.transcripts (one row per utterance). An utterance's
-- time is split over the hours it overlaps, so an utterance from 10:59:30 to
-- 11:00:30 adds 0.5 minutes to each hour. A word counts in the hour its own start
-- time falls in (the `words` timestamps, UTC epoch seconds); an utterance counts
-- in the hour it starts in. Only the part inside [start_day, end_day] counts.
--
-- Parameters: `loom sql speech_hourly --param name=value`, used below as :name.
-- @param device_id varchar = null                               the device; every device when null
-- @param start_day date = (current_date - INTERVAL '6' DAY)     first UTC day, inclusive
-- @param end_day   date = (current_date)                        last UTC day, inclusive
--
-- Columns: device_id, hour (its start), speech_minutes (2 decimals), utterances
-- (starting in the hour), words, words_per_minute (1 decimal; NULL without speech).
WITH
bounds AS (
    SELECT
        to_unixtime(with_timezone(CAST(:start_day AS timestamp(6)), 'UTC')) AS range_start,
        to_unixtime(with_timezone(CAST(:end_day AS timestamp(6)), 'UTC')) + 86400 AS range_end
),
utterances AS (
    SELECT
        device_id,
        greatest(to_unixtime(time), range_start) AS s,
        least(to_unixtime(end_time), range_end) AS e,
        to_unixtime(time) AS started,
        words
    FROM timescale.public.transcripts, bounds
    WHERE (:device_id IS NULL OR device_id = :device_id)
      -- constants only on the time columns, so PostgreSQL skips chunks
      AND time < with_timezone(CAST(:end_day AS timestamp(6)), 'UTC') + INTERVAL '1' DAY
      AND end_time > with_timezone(CAST(:start_day AS timestamp(6)), 'UTC')
),
speech AS (
    SELECT
        device_id,
        hour,
        sum(least(e, (hour + 1) * 3600) - greatest(s, hour * 3600)) AS seconds,
        count(*) FILTER (WHERE floor(started / 3600) = hour AND started >= s) AS utterances
    FROM utterances
    CROSS JOIN UNNEST(
        sequence(CAST(floor(s / 3600) AS bigint), CAST(ceil(e / 3600) AS bigint) - 1)
    ) AS h (hour)
    WHERE e > s
    GROUP BY device_id, hour
),
spoken AS (
    SELECT device_id, CAST(floor(w.start / 3600) AS bigint) AS hour, count(*) AS words
    FROM utterances
    CROSS JOIN UNNEST(CAST(words AS array(row(start double)))) AS w (start)
    CROSS JOIN bounds
    WHERE w.start >= range_start AND w.start < range_end
    GROUP BY 1, 2
)
SELECT
    speech.device_id,
    from_unixtime(speech.hour * 3600, 'UTC') AS hour,
    round(speech.seconds / 60, 2) AS speech_minutes,
    speech.utterances,
    coalesce(spoken.words, 0) AS words,
    round(coalesce(spoken.words, 0) / nullif(speech.seconds / 60, 0), 1) AS words_per_minute
FROM speech
LEFT JOIN spoken ON spoken.device_id = speech.device_id AND spoken.hour = speech.hour
ORDER BY speech.device_id, speech.hour

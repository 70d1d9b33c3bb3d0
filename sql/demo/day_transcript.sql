-- What was said during one UTC day: the first utterances of a device, in order.
--
-- Source: timescale.public.transcripts (the transcripts asset, one row per
-- utterance found by voice activity detection).
-- `loom demo` prints it in its summary of the sample day.
--
-- Parameters: `loom sql sql/demo/day_transcript.sql --param name=value`.
-- @param device_id varchar        the device
-- @param day       date           the UTC day
-- @param lines     bigint = 10    utterances shown
--
-- Columns: time (the utterance's start), seconds (1 decimal), words, text.
SELECT time, seconds, words, text
FROM (
    SELECT
        time,
        round(to_unixtime(end_time) - to_unixtime(time), 1) AS seconds,
        word_count AS words,
        text,
        row_number() OVER (ORDER BY time) AS n  -- LIMIT takes no bound parameter
    FROM timescale.public.transcripts
    WHERE device_id = :device_id
      AND day = :day
)
WHERE n <= :lines
ORDER BY time

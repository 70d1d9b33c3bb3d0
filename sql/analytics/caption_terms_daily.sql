-- Most frequent caption tags and OCR terms per day, per device (UTC days).
--
-- Source: timescale.public.captions (one row per camera frame or screenshot).
-- Tags are counted as the captioner gave them (lower-cased). OCR terms are the
-- words of ocr_text: lower-cased runs of letters and digits that start with a
-- letter, at least :min_term_length characters long, without a short list of
-- English stop words. `occurrences` counts every use, `frames` the frames that
-- show the term; the top :top_n of each kind per device-day are kept, ranked by
-- occurrences, then frames, then the term itself.
--
-- Parameters: `loom sql caption_terms_daily --param name=value`, used below as :name.
-- @param device_id       varchar = null                           the device; every device when null
-- @param start_day       date = (current_date - INTERVAL '6' DAY) first UTC day, inclusive
-- @param end_day         date = (current_date)                    last UTC day, inclusive
-- @param top_n           bigint = 10                              terms kept per device, day and kind
-- @param min_term_length bigint = 3                               shortest OCR term counted
--
-- Columns: device_id, day, kind ('tag' or 'ocr'), rank, term, occurrences, frames.
WITH
frames AS (
    SELECT device_id, day, source_event_id, tags, ocr_text
    FROM timescale.public.captions
    WHERE (:device_id IS NULL OR device_id = :device_id)
      AND day BETWEEN :start_day AND :end_day
),
terms AS (
    SELECT device_id, day, 'tag' AS kind, lower(trim(tag)) AS term, source_event_id
    FROM frames
    CROSS JOIN UNNEST(tags) AS t (tag)
    WHERE trim(tag) <> ''
    UNION ALL
    SELECT device_id, day, 'ocr' AS kind, word AS term, source_event_id
    FROM frames
    CROSS JOIN UNNEST(regexp_extract_all(lower(ocr_text), '\p{L}[\p{L}\p{N}]*')) AS w (word)
    WHERE length(word) >= :min_term_length
      AND word NOT IN (
          'the', 'and', 'for', 'are', 'but', 'not', 'you', 'your', 'all', 'any', 'can',
          'was', 'were', 'has', 'have', 'had', 'our', 'out', 'this', 'that', 'these',
          'those', 'with', 'from', 'into', 'over', 'then', 'than', 'they', 'them',
          'their', 'there', 'here', 'what', 'when', 'where', 'who', 'will', 'would',
          'should', 'could', 'its', 'his', 'her', 'she', 'him', 'how', 'why', 'also',
          'been', 'being', 'about', 'only', 'very', 'just', 'more', 'most', 'some'
      )
),
counted AS (
    SELECT
        device_id,
        day,
        kind,
        term,
        count(*) AS occurrences,
        count(DISTINCT source_event_id) AS frames
    FROM terms
    GROUP BY device_id, day, kind, term
),
ranked AS (
    SELECT
        *,
        row_number() OVER (
            PARTITION BY device_id, day, kind ORDER BY occurrences DESC, frames DESC, term
        ) AS rank
    FROM counted
)
SELECT device_id, day, kind, rank, term, occurrences, frames
FROM ranked
WHERE rank <= :top_n
ORDER BY device_id, day, kind DESC, rank

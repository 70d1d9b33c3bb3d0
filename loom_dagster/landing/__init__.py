"""Landing: Kafka offset ranges of the raw topics into the raw hypertables.

The pieces, each a small module the Dagster assets and sensors import:

- :mod:`~loom_dagster.landing.settings` - ``LOOM_LANDING_*`` knobs and per-family limits
- :mod:`~loom_dagster.landing.ranges` - offset ranges: planning, run keys, coverage
- :mod:`~loom_dagster.landing.decode` - Kafka value -> event, or the reason it is poison
- :mod:`~loom_dagster.landing.rows` - event -> table row, per family
- :mod:`~loom_dagster.landing.reader` - read exactly an offset range from Kafka
- :mod:`~loom_dagster.landing.store` - staging COPY, idempotent upsert, landing progress
- :mod:`~loom_dagster.landing.dead_letters` - poison to the dead-letter topic
- :mod:`~loom_dagster.landing.land` - one landing run, end to end
- :mod:`~loom_dagster.landing.metrics` / :mod:`~loom_dagster.landing.tracing`

The database, not a consumer group, is the record of progress: a range is landed
when its rows and its ``landing_ranges`` row commit in one transaction.
"""

"""Landing in Dagster: raw topics into raw hypertables (engine: loom_dagster.landing)."""

"""The Dagster code location: landing, enrichment and their checks."""

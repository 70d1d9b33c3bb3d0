"""Enrichment in Dagster: raw hypertables into gps_tracks, transcripts, captions."""

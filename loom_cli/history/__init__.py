"""`loom import` and `loom export`; the format readers live in :mod:`ingest_api.history`."""

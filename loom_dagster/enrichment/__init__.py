"""Enrichment: the pure domain logic and model backends behind the enrichment assets.

Nothing here imports Dagster: stay-point detection, geocoding, voice activity
detection, speech-to-text, OCR and tagging are plain functions and classes over data,
so they are unit-tested directly and reused by the CLI and the benchmarks.
"""

"""Retention in Dagster: a daily job that drops the raw tables' expired chunks."""

"""Schedules: housekeeping that runs on the clock."""

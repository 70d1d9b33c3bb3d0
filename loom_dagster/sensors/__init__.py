"""Sensors that turn Kafka offsets and landed data into runs."""

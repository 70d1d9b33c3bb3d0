"""Loom's shared core: the topic catalog, the event contracts and the settings.

Everything else in Loom imports from here; this package imports nothing of Loom.
"""

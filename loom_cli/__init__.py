"""The ``loom`` command line: the local stack and every operator task."""

"""The local stack: real servers as local processes, no Docker engine needed."""

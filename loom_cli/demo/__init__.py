"""`loom demo`: the whole platform end to end on a sample day."""

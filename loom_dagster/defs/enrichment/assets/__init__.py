"""The enrichment assets, one module per table they own, each with its checks."""

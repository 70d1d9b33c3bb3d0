"""Software-defined assets, one module per table they own."""

"""Software-defined assets, one module per layer."""

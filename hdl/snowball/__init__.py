"""Snowball Monte Carlo kernel: Threefry, fixed-point normal, GBM lanes, exact accumulators (Amaranth)."""

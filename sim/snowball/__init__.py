"""cocotb benches of the snowball kernel (run through sim.runner.run_cocotb)."""

"""Reusable cocotb drivers and benches for foreland kernels."""

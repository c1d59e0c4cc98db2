"""Shared hardware conventions: the CSR host bus, register maps and their decode logic."""

"""Benchmarks for the figures of design.md §9; each script prints one JSON line."""

"""Benchmarks: measured side by side in one run, reported as ratios (``rma bench ...``)."""

"""Side-by-side performance scripts (run them one by one, or all with ``python -m benchmarks``)."""

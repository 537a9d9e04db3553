"""Performance benchmarks of keras_alexnet (run on demand, never part of pytest).

Run everything with `python -m benchmarks.run` (see docs/performance.md).
"""

"""Benchmarks run by hand (``make bench``); not part of the test suite.

``python -m benchmarks.bench_history`` measures the git-backed step history on a small
and a large workspace and checks that its costs follow what changed, not the tree size.
"""

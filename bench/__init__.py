"""Benchmarks with their targets (issue 7): cold start, size, issuance, provisioning, burst.

`python -m bench [NAME ...]` runs them; each figure is printed beside its target with a PASS or MISS
verdict. Benchmarks measure ratios within one run so that a slow machine does not change a verdict;
they never fail the build (DESIGN.md: bench/ is never part of the test run's pass/fail).
"""

"""Benchmarks, run by `make bench`; timing lives here, never in the test suite."""

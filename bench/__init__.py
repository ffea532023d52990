"""Benchmarks of Herald against the ceiling of its own stack (run by hand: ``make bench``)."""
